"""Wire schemas: the documents stored in metering and meta files.

User-facing structs keep the constructor order of the public API; the private
``_*Wire`` structs fix the field order Go writes, so encoding them gives the
same JSON object (field order included) as the Go library.
"""

from __future__ import annotations

import enum
from typing import Any

import msgspec

from .errors import ValidationError

__all__ = [
    "DEFAULT_SHARED_POOL_ID",
    "MeteringData",
    "MeteringFileInfo",
    "MeteringValue",
    "MetaData",
    "MetaType",
    "TimestampFiles",
]

DEFAULT_SHARED_POOL_ID = "default-shared-pool"
UINT64_LIMIT = 2**64


class MetaType(enum.StrEnum):
    """Kind of meta document."""

    LOGIC = "logic"
    SHAREDPOOL = "sharedpool"


class MeteringValue(msgspec.Struct, frozen=True):
    """One measured quantity: an unsigned 64-bit integer and its unit."""

    value: int
    unit: str

    def __post_init__(self) -> None:
        if (
            not isinstance(self.value, int)
            or isinstance(self.value, bool)
            or not 0 <= self.value < UINT64_LIMIT
        ):
            raise ValidationError(
                "value", f"must be an integer in [0, 2**64), got {self.value!r}"
            )
        if not isinstance(self.unit, str):
            raise ValidationError("unit", f"must be a string, got {self.unit!r}")


class MeteringData(msgspec.Struct):
    """One minute of metering for one component (``self_id``).

    ``data`` entries map names to :class:`MeteringValue` or any JSON value.
    Decoded files give plain ``{"value": .., "unit": ..}`` dicts.
    """

    timestamp: int
    category: str
    self_id: str
    shared_pool_id: str = ""
    data: list[dict[str, Any]] = msgspec.field(default_factory=list)


class MetaData(msgspec.Struct):
    """Metadata of a cluster, valid from ``modify_ts`` on.

    ``type`` is ``None`` only for a legacy file that carries no type.
    """

    cluster_id: str
    type: MetaType | None
    modify_ts: int
    metadata: dict[str, Any] = msgspec.field(default_factory=dict)
    category: str = ""


class MeteringFileInfo(msgspec.Struct, frozen=True):
    """What the path of a metering file says about it."""

    path: str
    timestamp: int
    category: str
    shared_pool_id: str
    self_id: str
    part: int


class TimestampFiles(msgspec.Struct):
    """Metering files of one minute: category -> ordered paths."""

    timestamp: int
    files: dict[str, list[str]] = msgspec.field(default_factory=dict)


# -- wire forms ---------------------------------------------------------------


class MeteringPageWire(msgspec.Struct):
    """A metering page as stored: Go's field order, ``part`` included."""

    timestamp: int
    category: str
    self_id: str
    shared_pool_id: str
    part: int
    data: list[dict[str, Any]] | None


class MetaWire(msgspec.Struct, kw_only=True, omit_defaults=True):
    """A meta document as written (``category`` omitted when empty, as Go)."""

    cluster_id: str
    type: str
    category: str = ""
    modify_ts: int
    metadata: dict[str, Any] | None


class MetaWireIn(msgspec.Struct, kw_only=True):
    """A meta document as read: lenient about what legacy files omit."""

    cluster_id: str = ""
    type: MetaType | None = None
    category: str = ""
    modify_ts: int = 0
    metadata: dict[str, Any] | None = None
