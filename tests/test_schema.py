"""Schemas: public structs, metering value rules, wire field order."""

from __future__ import annotations

import json
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import metering_fsspec
from metering_fsspec import (
    DEFAULT_SHARED_POOL_ID,
    MetaData,
    MetaType,
    MeteringData,
    MeteringFileInfo,
    MeteringValue,
    TimestampFiles,
    ValidationError,
)
from metering_fsspec.codec import encode_meta, encode_metering_pages


def test_public_names_are_exported() -> None:
    for name in metering_fsspec.__all__:
        assert hasattr(metering_fsspec, name), name
    assert DEFAULT_SHARED_POOL_ID == "default-shared-pool"


@pytest.mark.parametrize("value", [0, 1, 2**53 + 1, 2**64 - 1])
def test_metering_value_accepts_uint64(value: int) -> None:
    assert MeteringValue(value, "bytes").value == value


@pytest.mark.parametrize("value", [-1, 2**64, 2**70, True, False, 1.0, 1.5, "1", None])
def test_metering_value_refuses_non_uint64(value: Any) -> None:
    with pytest.raises(ValidationError, match="value") as info:
        MeteringValue(value, "bytes")
    assert isinstance(info.value, ValueError)
    assert info.value.field == "value"


def test_metering_value_refuses_non_string_unit() -> None:
    with pytest.raises(ValueError, match="unit"):
        MeteringValue(1, 5)  # type: ignore[arg-type]


def test_meta_type_is_a_str_enum() -> None:
    assert isinstance(MetaType.LOGIC, str)
    assert MetaType.LOGIC == "logic"  # type: ignore[comparison-overlap]
    assert MetaType.SHAREDPOOL == "sharedpool"  # type: ignore[comparison-overlap]
    assert MetaType("logic") is MetaType.LOGIC
    assert {t.value for t in MetaType} == {"logic", "sharedpool"}


def test_defaults_and_constructor_order() -> None:
    data = MeteringData(1755850380, "tidb", "s1")
    assert data.shared_pool_id == "" and data.data == []
    assert MeteringData(60, "c", "s").data is not data.data  # no shared default
    meta = MetaData("c1", MetaType.LOGIC, 1755850000)
    assert (meta.metadata, meta.category) == ({}, "")
    info = MeteringFileInfo("p", 60, "c", "pool", "s", 3)
    assert (info.part, info.self_id) == (3, "s")
    assert TimestampFiles(60).files == {}


def _keys(raw: bytes) -> list[str]:
    pairs = json.loads(raw, object_pairs_hook=lambda p: p)
    return [k for k, _ in pairs]


def test_metering_wire_field_order_is_go_order() -> None:
    data = MeteringData(
        timestamp=1755850380,
        category="tidb",
        self_id="s1",
        shared_pool_id="pool",
        data=[{"z": 1, "a": MeteringValue(5, "u")}],
    )
    (raw,) = encode_metering_pages(data, 0)
    assert _keys(raw) == [
        "timestamp",
        "category",
        "self_id",
        "shared_pool_id",
        "part",
        "data",
    ]
    entry = json.loads(raw, object_pairs_hook=lambda p: p)[-1][1][0]
    # map keys sorted as Go does; MeteringValue fields in declaration order
    assert [k for k, _ in entry] == ["a", "z"]
    assert [k for k, _ in entry[0][1]] == ["value", "unit"]


def test_meta_wire_field_order_and_omitted_category() -> None:
    meta = MetaData("c1", MetaType.SHAREDPOOL, 1755850000, {"b": 1, "a": 2})
    raw = encode_meta(meta)
    assert _keys(raw) == ["cluster_id", "type", "modify_ts", "metadata"]
    assert list(json.loads(raw)["metadata"]) == ["a", "b"]
    with_cat = encode_meta(msgspec.structs.replace(meta, category="tidb"))
    assert _keys(with_cat) == [
        "cluster_id",
        "type",
        "category",
        "modify_ts",
        "metadata",
    ]


@settings(max_examples=50, deadline=None)
@given(st.integers(min_value=-(2**66), max_value=2**66))
def test_metering_value_range_property(value: int) -> None:
    if 0 <= value < 2**64:
        assert MeteringValue(value, "u").value == value
    else:
        with pytest.raises(ValueError, match="value"):
            MeteringValue(value, "u")
