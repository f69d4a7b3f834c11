"""Metering data as tables: Arrow, pandas and polars, and exports.

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

pyarrow, pandas and polars are optional extras imported on first use.
"""

from __future__ import annotations

import datetime as _dt
import importlib
import io
import urllib.parse
import warnings
from collections.abc import Iterable, Mapping, Sequence
from itertools import chain
from operator import attrgetter, itemgetter
from types import ModuleType
from typing import TYPE_CHECKING, Annotated, Any, Literal

import msgspec

from . import codec, layout
from .errors import CorruptFileError, MeteringError, ValidationError
from .schema import MetaType, MeteringData, MeteringFileInfo
from .storage import Storage, open_storage, write_file

if TYPE_CHECKING:
    import pyarrow as pa

    from .reader import MetaReader, MeteringReader

__all__ = [
    "FIXED_COLUMNS",
    "METRIC_COLUMNS",
    "MissingExtraError",
    "conform",
    "export",
    "flatten",
    "meta_table",
    "metering_schema",
    "read_table",
    "require",
    "to_pandas",
    "to_polars",
]

FIXED_COLUMNS = ("timestamp", "category", "shared_pool_id", "self_id", "part")
METRIC_COLUMNS = ("metric", "value", "unit")
_RESERVED = frozenset(FIXED_COLUMNS + METRIC_COLUMNS)
_UINT64_LIMIT = 2**64
_INT64_MAX = 2**63 - 1
_SCALARS = frozenset({str, int, float, bool, type(None)})
_DAY = 86400

Format = Literal["parquet", "csv", "jsonl"]
DtypeBackend = Literal["pyarrow", "numpy_nullable"]


class _Missing:
    """Marks a field an entry does not have (``None`` is a JSON null)."""


_MISSING = _Missing()


# -- optional imports ---------------------------------------------------------


class MissingExtraError(MeteringError, ImportError):
    """An optional dependency is not installed; the message names the extra."""

    def __init__(self, module: str, extra: str) -> None:
        super().__init__(
            f"{module} is required for this feature: "
            f"pip install 'metering-fsspec[{extra}]'",
            name=module,
        )
        self.extra = extra


def require(module: str, extra: str) -> ModuleType:
    """Import ``module`` or raise :class:`MissingExtraError` naming ``extra``."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingExtraError(module, extra) from exc


def _pa(extra: str = "arrow") -> Any:
    return require("pyarrow", extra)


def _np(extra: str = "arrow") -> Any:
    return require("numpy", extra)


# -- flattening ---------------------------------------------------------------


def _json_text(value: Any) -> str:
    return value if isinstance(value, str) else msgspec.json.encode(value).decode()


def _scalar_array(pa: Any, values: list[Any], kinds: set[type]) -> Any:
    """An Arrow array for one scalar column; ``None`` marks nulls."""
    kinds = kinds - {type(None)}
    if not kinds:
        return pa.nulls(len(values))
    if kinds == {bool}:
        return pa.array(values, pa.bool_())
    if kinds == {int}:
        for kind in (pa.int64(), pa.uint64()):
            try:
                return pa.array(values, kind)
            except (OverflowError, pa.ArrowInvalid):
                pass
    elif kinds <= {int, float}:
        return pa.array(values, pa.float64())
    elif kinds == {str}:
        return pa.array(values, pa.string())
    return pa.array([None if v is None else _json_text(v) for v in values], pa.string())


class _Value(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    """A metering value as the fast page decoder produces it."""

    value: Annotated[int, msgspec.Meta(ge=0)]
    unit: str


class _FastPage(msgspec.Struct, gc=False):
    """A metering page whose entries hold only metering values and scalars.

    Decoding into it checks the shape of every value in C; a page that does
    not fit (nested objects, lists...) is decoded by the codec instead.
    """

    timestamp: int
    category: str
    self_id: str
    shared_pool_id: str
    part: int
    data: list[dict[str, _Value | str | int | float | bool | None]] | None


_fast_decoder = msgspec.json.Decoder(_FastPage)
_get_value = attrgetter("value")
_get_unit = attrgetter("unit")


def decode_page(raw: bytes, path: str) -> MeteringData:
    """Decode an inflated metering page for :func:`flatten`.

    Metering values may come back as internal structs rather than dicts;
    the result is meant for flattening, not for user code.
    """
    try:
        page = _fast_decoder.decode(raw)
    except msgspec.DecodeError:
        return codec.decode_metering(raw, path)[0]
    return MeteringData(
        timestamp=page.timestamp,
        category=page.category,
        self_id=page.self_id,
        shared_pool_id=page.shared_pool_id,
        data=page.data if page.data is not None else [],  # type: ignore[arg-type]
    )


class _Metric:
    """One metric name: the entries that carry it, their values and units."""

    __slots__ = ("entries", "units", "values")

    def __init__(self, entries: Any, values: Any, units: list[str]) -> None:
        self.entries = entries
        self.values = values
        self.units = units


def _metering(value: Any) -> tuple[int, str] | None:
    """``(value, unit)`` if ``value`` is a metering value, else None."""
    if type(value) is _Value:
        return value.value, value.unit
    if (
        type(value) is dict
        and len(value) == 2
        and type(value.get("value")) is int
        and type(value.get("unit")) is str
        and value["value"] >= 0
    ):
        return value["value"], value["unit"]
    return None


def _slow_column(
    column: list[Any], np: Any
) -> tuple[_Metric | None, list[Any] | None, set[type]]:
    """Classify each value of a mixed column: metering value, scalar or neither."""
    entries: list[int] = []
    values: list[int] = []
    units: list[str] = []
    scalars: list[Any] = [None] * len(column)
    kinds: set[type] = set()
    has_scalar = False
    for index, item in enumerate(column):
        kind = type(item)
        if kind in _SCALARS:
            scalars[index] = item
            kinds.add(kind)
            has_scalar = True
        else:
            found = _metering(item)
            if found is not None:
                entries.append(index)
                values.append(found[0])
                units.append(found[1])
    metric = None
    if entries:
        metric = _Metric(
            np.asarray(entries, dtype=np.int64),
            np.fromiter(values, dtype=np.uint64, count=len(values)),
            units,
        )
    return metric, (scalars if has_scalar else None), kinds


def _fast_metric(column: list[Any], kinds: set[type], np: Any) -> _Metric | None:
    """A column of metering values in every entry, checked in C-speed passes."""
    if kinds == {_Value}:
        # The decoder has checked the types and the sign.
        values = list(map(_get_value, column))
        units = list(map(_get_unit, column))
    else:
        if kinds != {dict} or {*map(len, column)} != {2}:
            return None
        try:
            values = list(map(itemgetter("value"), column))
            units = list(map(itemgetter("unit"), column))
        except KeyError:
            return None
        if {*map(type, values)} != {int} or {*map(type, units)} != {str}:
            return None
        if min(values) < 0:
            return None
    return _Metric(
        np.arange(len(column), dtype=np.int64),
        np.fromiter(values, dtype=np.uint64, count=len(values)),
        units,
    )


def _check_range(
    name: str,
    entries: list[dict[str, Any]],
    documents: Sequence[MeteringData],
    infos: Sequence[MeteringFileInfo] | None,
    entry_doc: Any,
) -> None:
    """Raise for a metering value past uint64 (no file written by either
    library holds one), naming the file and the metric.
    """
    for index, entry in enumerate(entries):
        found = _metering(entry.get(name))
        if found is not None and found[0] >= _UINT64_LIMIT:
            doc = int(entry_doc[index])
            where = infos[doc].path if infos is not None else f"document {doc}"
            raise CorruptFileError(
                where, f"metric {name!r}: value {found[0]} does not fit in uint64"
            )


def _column(
    field: str, entries: list[dict[str, Any]], np: Any
) -> tuple[_Metric | None, list[Any] | None, set[type], bool]:
    """The metric and the scalar values one field gives, its scalar types,
    and whether every entry has it.
    """
    try:
        column = list(map(itemgetter(field), entries))
        complete = True
    except KeyError:
        column = [e.get(field, _MISSING) for e in entries]
        complete = False
    kinds = {*map(type, column)}
    if complete and kinds in ({dict}, {_Value}):
        metric = _fast_metric(column, kinds, np)
        if metric is not None:
            return metric, None, set(), True
    elif kinds - {_Missing} <= _SCALARS:
        if not complete:
            column = [None if v is _MISSING else v for v in column]
        return None, column, kinds - {_Missing}, complete
    metric, values, kinds = _slow_column(column, np)
    return metric, values, kinds, complete


def _column_name(field: str) -> str:
    name = field
    while name in _RESERVED:
        name = f"entry_{name}"
    return name


def flatten(
    documents: Sequence[MeteringData],
    infos: Sequence[MeteringFileInfo] | None = None,
    *,
    fields: Mapping[str, Any] | None = None,
) -> pa.Table:
    """One row per (document, entry, metric); see the module docstring.

    Parameters
    ----------
    documents:
        Decoded metering documents, in the order their rows should appear.
    infos:
        The file info of each document (gives ``part`` and names the file in
        errors); without it ``part`` is null.
    fields:
        Fix the scalar columns: field name -> Arrow type (or its name, such as
        ``"string"``). Fields not listed are left out; listed fields that no
        entry has are all null. Default: every scalar field found.
    """
    pa = _pa()
    np = _np()
    if infos is not None and len(infos) != len(documents):
        raise ValidationError("infos", "must have one item per document")
    counts = np.fromiter(
        (len(d.data) for d in documents), dtype=np.int64, count=len(documents)
    )
    entry_doc = np.repeat(np.arange(len(documents), dtype=np.int64), counts)
    entries: list[dict[str, Any]] = list(chain.from_iterable(d.data for d in documents))
    total = len(entries)
    if {*map(type, entries)} - {dict}:
        raise ValidationError("data", "every entry must be a dict")

    metrics: dict[str, _Metric] = {}
    scalars: dict[str, Any] = {}

    def add(field: str) -> bool:
        """Classify one field's values; False if some entry lacks it."""
        try:
            metric, values, kinds, complete = _column(field, entries, np)
        except OverflowError:
            _check_range(field, entries, documents, infos, entry_doc)
            raise
        if metric is not None:
            metrics[field] = metric
        if values is not None and (fields is None or field in fields):
            scalars[_column_name(field)] = _scalar_array(pa, values, kinds)
        return complete

    if entries:
        # Usually every entry has the first one's keys: then equal sizes and
        # no missing key prove there is no other key, without visiting all.
        first = list(entries[0])
        same_size = {*map(len, entries)} == {len(first)}
        complete = [add(field) for field in first]  # every field, no short cut
        all_complete = all(complete)
        if not (same_size and all_complete):
            for field in set(chain.from_iterable(entries)) - set(first):
                add(field)

    # Rows in (entry, metric name) order.
    names = sorted(metrics)
    per_metric = [metrics[name] for name in names]
    if per_metric and all(len(m.entries) == total for m in per_metric):
        width = len(per_metric)
        row_entry = np.repeat(np.arange(total, dtype=np.int64), width)
        row_metric = np.tile(np.arange(width, dtype=np.int32), total)
        value_stack = np.stack([m.values for m in per_metric], axis=1).ravel()
        order = None
    else:
        row_entry = np.concatenate(
            [m.entries for m in per_metric] or [np.zeros(0, np.int64)]
        )
        row_metric = np.concatenate(
            [np.full(len(m.entries), i, np.int32) for i, m in enumerate(per_metric)]
            or [np.zeros(0, np.int32)]
        )
        order = np.argsort(row_entry, kind="stable")
        row_entry = row_entry[order]
        row_metric = row_metric[order]
        value_stack = np.concatenate(
            [m.values for m in per_metric] or [np.zeros(0, np.uint64)]
        )[order]
    units = _units(pa, np, per_metric, order)
    row_doc = entry_doc[row_entry]

    def per_doc(values: Iterable[Any], kind: Any) -> Any:
        return pa.array(list(values), kind).take(row_doc)

    columns: dict[str, Any] = {
        "timestamp": pa.array([d.timestamp for d in documents], pa.int64())
        .cast(pa.timestamp("s", tz="UTC"))
        .take(row_doc),
        "category": per_doc((d.category for d in documents), pa.string()),
        "shared_pool_id": per_doc((d.shared_pool_id for d in documents), pa.string()),
        "self_id": per_doc((d.self_id for d in documents), pa.string()),
        "part": per_doc(
            (i.part for i in infos) if infos is not None else [None] * len(documents),
            pa.int64(),
        ),
    }
    if fields is not None:
        for field, kind in fields.items():
            name = _column_name(field)
            wanted = _arrow_type(pa, field, kind)
            array = scalars.get(name)
            scalars[name] = (
                pa.nulls(total, wanted)
                if array is None
                else _cast(pa, array, wanted, field)
            )
    for name in sorted(scalars):
        columns[name] = scalars[name].take(row_entry)
    columns["metric"] = pa.array(names, pa.string()).take(row_metric)
    columns["value"] = pa.array(value_stack, pa.uint64())
    columns["unit"] = units
    return pa.table(columns)


def _units(pa: Any, np: Any, per_metric: list[_Metric], order: Any) -> Any:
    """The unit of each row, built from a small dictionary of distinct units."""
    distinct: dict[str, int] = {}
    codes = []
    for metric in per_metric:
        found = set(metric.units)
        for unit in sorted(found):
            distinct.setdefault(unit, len(distinct))
        if len(found) == 1:
            codes.append(np.full(len(metric.units), distinct[found.pop()], np.int32))
        else:
            codes.append(
                np.fromiter(
                    map(distinct.__getitem__, metric.units),
                    dtype=np.int32,
                    count=len(metric.units),
                )
            )
    if not codes:
        return pa.array([], pa.string())
    if order is None:
        flat = np.stack(codes, axis=1).ravel()
    else:
        flat = np.concatenate(codes)[order]
    return pa.array(list(distinct), pa.string()).take(flat)


_TYPE_NAMES = {
    "string": "string",
    "str": "string",
    "int64": "int64",
    "int": "int64",
    "uint64": "uint64",
    "float64": "float64",
    "float": "float64",
    "double": "float64",
    "bool": "bool_",
    "boolean": "bool_",
    "null": "null",
}


def _arrow_type(pa: Any, field: str, kind: Any) -> Any:
    if isinstance(kind, pa.DataType):
        return kind
    if isinstance(kind, str) and kind.lower() in _TYPE_NAMES:
        return getattr(pa, _TYPE_NAMES[kind.lower()])()
    raise ValidationError(
        f"fields[{field!r}]",
        f"unknown type {kind!r}, expected a pyarrow type or one of "
        f"{sorted(_TYPE_NAMES)}",
    )


def _cast(pa: Any, array: Any, kind: Any, field: str) -> Any:
    if array.type == kind:
        return array
    try:
        return array.cast(kind)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise ValidationError(
            field, f"cannot convert {array.type} values to {kind}: {exc}"
        ) from None


def metering_schema(fields: Mapping[str, Any] | None = None) -> pa.Schema:
    """The Arrow schema of a flattened table with these scalar ``fields``."""
    pa = _pa()
    scalar = {
        _column_name(f): _arrow_type(pa, f, kind) for f, kind in (fields or {}).items()
    }
    return pa.schema(
        [
            ("timestamp", pa.timestamp("s", tz="UTC")),
            ("category", pa.string()),
            ("shared_pool_id", pa.string()),
            ("self_id", pa.string()),
            ("part", pa.int64()),
            *sorted(scalar.items()),
            ("metric", pa.string()),
            ("value", pa.uint64()),
            ("unit", pa.string()),
        ]
    )


def conform(table: pa.Table, schema: pa.Schema, *, where: str = "table") -> pa.Table:
    """Give ``table`` exactly the columns and types of ``schema``.

    Missing columns are added as nulls; a column ``schema`` lacks, or a value
    that does not convert, raises :class:`ValidationError` (nothing is
    dropped silently).
    """
    pa = _pa()
    extra = sorted(set(table.column_names) - set(schema.names))
    if extra:
        raise ValidationError(
            extra[0],
            f"{where} has fields not in the expected schema ({', '.join(extra)}); "
            "pass fields= to choose the columns",
        )
    columns = []
    for field in schema:
        if field.name in table.column_names:
            columns.append(_cast(pa, table[field.name], field.type, field.name))
        else:
            columns.append(pa.nulls(table.num_rows, field.type))
    return pa.Table.from_arrays(columns, schema=schema)


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
    :func:`export` (one day at a time) or :mod:`metering_fsspec.dask`.
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


_NUMPY_NULLABLE = {
    "int64": "Int64",
    "uint64": "UInt64",
    "double": "Float64",
    "bool": "boolean",
    "string": "string",
}


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


# -- meta ---------------------------------------------------------------------

_meta_json = msgspec.json.Encoder(order="deterministic")


def meta_table(
    source: MetaReader | Storage,
    *,
    cluster_id: str | None = None,
    meta_type: MetaType | str | None = None,
    category: str | None = None,
) -> pa.Table:
    """Every meta file under ``metering/meta`` as a table.

    One row per (cluster_id, type, category, modify_ts), all four from the
    path as the readers do (a legacy file's type from its content, else
    null); a typed file wins over a legacy one with the same key. Columns:
    ``cluster_id``, ``type``, ``category`` (``""`` when none), ``modify_ts``,
    ``metadata`` (a JSON string) and ``path``. Sorted by the key.
    """
    from .reader import MetaReader, MeteringWarning

    pa = _pa()
    reader = source if isinstance(source, MetaReader) else MetaReader(source)
    wanted_type = None if meta_type is None else layout.check_meta_type(meta_type)
    infos = []
    for path in reader.list(layout.META_ROOT + "/"):
        if path.rsplit("/", 1)[-1].startswith("."):
            continue  # a write in progress or a hidden file
        try:
            info = layout.parse_meta_path(path)
        except ValueError as exc:
            warnings.warn(f"skipping {path}: {exc}", MeteringWarning, stacklevel=2)
            continue
        if (
            (cluster_id is None or info.cluster_id == cluster_id)
            and (category is None or info.category == category)
            and (wanted_type is None or info.type in (wanted_type, None))
        ):
            infos.append(info)
    documents = reader.read_files([info.path for info in infos]) if infos else []
    rows: dict[tuple[str, str, str, int], tuple[bool, str, str]] = {}
    for info, doc in zip(infos, documents, strict=True):
        kind = info.type if info.type is not None else doc.type
        if wanted_type is not None and kind != wanted_type:
            continue
        key = (
            info.cluster_id,
            kind.value if kind else "",
            info.category,
            info.modify_ts,
        )
        typed = info.type is not None
        if key in rows and rows[key][0] and not typed:
            continue
        rows[key] = (typed, _meta_json.encode(doc.metadata).decode(), info.path)
    keys = sorted(rows)
    return pa.table(
        {
            "cluster_id": pa.array([k[0] for k in keys], pa.string()),
            "type": pa.array([k[1] or None for k in keys], pa.string()),
            "category": pa.array([k[2] for k in keys], pa.string()),
            "modify_ts": pa.array([k[3] for k in keys], pa.int64()),
            "metadata": pa.array([rows[k][1] for k in keys], pa.string()),
            "path": pa.array([rows[k][2] for k in keys], pa.string()),
        }
    )


# -- export -------------------------------------------------------------------

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
