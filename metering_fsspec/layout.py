"""The storage layout: the one place that knows how paths are built and parsed.

::

    metering/ru/{timestamp}/{category}/{shared_pool_id}/{self_id}-{part}.json.gz
    metering/meta/{type}/{cluster_id}/{modify_ts}.json.gz
    metering/meta/{type}/{category}/{cluster_id}/{modify_ts}.json.gz
    metering/meta/{cluster_id}/{modify_ts}.json.gz                # legacy
    metering/meta/{category}/{cluster_id}/{modify_ts}.json.gz     # legacy
"""

from __future__ import annotations

import re

import attrs

from .errors import InvalidPathError, ValidationError
from .schema import MetaType, MeteringFileInfo

__all__ = [
    "META_ROOT",
    "METERING_ROOT",
    "SUFFIX",
    "MetaPathInfo",
    "check_segment",
    "meta_dir",
    "meta_path",
    "metering_dir",
    "metering_path",
    "parse_meta_path",
    "parse_metering_path",
    "timestamp_dir",
]

METERING_ROOT = "metering/ru"
META_ROOT = "metering/meta"
SUFFIX = ".json.gz"

_DIGITS = re.compile(r"0|[1-9][0-9]*")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_META_TYPES = frozenset(t.value for t in MetaType)


def check_segment(field: str, value: object) -> str:
    """Return ``value`` if it is one safe path segment, else raise.

    A safe segment is a non-empty string without ``/``, ``\\`` or control
    characters that is not ``.`` or ``..``: it can never escape the root.
    ``?`` and ``#`` are refused too: fsspec and the cloud SDKs read them as the
    start of a URL query or fragment, so such a file could be written but not
    listed back on every backend.
    """
    if not isinstance(value, str):
        raise ValidationError(field, f"must be a string, got {type(value).__name__}")
    if not value:
        raise ValidationError(field, "must not be empty")
    if "/" in value or "\\" in value:
        raise ValidationError(field, f"must not contain a path separator: {value!r}")
    if value in (".", ".."):
        raise ValidationError(field, f"must not be {value!r}")
    if _CONTROL.search(value):
        raise ValidationError(field, f"must not contain control characters: {value!r}")
    if "?" in value or "#" in value:
        raise ValidationError(field, f"must not contain '?' or '#': {value!r}")
    return value


def _check_self_id(value: object) -> str:
    check_segment("self_id", value)
    assert isinstance(value, str)
    if "-" in value:
        raise ValidationError("self_id", f"must not contain '-': {value!r}")
    return value


def _number(field: str, value: object, *, minute: bool = False) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValidationError(field, f"must be an integer, got {value!r}")
    if value <= 0:
        raise ValidationError(field, f"must be positive, got {value}")
    if minute and value % 60:
        raise ValidationError(field, f"must be divisible by 60, got {value}")
    return value


def check_timestamp(value: object) -> int:
    """A metering timestamp: positive and on a minute boundary."""
    return _number("timestamp", value, minute=True)


def check_modify_ts(value: object) -> int:
    return _number("modify_ts", value)


def check_meta_type(value: object) -> MetaType:
    """Accept a :class:`MetaType` or its string value."""
    if isinstance(value, MetaType):
        return value
    if isinstance(value, str) and value in _META_TYPES:
        return MetaType(value)
    raise ValidationError(
        "type", f"must be one of {sorted(_META_TYPES)}, got {value!r}"
    )


# -- metering -----------------------------------------------------------------


def timestamp_dir(timestamp: int) -> str:
    return f"{METERING_ROOT}/{timestamp}"


def metering_dir(timestamp: int, category: str, shared_pool_id: str) -> str:
    return f"{METERING_ROOT}/{timestamp}/{category}/{shared_pool_id}"


def metering_path(
    timestamp: int, category: str, shared_pool_id: str, self_id: str, part: int
) -> str:
    """Build the path of one metering page, validating every segment."""
    check_timestamp(timestamp)
    check_segment("category", category)
    check_segment("shared_pool_id", shared_pool_id)
    _check_self_id(self_id)
    if not isinstance(part, int) or part < 0:
        raise ValidationError("part", f"must be a non-negative integer, got {part!r}")
    return (
        f"{metering_dir(timestamp, category, shared_pool_id)}/{self_id}-{part}{SUFFIX}"
    )


def parse_metering_path(path: str) -> MeteringFileInfo:
    """Read timestamp, category, pool, self_id and part from a metering path.

    Raises :class:`InvalidPathError` (a ``ValueError``) for anything outside
    the layout, including a ``self_id`` with a dash.
    """
    parts = path.strip("/").split("/")
    if len(parts) != 6 or "/".join(parts[:2]) != METERING_ROOT:
        raise InvalidPathError(path, f"not a {METERING_ROOT}/... metering file path")
    _, _, ts, category, pool, name = parts
    if not _DIGITS.fullmatch(ts) or int(ts) <= 0:
        raise InvalidPathError(path, "timestamp segment is not a positive integer")
    if not name.endswith(SUFFIX):
        raise InvalidPathError(path, f"file name does not end with {SUFFIX}")
    stem = name[: -len(SUFFIX)]
    self_id, dash, part = stem.rpartition("-")
    if not dash or not _DIGITS.fullmatch(part):
        raise InvalidPathError(path, "file name is not {self_id}-{part}.json.gz")
    try:
        for field, value in (("category", category), ("shared_pool_id", pool)):
            check_segment(field, value)
        _check_self_id(self_id)
    except ValidationError as exc:
        raise InvalidPathError(path, str(exc)) from None
    return MeteringFileInfo(
        path=path,
        timestamp=int(ts),
        category=category,
        shared_pool_id=pool,
        self_id=self_id,
        part=int(part),
    )


# -- meta ---------------------------------------------------------------------


def meta_dir(cluster_id: str, meta_type: MetaType | None, category: str = "") -> str:
    """The folder holding one cluster's meta files (``meta_type=None``: legacy)."""
    check_segment("cluster_id", cluster_id)
    segments = [META_ROOT]
    if meta_type is not None:
        segments.append(check_meta_type(meta_type).value)
    if category:
        segments.append(check_segment("category", category))
    segments.append(cluster_id)
    return "/".join(segments)


def meta_path(
    cluster_id: str,
    meta_type: MetaType | str | None,
    modify_ts: int,
    category: str = "",
) -> str:
    """Build the path of a typed meta file, validating every segment (``meta_type``
    must be a :class:`MetaType` or its value)."""
    check_modify_ts(modify_ts)
    return f"{meta_dir(cluster_id, check_meta_type(meta_type), category)}/{modify_ts}{SUFFIX}"


@attrs.frozen
class MetaPathInfo:
    """What the path of a meta file says about it (``type`` None: legacy)."""

    path: str
    type: MetaType | None
    category: str
    cluster_id: str
    modify_ts: int


def modify_ts_of(name: str) -> int | None:
    """The ``modify_ts`` encoded in a meta file name, or None."""
    base = name.rsplit("/", 1)[-1]
    if not base.endswith(SUFFIX):
        return None
    stem = base[: -len(SUFFIX)]
    return int(stem) if _DIGITS.fullmatch(stem) and int(stem) > 0 else None


def parse_meta_path(path: str) -> MetaPathInfo:
    """Parse any of the four meta layouts.

    Three segments after ``metering/meta`` whose first is a type name are
    read as ``{type}/{cluster_id}``; otherwise as legacy ``{category}/{cluster_id}``.
    """
    parts = path.strip("/").split("/")
    if len(parts) < 4 or "/".join(parts[:2]) != META_ROOT:
        raise InvalidPathError(path, f"not a {META_ROOT}/... meta file path")
    ts = modify_ts_of(parts[-1])
    if ts is None:
        raise InvalidPathError(path, "file name is not {modify_ts}.json.gz")
    middle = parts[2:-1]
    meta_type: MetaType | None = None
    if len(middle) >= 2 and middle[0] in _META_TYPES:
        meta_type, middle = MetaType(middle[0]), middle[1:]
    if len(middle) not in (1, 2):
        raise InvalidPathError(path, "unexpected number of folders")
    category = middle[0] if len(middle) == 2 else ""
    try:
        for segment in middle:
            check_segment("path segment", segment)
    except ValidationError as exc:
        raise InvalidPathError(path, str(exc)) from None
    return MetaPathInfo(
        path=path,
        type=meta_type,
        category=category,
        cluster_id=middle[-1],
        modify_ts=ts,
    )
