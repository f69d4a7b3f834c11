"""Commands that store data: ``demo`` and ``write``."""

from __future__ import annotations

import sys
from typing import Any

import click
import msgspec

from ...config import Config
from ...errors import MeteringError
from ..arguments import resolve, storage_options
from ..format import progress
from ..state import STATE, data_error, error_message

__all__ = ["demo", "write_command"]


@click.command()
@click.argument("storage", default="localfs://./metering-data")
@click.option(
    "--timestamp", type=int, default=None, help="Minute to write (default: now)."
)
def demo(storage: str, timestamp: int | None) -> None:
    """Write a minute of realistic metering and meta data to STORAGE (default
    ./metering-data), read it back and print a summary."""
    from ...demo import run_demo

    STATE.scrub.add_uri(storage)
    click.echo(run_demo(storage, timestamp).render())


@click.command(name="write")
@storage_options
@click.argument("file", metavar="[FILE|-]", required=False)
@click.option("--meta", is_flag=True, help="The lines are meta documents.")
@click.option(
    "--page-size",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Split each document into files of at most N bytes of JSON (0: one file).",
)
@click.option("--pool", help="Shared pool id for documents without one.")
@click.option("--overwrite", is_flag=True, help="Replace existing files.")
def write_command(
    uri: str | None,
    config_file: str | None,
    file: str | None,
    meta: bool,
    page_size: int,
    pool: str | None,
    overwrite: bool,
) -> None:
    """Write metering (or --meta) documents from JSON Lines.

    Reads FILE, or stdin when FILE is - or missing. Every line is checked
    before anything is written; the written paths are printed.
    """
    from ...schema import DEFAULT_SHARED_POOL_ID, MetaData, MeteringData
    from ...writer import MetaWriter, MeteringWriter

    target, rest = resolve(uri, config_file, [file], ["FILE"], 0)
    source = rest[0] or "-"
    if source != "-":
        try:
            with open(source, "rb") as handle:
                lines = handle.read().splitlines()
        except OSError as exc:
            raise click.BadParameter(
                f"cannot read {source}: {exc.strerror or exc}", param_hint="'FILE'"
            ) from None
    else:
        lines = sys.stdin.buffer.read().splitlines()

    config = Config(overwrite_existing=overwrite, page_size_bytes=page_size)
    fs = target.filesystem()
    writer: MeteringWriter | MetaWriter
    if meta:
        writer = MetaWriter(fs, config)
    else:
        writer = MeteringWriter(
            fs,
            config,
            shared_pool_id=pool or target.shared_pool_id or DEFAULT_SHARED_POOL_ID,
        )
    decoder: msgspec.json.Decoder[Any] = msgspec.json.Decoder(
        MetaData if meta else MeteringData
    )
    documents: list[tuple[int, Any]] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            document = decoder.decode(line)
            writer.prepare(document)  # every check a write makes, writing nothing
        except (msgspec.DecodeError, ValueError) as exc:
            raise data_error(f"{source}:{number}: {error_message(exc)}") from None
        documents.append((number, document))

    written: list[str] = []
    with writer, progress(len(documents), "writing") as advance:
        for number, document in documents:
            try:
                if isinstance(writer, MetaWriter):
                    written.append(writer.write(document))
                else:
                    written.extend(writer.write(document))
            except MeteringError as exc:
                if written:
                    click.echo(
                        f"{len(written)} file(s) were written before line {number}:",
                        err=True,
                    )
                    for path in written:
                        click.echo(f"  {path}", err=True)
                raise data_error(f"{source}:{number}: {error_message(exc)}") from None
            advance(1)
    for path in written:
        click.echo(path)
    noun = "meta" if meta else "metering"
    click.echo(
        f"wrote {len(written)} {noun} file(s) from {len(documents)} document(s)"
        f" to {target.shown}",
        err=True,
    )
