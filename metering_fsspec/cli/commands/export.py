"""The ``export`` command, a front end to :func:`metering_fsspec.export.export`."""

from __future__ import annotations

import click

from ..arguments import resolve, storage_options, time_range
from ..format import TIMESTAMP, describe_storage
from ..state import STATE, reported_warnings

__all__ = ["export_command"]


@click.command(name="export")
@storage_options
@click.option("--from", "start", type=TIMESTAMP, required=True, help="First minute.")
@click.option("--to", "end", type=TIMESTAMP, required=True, help="End (exclusive).")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["parquet", "csv", "jsonl"]),
    required=True,
    help="Output format.",
)
@click.option(
    "--out",
    required=True,
    metavar="TARGET",
    help="Output folder: a local path, storage URI or fsspec URL.",
)
@click.option(
    "--partition-by",
    default="day,category",
    show_default=True,
    help="Folders to split the output into: day, category, both, or none (one file).",
)
@click.option("--category", help="Only this category.")
@click.option("--pool", help="Only this shared pool id.")
@click.option("--overwrite", is_flag=True, help="Replace existing output files.")
def export_command(
    uri: str | None,
    config_file: str | None,
    start: int,
    end: int,
    fmt: str,
    out: str,
    partition_by: str,
    category: str | None,
    pool: str | None,
    overwrite: bool,
) -> None:
    """Export the usage table of a time range.

    Writes the rows of the minutes in [--from, --to) as Parquet, CSV or JSON
    Lines under TARGET, in hive-style folders (day=YYYY-MM-DD/category=NAME/)
    unless --partition-by none. The written paths are printed.
    """
    from ...export import export

    target, _ = resolve(uri, config_file, [], [], 0)
    time_range(None, start, end)
    parts = [p.strip() for p in partition_by.split(",") if p.strip()]
    if parts == ["none"]:
        parts = []
    if set(parts) - {"day", "category"}:
        raise click.BadParameter(
            f"expected day, category, day,category or none, got {partition_by!r}",
            param_hint="'--partition-by'",
        )
    STATE.scrub.add_uri(out)
    with reported_warnings():
        written = export(
            target.filesystem(),
            start,
            end,
            out,
            format=fmt,  # type: ignore[arg-type]
            partition_by=parts,  # type: ignore[arg-type]
            category=category,
            shared_pool_id=pool,
            overwrite=overwrite,
        )
    for path in written:
        click.echo(path)
    click.echo(
        f"exported [{start}, {end}) from {target.shown} to {describe_storage(out)}:"
        f" {len(written)} {fmt} file(s)",
        err=True,
    )
