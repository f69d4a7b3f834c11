"""The ``metering-fsspec`` command group and its entry point: logging, and
errors turned into one line on stderr and an exit code.
"""

from __future__ import annotations

import logging
import sys
import traceback

import click

from ..errors import MeteringError
from .commands import COMMANDS
from .state import STATE, debug_option, error_message

__all__ = ["cli", "main"]


class _ScrubbingFormatter(logging.Formatter):
    """``warning: message`` lines; log records from storage SDKs pass the
    secret scrubber too."""

    def format(self, record: logging.LogRecord) -> str:
        text = f"{record.levelname.lower()}: {record.getMessage()}"
        if STATE.debug:
            text = f"{text} [{record.name}]"
        if record.exc_info and STATE.debug:
            text += "\n" + self.formatException(record.exc_info)
        return STATE.scrub(text)


def _setup_logging() -> None:
    """Warnings (and with --debug, this library's debug logs) on stderr."""
    handler = logging.StreamHandler()
    handler.setFormatter(_ScrubbingFormatter())
    logging.basicConfig(level=logging.WARNING, handlers=[handler], force=True)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="metering-fsspec")
@debug_option
def cli() -> None:
    """Write, read and explore usage-metering data on any fsspec storage.

    URI is a storage URI as the Go metering SDK takes it (s3://bucket/prefix?
    region-id=..., localfs:///path, azure://..., oss://...) or any fsspec URL.
    Credentials in it are never printed.
    """


for _command in COMMANDS:
    cli.add_command(_command)


def _fail(message: str, code: int) -> None:
    click.echo(STATE.scrub(message), err=True)
    sys.exit(code)


def main(argv: list[str] | None = None) -> None:
    """Run the command line; exit with 0, 1 (data problems) or 2 (usage)."""
    _setup_logging()
    try:
        code = cli.main(args=argv, prog_name="metering-fsspec", standalone_mode=False)
    except click.exceptions.Abort:
        _fail("aborted", 1)
    except click.UsageError as exc:
        hint = exc.ctx.get_usage() + "\n" if exc.ctx is not None else ""
        _fail(f"{hint}error: {exc.format_message()}", 2)
    except click.ClickException as exc:
        if STATE.debug:
            click.echo(STATE.scrub(traceback.format_exc()), err=True)
        _fail(f"error: {exc.format_message()}", exc.exit_code)
    except BrokenPipeError:
        # A consumer such as `head` closed the pipe: not an error.
        sys.stderr.close()
        sys.exit(0)
    except KeyboardInterrupt:
        _fail("interrupted", 130)
    except Exception as exc:  # one clear line instead of a traceback
        if STATE.debug:
            click.echo(STATE.scrub(traceback.format_exc()), err=True)
        message = error_message(exc)
        if not isinstance(exc, MeteringError | OSError | ValueError):
            message = f"{type(exc).__name__}: {message}"
        _fail(f"error: {message}", 1)
    else:
        sys.exit(code if isinstance(code, int) else 0)
