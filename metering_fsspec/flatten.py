"""Metering pages flattened into one Arrow table.

Decodes pages (a fast path for the usual shape of a page), turns documents
into one row per (document, entry, metric) as :mod:`metering_fsspec.frames`
describes, and builds or conforms to the schema of that table.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from itertools import chain
from operator import attrgetter, itemgetter
from typing import TYPE_CHECKING, Annotated, Any

import msgspec

from . import codec
from .errors import CorruptFileError, ValidationError
from .extras import _np, _pa
from .schema import MeteringData, MeteringFileInfo

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = [
    "FIXED_COLUMNS",
    "METRIC_COLUMNS",
    "conform",
    "decode_page",
    "flatten",
    "metering_schema",
]

FIXED_COLUMNS = ("timestamp", "category", "shared_pool_id", "self_id", "part")
METRIC_COLUMNS = ("metric", "value", "unit")
_RESERVED = frozenset(FIXED_COLUMNS + METRIC_COLUMNS)
_UINT64_LIMIT = 2**64
_SCALARS = frozenset({str, int, float, bool, type(None)})


class _Missing:
    """Marks a field an entry does not have (``None`` is a JSON null)."""


_MISSING = _Missing()


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
        with codec.gc_paused():
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
    """One row per (document, entry, metric); see :mod:`metering_fsspec.frames`.

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
