"""The storage layout: building and parsing paths, segment validation."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from metering_fsspec import InvalidPathError, MetaType, ValidationError
from metering_fsspec.layout import (
    check_segment,
    meta_dir,
    meta_path,
    metering_path,
    parse_meta_path,
    parse_metering_path,
)

BAD_SEGMENTS = [
    "",
    ".",
    "..",
    "../x",
    "a/b",
    "a\\b",
    "x\x00y",
    "tab\t",
    "del\x7f",
    "a?b",
    "c#1",
]


def test_metering_path_is_the_go_layout() -> None:
    path = metering_path(1755850380, "tidb", "pool-a", "tidbserver01", 12)
    assert path == "metering/ru/1755850380/tidb/pool-a/tidbserver01-12.json.gz"
    info = parse_metering_path(path)
    assert (info.timestamp, info.category, info.shared_pool_id) == (
        1755850380,
        "tidb",
        "pool-a",
    )
    assert (info.self_id, info.part, info.path) == ("tidbserver01", 12, path)


def test_meta_paths_typed_with_and_without_category() -> None:
    assert (
        meta_path("c1", MetaType.LOGIC, 1755850000)
        == "metering/meta/logic/c1/1755850000.json.gz"
    )
    assert (
        meta_path("c1", "sharedpool", 1755850000, "tidb")  # type: ignore[arg-type]
        == "metering/meta/sharedpool/tidb/c1/1755850000.json.gz"
    )
    assert meta_dir("c1", None) == "metering/meta/c1"
    assert meta_dir("c1", None, "tidb") == "metering/meta/tidb/c1"


@pytest.mark.parametrize(
    ("path", "kind", "category", "cluster"),
    [
        ("metering/meta/logic/c1/5.json.gz", MetaType.LOGIC, "", "c1"),
        (
            "metering/meta/sharedpool/tidb/c1/5.json.gz",
            MetaType.SHAREDPOOL,
            "tidb",
            "c1",
        ),
        ("metering/meta/c1/5.json.gz", None, "", "c1"),
        ("metering/meta/tidb/c1/5.json.gz", None, "tidb", "c1"),
    ],
)
def test_parse_meta_path_all_layouts(
    path: str, kind: MetaType | None, category: str, cluster: str
) -> None:
    info = parse_meta_path(path)
    assert (info.type, info.category, info.cluster_id, info.modify_ts) == (
        kind,
        category,
        cluster,
        5,
    )


@pytest.mark.parametrize(
    "path",
    [
        "metering/ru/1755850380/tidb/pool/s1.json.gz",  # no part
        "metering/ru/1755850380/tidb/pool/s-1-0.json.gz",  # dash in self_id
        "metering/ru/1755850380/tidb/pool/s1-x.json.gz",
        "metering/ru/1755850380/tidb/pool/s1-0.json",
        "metering/ru/abc/tidb/pool/s1-0.json.gz",
        "metering/ru/0/tidb/pool/s1-0.json.gz",
        "metering/ru/1755850380/tidb/s1-0.json.gz",  # missing pool folder
        "other/ru/1755850380/tidb/pool/s1-0.json.gz",
        "metering/ru/1755850380/tidb/pool/-0.json.gz",
    ],
)
def test_parse_metering_path_refuses_paths_outside_layout(path: str) -> None:
    with pytest.raises(InvalidPathError) as info:
        parse_metering_path(path)
    assert isinstance(info.value, ValueError)
    assert path in str(info.value)


@pytest.mark.parametrize(
    "path",
    [
        "metering/meta/x.json.gz",
        "metering/meta/c1/abc.json.gz",
        "metering/ru/c/1.json.gz",
    ],
)
def test_parse_meta_path_refuses_bad_paths(path: str) -> None:
    with pytest.raises(ValueError, match="path"):
        parse_meta_path(path)


@pytest.mark.parametrize("value", BAD_SEGMENTS)
@pytest.mark.parametrize("field", ["category", "shared_pool_id", "self_id"])
def test_metering_path_refuses_unsafe_segments(field: str, value: str) -> None:
    args: dict[str, Any] = {
        "timestamp": 60,
        "category": "c",
        "shared_pool_id": "p",
        "self_id": "s",
        "part": 0,
    }
    args[field] = value
    with pytest.raises(ValidationError) as info:
        metering_path(**args)
    assert info.value.field == field
    assert field in str(info.value)


@pytest.mark.parametrize("value", BAD_SEGMENTS)
def test_meta_path_refuses_unsafe_cluster_and_category(value: str) -> None:
    with pytest.raises(ValidationError, match="cluster_id"):
        meta_path(value, MetaType.LOGIC, 5)
    if value:  # an empty category means "no category"
        with pytest.raises(ValidationError, match="category"):
            meta_path("c1", MetaType.LOGIC, 5, value)


def test_meta_path_refuses_bad_type_and_modify_ts() -> None:
    with pytest.raises(ValidationError, match="type"):
        meta_path("c1", "bogus", 5)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="modify_ts"):
        meta_path("c1", MetaType.LOGIC, 0)


def _safe(value: str) -> bool:
    return (
        value not in ("", ".", "..")
        and "/" not in value
        and "\\" not in value
        and "?" not in value
        and "#" not in value
        and not any(ord(c) < 0x20 or ord(c) == 0x7F for c in value)
    )


@settings(max_examples=50, deadline=None)
@given(
    st.text(alphabet=st.sampled_from(list("ab.-_/\\\x00\x1f\x7f?#é日 ")), max_size=6)
)
def test_segment_validation_property(value: str) -> None:
    if _safe(value):
        assert check_segment("category", value) == value
    else:
        with pytest.raises(ValidationError, match="category"):
            check_segment("category", value)
