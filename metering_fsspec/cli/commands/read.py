"""Commands that look at stored data: ``ls``, ``cat`` and ``meta``."""

from __future__ import annotations

import sys
import time
from collections import Counter
from typing import IO, Any

import click
import msgspec

from ... import codec, layout
from ...config import Config
from ...errors import ValidationError
from ..arguments import resolve, storage_options, time_range
from ..format import TIMESTAMP, echo_json, format_ts, progress
from ..state import data_error, reported_warnings

__all__ = ["cat_command", "ls_command", "meta_command"]


@click.command(name="ls")
@storage_options
@click.option("--at", type=TIMESTAMP, help="One minute.")
@click.option("--from", "start", type=TIMESTAMP, help="First minute (inclusive).")
@click.option("--to", "end", type=TIMESTAMP, help="End of the range (exclusive).")
@click.option("--category", help="Only this category.")
@click.option("--pool", help="Only this shared pool id.")
@click.option("--long", "-l", "long_", is_flag=True, help="Add size and part.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def ls_command(
    uri: str | None,
    config_file: str | None,
    at: int | None,
    start: int | None,
    end: int | None,
    category: str | None,
    pool: str | None,
    long_: bool,
    as_json: bool,
) -> None:
    """List minutes, categories and metering files.

    Without --at or --from/--to every minute is listed. Times are unix seconds
    or ISO-8601 (UTC unless a zone is given).
    """
    from ...reader import MeteringReader

    target, _ = resolve(uri, config_file, [], [], 0)
    first, stop = time_range(at, start, end)
    fs = target.filesystem()
    reader = MeteringReader(fs)
    with reported_warnings():
        minutes = reader.timestamps(first or 0, stop)
        rows: list[dict[str, Any]] = []
        with progress(len(minutes), "listing") as advance:
            for minute in minutes:
                sizes = _sizes(fs, layout.timestamp_dir(minute)) if long_ else {}
                for info in reader.scan_files(
                    minute, minute + 1, category=category, shared_pool_id=pool
                ):
                    row: dict[str, Any] = {
                        "timestamp": info.timestamp,
                        "category": info.category,
                        "shared_pool_id": info.shared_pool_id,
                        "self_id": info.self_id,
                        "part": info.part,
                        "path": info.path,
                    }
                    if long_:
                        row["size"] = sizes.get(info.path)
                    rows.append(row)
                advance(1)
    if as_json:
        echo_json({"storage": target.shown, "files": rows})
        return
    click.echo(f"storage: {target.shown}")
    if not rows:
        click.echo("no metering files found")
        return
    counts = Counter((r["timestamp"], r["category"]) for r in rows)
    shown: tuple[int, str] | None = None
    for row in rows:
        key = (row["timestamp"], row["category"])
        if shown is None or key[0] != shown[0]:
            click.echo(f"{key[0]}  {format_ts(key[0])}")
        if key != shown:
            count = counts[key]
            click.echo(f"  {key[1]}  ({count} file{'s' * (count != 1)})")
            shown = key
        if long_:
            size = "?" if row["size"] is None else str(row["size"])
            click.echo(f"    {size:>10}  part {row['part']:<3} {row['path']}")
        else:
            click.echo(f"    {row['path']}")
    minutes_shown = len({r["timestamp"] for r in rows})
    click.echo(f"{len(rows)} file(s) in {minutes_shown} minute(s)")


def _sizes(fs: Any, folder: str) -> dict[str, int]:
    try:
        found = fs.find(folder, detail=True)
    except FileNotFoundError:
        return {}
    return {path: entry.get("size") for path, entry in found.items()}


@click.command(name="cat")
@storage_options
@click.argument("path", metavar="PATH", required=False)
@click.option("--raw", is_flag=True, help="The exact JSON bytes stored.")
def cat_command(
    uri: str | None, config_file: str | None, path: str | None, raw: bool
) -> None:
    """Print one metering or meta file as JSON.

    PATH is relative to the metering root, as `ls` prints it.
    """
    target, rest = resolve(uri, config_file, [path], ["PATH"], 1)
    path = str(rest[0]).lstrip("/")
    fs = target.filesystem()
    try:
        blob = fs.cat_file(path)
    except FileNotFoundError:
        raise data_error(f"file not found: {path}") from None
    except IsADirectoryError:
        raise data_error(f"not a file: {path}") from None
    data = codec.decompress(blob, Config().max_decompressed_bytes, path)
    try:
        msgspec.json.decode(data)
    except msgspec.DecodeError as exc:
        raise data_error(f"{path}: not valid JSON: {exc}") from None
    if raw:
        out: IO[bytes] = sys.stdout.buffer
        out.write(data)
        out.flush()
        return
    click.echo(msgspec.json.format(data, indent=2).decode("utf-8", "replace"))


@click.command(name="meta")
@storage_options
@click.argument("cluster", metavar="CLUSTER", required=False)
@click.option(
    "--type",
    "meta_type",
    type=click.Choice(["logic", "sharedpool"]),
    help="Only this meta type (default: newest of any type, legacy included).",
)
@click.option("--category", default="", help="Category of the meta files.")
@click.option("--at", type=TIMESTAMP, help="Point in time (default: now).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def meta_command(
    uri: str | None,
    config_file: str | None,
    cluster: str | None,
    meta_type: str | None,
    category: str,
    at: int | None,
    as_json: bool,
) -> None:
    """Print the metadata in force for CLUSTER at a point in time."""
    from ...reader import MetaReader

    target, rest = resolve(uri, config_file, [cluster], ["CLUSTER"], 1)
    cluster_id = str(rest[0])
    when = int(time.time()) if at is None else at
    try:
        layout.check_segment("cluster_id", cluster_id)
        if category:
            layout.check_segment("category", category)
    except ValidationError as exc:
        raise click.BadParameter(str(exc)) from None
    with MetaReader(target.filesystem()) as reader:
        if meta_type is None:
            meta = reader.read(cluster_id, when, category=category)
        else:
            meta = reader.read_by_type(cluster_id, meta_type, when, category=category)
    doc = {
        "cluster_id": meta.cluster_id,
        "type": meta.type.value if meta.type is not None else None,
        "category": meta.category,
        "modify_ts": meta.modify_ts,
        "metadata": meta.metadata,
    }
    if as_json:
        echo_json(doc)
        return
    click.echo(f"storage:   {target.shown}")
    click.echo(f"cluster:   {meta.cluster_id}")
    click.echo(f"type:      {doc['type'] or '(legacy, none)'}")
    click.echo(f"category:  {meta.category or '(none)'}")
    click.echo(f"modify_ts: {meta.modify_ts}  {format_ts(meta.modify_ts)}")
    click.echo(f"in force at {when}  {format_ts(when)}")
    click.echo("metadata:")
    formatted = msgspec.json.format(msgspec.json.encode(meta.metadata), indent=2)
    click.echo("  " + formatted.decode().replace("\n", "\n  "))
