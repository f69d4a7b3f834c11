"""The subcommands of ``metering-fsspec``, one module per job."""

from __future__ import annotations

from .export import export_command
from .read import cat_command, ls_command, meta_command
from .validate import validate_command
from .write import demo, write_command

__all__ = ["COMMANDS"]

COMMANDS = (
    demo,
    ls_command,
    cat_command,
    meta_command,
    write_command,
    validate_command,
    export_command,
)
