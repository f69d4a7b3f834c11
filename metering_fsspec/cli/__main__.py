"""``python -m metering_fsspec.cli``: the ``metering-fsspec`` command."""

from __future__ import annotations

from .app import main

if __name__ == "__main__":
    main()
