"""The settings of one command-line invocation and how it reports to the user:
debug mode, the secret scrubber, data errors and warnings.
"""

from __future__ import annotations

import contextlib
import logging
import warnings
from collections.abc import Iterator

import click

from ..config import LOGGER_NAME
from .format import SecretScrubber

__all__ = [
    "STATE",
    "data_error",
    "debug_option",
    "error_message",
    "reported_warnings",
]


class _State:
    """Process-wide settings of one invocation, read by the commands and
    :func:`~metering_fsspec.cli.main`."""

    def __init__(self) -> None:
        self.debug = False
        self.scrub = SecretScrubber()


STATE = _State()


def _set_debug(ctx: click.Context, param: click.Parameter, value: bool) -> bool:
    if value and not STATE.debug:
        STATE.debug = True
        logging.getLogger(LOGGER_NAME).setLevel(logging.DEBUG)
    return value


debug_option = click.option(
    "--debug",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_set_debug,
    help="Show tracebacks and debug logs.",
)


class _DataError(click.ClickException):
    """A problem with the stored or given data: exit code 1."""

    exit_code = 1


def data_error(message: str) -> _DataError:
    return _DataError(message)


def error_message(exc: BaseException) -> str:
    """The message of ``exc`` as raised (OSError's str adds errno decoration)."""
    if len(exc.args) == 1 and isinstance(exc.args[0], str):
        return STATE.scrub(exc.args[0])
    return STATE.scrub(str(exc) or type(exc).__name__)


@contextlib.contextmanager
def reported_warnings() -> Iterator[None]:
    """Print warnings as one ``warning:`` line each.

    Files skipped by the readers are already reported through logging, so
    their :class:`MeteringWarning` is not printed a second time.
    """
    from ..reader import MeteringWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    seen = set()
    for warning in caught:
        message = str(warning.message)
        if issubclass(warning.category, MeteringWarning) or message in seen:
            continue
        seen.add(message)
        click.echo(STATE.scrub(f"warning: {message}"), err=True)
