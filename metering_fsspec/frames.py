"""Metering data as tables: Arrow, pandas and polars.

A metering document becomes one row per (document, entry, metric)::

    timestamp  category  shared_pool_id  self_id  part  <scalar fields...>  metric  value  unit

- ``timestamp`` is ``timestamp[s, tz=UTC]``; ``part`` comes from the file path.
- Every plain scalar field of an entry (str, int, float, bool or null), such
  as ``logical_cluster_id`` or ``region``, is a column of its own: the union
  over the rows, null where an entry lacks it, sorted by name after the fixed
  columns. A field whose name is taken by a fixed column is renamed
  ``entry_<name>``.
- A metering value is a dict with exactly the keys ``value`` and ``unit``,
  where ``value`` is a non-negative integer and ``unit`` a string. Each gives
  a row with ``metric`` (the entry key), ``value`` (``uint64``, exact) and
  ``unit``. An entry's rows follow its metric names in sorted order (the
  order in which both libraries write keys).
- Other values (lists, other dicts, negative numbers) are not columns.

Scalar column types: only ``bool`` -> bool, only ``int`` -> int64 (uint64 or
string past its range), ``int``/``float`` -> float64, only ``str`` -> string,
only nulls -> null; any other mix -> string, non-strings written as JSON.

pyarrow, pandas and polars are optional extras imported on first use. The
flattening itself is in :mod:`metering_fsspec.flatten`; exports to files in
:mod:`metering_fsspec.export`; meta files as a table in
:mod:`metering_fsspec.meta_frames`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

from .errors import ValidationError
from .extras import MissingExtraError, _pa, require
from .flatten import (
    FIXED_COLUMNS,
    METRIC_COLUMNS,
    conform,
    decode_page,
    flatten,
    metering_schema,
)
from .schema import MeteringData, MeteringFileInfo
from .storage import Storage

if TYPE_CHECKING:
    import pyarrow as pa

    from .reader import MeteringReader

__all__ = [
    "FIXED_COLUMNS",
    "METRIC_COLUMNS",
    "MissingExtraError",
    "conform",
    "flatten",
    "metering_schema",
    "read_table",
    "require",
    "to_pandas",
    "to_polars",
]

DtypeBackend = Literal["pyarrow", "numpy_nullable"]


# -- reading ------------------------------------------------------------------


def _metering_reader(source: Any) -> MeteringReader:
    from .reader import MeteringReader

    return source if isinstance(source, MeteringReader) else MeteringReader(source)


def read_infos(
    reader: MeteringReader,
    infos: Sequence[MeteringFileInfo],
    *,
    fields: Mapping[str, Any] | None = None,
) -> pa.Table:
    """Read and flatten the files ``infos`` describe (concurrently, through
    the reader's codec and limits; failures raise :class:`PartialReadError`).
    """

    def decode(blob: bytes, path: str) -> MeteringData:
        return decode_page(reader._inflate(blob, path), path)

    paths = [info.path for info in infos]
    documents = reader._read_many(paths, decode) if paths else []
    return flatten(documents, infos, fields=fields)


def read_table(
    source: MeteringReader | Storage,
    start: int,
    end: int,
    *,
    category: str | None = None,
    shared_pool_id: str | None = None,
    self_id: str | None = None,
    fields: Mapping[str, Any] | None = None,
) -> pa.Table:
    """Metering data of ``[start, end)`` as one Arrow table.

    ``source`` is a :class:`MeteringReader` or anything ``open_storage``
    accepts. The whole range is held in memory; for more, see
    :func:`metering_fsspec.export.export` (one day at a time) or
    :mod:`metering_fsspec.dask`.
    """
    _pa()
    reader = _metering_reader(source)
    infos = list(
        reader.scan_files(
            start,
            end,
            category=category,
            shared_pool_id=shared_pool_id,
            self_id=self_id,
        )
    )
    return read_infos(reader, infos, fields=fields)


def to_pandas(table: pa.Table, *, dtype_backend: DtypeBackend = "pyarrow") -> Any:
    """A pandas DataFrame of ``table``.

    ``dtype_backend="pyarrow"`` (default) keeps Arrow types (exact uint64,
    integers stay integers with nulls); ``"numpy_nullable"`` uses pandas'
    nullable dtypes (``UInt64``, ``Int64``, ``string``...).
    """
    pa = _pa("pandas")
    pd = require("pandas", "pandas")
    if dtype_backend == "pyarrow":
        return table.to_pandas(types_mapper=pd.ArrowDtype)
    if dtype_backend == "numpy_nullable":
        mapping = {
            getattr(
                pa, name if name != "bool" else "bool_"
            )(): pd.api.types.pandas_dtype(dtype)
            for name, dtype in (
                ("int64", "Int64"),
                ("uint64", "UInt64"),
                ("float64", "Float64"),
                ("bool", "boolean"),
                ("string", "string"),
            )
        }
        return table.to_pandas(types_mapper=mapping.get)
    raise ValidationError(
        "dtype_backend", f"must be 'pyarrow' or 'numpy_nullable', got {dtype_backend!r}"
    )


def to_polars(table: pa.Table) -> Any:
    """A polars DataFrame of ``table`` (``value`` stays an exact ``UInt64``)."""
    _pa("polars")
    pl = require("polars", "polars")
    return pl.from_arrow(table)
