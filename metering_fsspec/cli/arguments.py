"""Arguments every command shares: the storage (``URI`` or ``--config FILE``)
and time ranges.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from ..config import MeteringConfig
from .format import describe_storage
from .state import STATE, debug_option, error_message

__all__ = ["Target", "resolve", "storage_options", "time_range"]

F = TypeVar("F", bound=Callable[..., Any])


def storage_options(func: F) -> F:
    """The ``URI`` argument, ``--config FILE`` and ``--debug`` of every command."""
    func = click.option(
        "--config",
        "config_file",
        type=click.Path(exists=True, dir_okay=False),
        help="Storage config file (.yaml, .yml, .json, .toml) instead of URI.",
    )(func)
    func = debug_option(func)
    return click.argument("uri", metavar="URI", required=False)(func)


class Target:
    """The resolved storage of a command: what to open and what to print."""

    def __init__(self, storage: str | MeteringConfig) -> None:
        self.storage = storage
        self.shown = describe_storage(storage)
        self.shared_pool_id = (
            storage.shared_pool_id
            if isinstance(storage, MeteringConfig)
            else _uri_pool(storage)
        )
        from ..storage import open_storage

        # Opening connects to nothing yet; it only checks the URI or config.
        self.fs = open_storage(storage)

    def filesystem(self) -> Any:
        return self.fs


def _uri_pool(uri: str) -> str:
    try:
        return MeteringConfig.from_uri(uri).shared_pool_id
    except ValueError:
        return ""  # an fsspec URL: no Go-style parameters


def resolve(
    uri: str | None,
    config_file: str | None,
    rest: list[str | None],
    names: list[str],
    required: int,
) -> tuple[Target, list[str | None]]:
    """The storage and the remaining positional arguments.

    With ``--config`` there is no URI, so the positional values shift left:
    ``cat --config c.yaml PATH`` puts PATH where the URI would be.
    """
    if config_file is not None:
        values = [uri, *rest]
        if values and values[-1] is not None:
            raise click.UsageError("give either URI or --config FILE, not both")
        rest = values[:-1] if values else []
        try:
            config = MeteringConfig.load(config_file)
        except (ValueError, OSError) as exc:
            raise click.BadParameter(str(exc), param_hint="'--config'") from None
        STATE.scrub.add_config(config)
        storage: str | MeteringConfig = config
    else:
        if uri is None:
            raise click.UsageError("missing argument 'URI' (or give --config FILE)")
        STATE.scrub.add_uri(uri)
        storage = uri
    for index in range(required):
        if rest[index] is None:
            raise click.UsageError(f"missing argument '{names[index]}'")
    try:
        target = Target(storage)
    except (ValueError, ImportError, NotImplementedError) as exc:
        hint = "'--config'" if config_file is not None else "'URI'"
        raise click.BadParameter(error_message(exc), param_hint=hint) from None
    return target, rest


def time_range(
    at: int | None, start: int | None, end: int | None
) -> tuple[int | None, int | None]:
    """The ``[start, end)`` that ``--at`` or ``--from``/``--to`` give."""
    if at is not None:
        if start is not None or end is not None:
            raise click.UsageError("--at cannot be combined with --from/--to")
        return at, at + 1
    if start is not None and end is not None and end <= start:
        raise click.UsageError(f"--to ({end}) must be after --from ({start})")
    return start, end
