"""The ``metering-fsspec`` command line.

Exit codes: 0 success, 1 data problems (invalid, missing or unreadable data,
a refused overwrite), 2 usage errors. Errors print as one line on stderr;
``--debug`` shows the traceback and debug logs.

:mod:`.app` holds the command group and the entry point, :mod:`.commands` the
subcommands, :mod:`.arguments` the storage and time arguments they share,
:mod:`.state` the settings of one invocation, :mod:`.format` the output
helpers and :mod:`.validate` the checks behind ``validate``.
"""

from __future__ import annotations

from .app import cli, main

__all__ = ["cli", "main"]
