"""Exports of metering data to Parquet, CSV or JSON Lines files.

The files go to any storage, in hive-style folders (``day=.../category=...``)
by default. pyarrow is an optional extra imported on first use.
"""

from __future__ import annotations

import datetime as _dt
import importlib
import io
import urllib.parse
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

import msgspec

from .errors import ValidationError
from .extras import _pa
from .flatten import metering_schema
from .frames import _metering_reader, read_infos
from .schema import MeteringFileInfo
from .storage import Storage, open_storage, write_file

if TYPE_CHECKING:
    import pyarrow as pa

    from .reader import MeteringReader

__all__ = ["export"]

_DAY = 86400

Format = Literal["parquet", "csv", "jsonl"]


_SUFFIX = {"parquet": ".parquet", "csv": ".csv", "jsonl": ".jsonl"}
_line_encoder = msgspec.json.Encoder()


def _encode(table: pa.Table, format: Format) -> bytes:
    pa = _pa()
    if format == "parquet":
        pq = importlib.import_module("pyarrow.parquet")
        sink = io.BytesIO()
        pq.write_table(table, sink)
        return sink.getvalue()
    if format == "csv":
        csv = importlib.import_module("pyarrow.csv")
        sink = io.BytesIO()
        csv.write_csv(table, sink)
        return sink.getvalue()
    compute = importlib.import_module("pyarrow.compute")
    columns = []
    for column in table.columns:
        if pa.types.is_timestamp(column.type):
            column = compute.strftime(column, format="%Y-%m-%dT%H:%M:%SZ")
        columns.append(column.to_pylist())
    names = table.column_names
    lines = [
        _line_encoder.encode(dict(zip(names, row, strict=True)))
        for row in zip(*columns, strict=True)
    ]
    return b"".join(line + b"\n" for line in lines)


def _day(timestamp: int) -> str:
    return _dt.datetime.fromtimestamp(timestamp, _dt.UTC).strftime("%Y-%m-%d")


def export(
    source: MeteringReader | Storage,
    start: int,
    end: int,
    target: Storage,
    *,
    format: Format = "parquet",
    partition_by: Sequence[Literal["day", "category"]] = ("day", "category"),
    category: str | None = None,
    shared_pool_id: str | None = None,
    self_id: str | None = None,
    fields: Mapping[str, Any] | None = None,
    overwrite: bool = False,
    storage_options: Mapping[str, Any] | None = None,
) -> list[str]:
    """Write the metering data of ``[start, end)`` as Parquet, CSV or JSON Lines.

    Files go to ``target`` (anything :func:`open_storage` accepts: a local
    path, an fsspec URL, a Go-style URI, a ``UPath`` or a filesystem) in
    hive-style folders, ``day=YYYY-MM-DD/category=NAME/part-0.parquet`` by
    default. As hive-partitioned datasets do, the partition columns live in
    the folder names, not in the files; pyarrow, polars, DuckDB or Spark
    restore them when reading the folder. ``partition_by=()`` writes one file
    (``metering.parquet``) with every column.

    With ``"day"`` in ``partition_by`` one day is in memory at a time. Each
    file is stored in one step (atomic locally, a single PUT on object
    stores); an existing file raises ``FileExistsError`` unless ``overwrite``.
    Returns the written paths, relative to ``target``.
    """
    if format not in _SUFFIX:
        raise ValidationError(
            "format", f"must be one of {sorted(_SUFFIX)}, got {format!r}"
        )
    unknown = set(partition_by) - {"day", "category"}
    if unknown:
        raise ValidationError(
            "partition_by", f"can only hold 'day' and 'category', got {sorted(unknown)}"
        )
    pa = _pa()
    compute = importlib.import_module("pyarrow.compute")
    reader = _metering_reader(source)
    out = open_storage(target, **dict(storage_options or {}))
    infos = list(
        reader.scan_files(
            start,
            end,
            category=category,
            shared_pool_id=shared_pool_id,
            self_id=self_id,
        )
    )
    groups: dict[int, list[MeteringFileInfo]] = {}
    for info in infos:
        groups.setdefault(
            info.timestamp // _DAY if "day" in partition_by else 0, []
        ).append(info)
    written: list[str] = []
    suffix = _SUFFIX[format]
    for day, members in sorted(groups.items()):
        table = read_infos(reader, members, fields=fields)
        if "category" in partition_by:
            names = sorted(compute.unique(table["category"]).to_pylist())
            pieces = [
                (name, table.filter(compute.equal(table["category"], name)))
                for name in names
            ]
        else:
            pieces = [("", table)]
        for name, piece in pieces:
            folders = []
            if "day" in partition_by:
                folders.append(f"day={_day(day * _DAY)}")
            if "category" in partition_by:
                folders.append(f"category={urllib.parse.quote(name, safe='')}")
                piece = piece.drop_columns(["category"])
            path = (
                "/".join([*folders, f"part-0{suffix}"])
                if folders
                else (f"metering{suffix}")
            )
            write_file(out, path, _encode(piece, format), overwrite=overwrite)
            written.append(path)
    if not written and not partition_by:
        # An empty range still gives the single file asked for.
        empty = pa.Table.from_batches([], metering_schema(fields))
        path = f"metering{suffix}"
        write_file(out, path, _encode(empty, format), overwrite=overwrite)
        written.append(path)
    return written
