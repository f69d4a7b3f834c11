"""MeteringReader on every backend: listing, ordering, batch reads, scan, errors."""

from __future__ import annotations

import gzip
from typing import Any

import pytest

from metering_fsspec import (
    Config,
    CorruptFileError,
    MeteringData,
    MeteringFileInfo,
    MeteringFileNotFoundError,
    MeteringReader,
    MeteringWarning,
    MeteringWriter,
    PartialReadError,
    SizeLimitError,
    TimestampFiles,
    open_storage,
)

TS = 1755850380


def _doc(
    ts: int = TS,
    category: str = "tidb",
    pool: str = "p",
    self_id: str = "s1",
    n: int = 1,
) -> MeteringData:
    return MeteringData(ts, category, self_id, pool, [{"i": i} for i in range(n)])


def _ru(ts: int, category: str, pool: str, self_id: str, part: int) -> str:
    return f"metering/ru/{ts}/{category}/{pool}/{self_id}-{part}.json.gz"


def test_list_files_by_timestamp_order(storage_uri: str) -> None:
    writer = MeteringWriter(storage_uri, Config(page_size_bytes=1))
    # 12 single-entry parts: numeric part order puts 10 and 11 last
    writer.write(_doc(pool="p2", self_id="s2", n=12))
    writer.write(_doc(pool="p1", self_id="s2", n=2))
    writer.write(_doc(pool="p1", self_id="s10", n=1))
    writer.write(_doc(pool="p1", self_id="s1", n=1))
    writer.write(_doc(category="tikv", pool="p0", self_id="s9", n=1))
    writer.write(_doc(ts=TS + 60, pool="p1", self_id="s1", n=1))
    listed = MeteringReader(storage_uri).list_files_by_timestamp(TS)
    assert isinstance(listed, TimestampFiles) and listed.timestamp == TS
    assert listed.files == {
        "tidb": [
            _ru(TS, "tidb", "p1", "s1", 0),
            _ru(TS, "tidb", "p1", "s10", 0),
            _ru(TS, "tidb", "p1", "s2", 0),
            _ru(TS, "tidb", "p1", "s2", 1),
            *[_ru(TS, "tidb", "p2", "s2", n) for n in range(12)],
        ],
        "tikv": [_ru(TS, "tikv", "p0", "s9", 0)],
    }


def test_files_outside_the_layout_are_skipped_with_a_warning(storage_uri: str) -> None:
    (good,) = MeteringWriter(storage_uri).write(_doc())
    fs = open_storage(storage_uri)
    blob = fs.cat_file(good)
    for junk in (
        f"metering/ru/{TS}/tidb/p/bad-name-0.json.gz",  # dash in self_id
        f"metering/ru/{TS}/tidb/p/s1-x.json.gz",
        f"metering/ru/{TS}/tidb/p/notes.txt",
        f"metering/ru/{TS}/tidb/stray-0.json.gz",  # not inside a pool folder
    ):
        fs.pipe_file(junk, blob)
    reader = MeteringReader(storage_uri)
    with pytest.warns(MeteringWarning) as record:
        listed = reader.list_files_by_timestamp(TS)
    assert listed.files == {"tidb": [good]}
    messages = " ".join(str(w.message) for w in record)
    for name in ("bad-name-0", "s1-x", "notes.txt", "stray-0"):
        assert name in messages


def test_categories_and_files_by_category(storage_uri: str) -> None:
    writer = MeteringWriter(storage_uri)
    for category in ("tikv", "tidb", "tiflash"):
        writer.write(_doc(category=category))
    reader = MeteringReader(storage_uri)
    assert reader.get_categories(TS) == ["tidb", "tiflash", "tikv"]
    assert reader.get_files_by_category(TS, "tikv") == [_ru(TS, "tikv", "p", "s1", 0)]
    assert reader.get_files_by_category(TS, "absent") == []
    assert reader.get_categories(TS + 60) == []
    assert reader.list_files_by_timestamp(TS + 60).files == {}
    with pytest.raises(ValueError, match="category"):
        reader.get_files_by_category(TS, "../x")


def test_get_file_info() -> None:
    reader = MeteringReader("memory://r")
    path = _ru(TS, "tidb", "pool-a", "tidbserver01", 7)
    assert reader.get_file_info(path) == MeteringFileInfo(
        path, TS, "tidb", "pool-a", "tidbserver01", 7
    )
    for bad in ("metering/ru/x/tidb/p/s-0.json.gz", "a/b", _ru(TS, "t", "p", "a-b", 0)):
        with pytest.raises(ValueError, match="path"):
            reader.get_file_info(bad)


def test_read_files_order_and_partial_failure(storage_uri: str) -> None:
    writer = MeteringWriter(storage_uri)
    paths = [writer.write(_doc(self_id=f"s{i}", n=i))[0] for i in range(1, 6)]
    reader = MeteringReader(storage_uri)
    order = [paths[3], paths[0], paths[4], paths[0], paths[2]]
    assert [len(d.data) for d in reader.read_files(order)] == [4, 1, 5, 1, 3]
    assert reader.read_files([]) == []

    fs = open_storage(storage_uri)
    corrupt = _ru(TS, "tidb", "p", "s9", 0)
    fs.pipe_file(corrupt, b"not gzip at all")
    missing = _ru(TS, "tidb", "p", "s8", 0)
    with pytest.raises(PartialReadError) as info:
        reader.read_files([paths[1], missing, paths[2], corrupt])
    err = info.value
    assert [None if r is None else len(r.data) for r in err.results] == [
        2,
        None,
        3,
        None,
    ]
    assert set(err.errors) == {missing, corrupt}
    assert isinstance(err.errors[missing], FileNotFoundError)
    assert isinstance(err.errors[corrupt], CorruptFileError)
    assert missing in str(err) and corrupt in str(err)


def test_list_with_prefix(storage_uri: str) -> None:
    reader = MeteringReader(storage_uri)
    assert reader.list() == []
    writer = MeteringWriter(storage_uri)
    a = writer.write(_doc(category="tidb"))[0]
    b = writer.write(_doc(category="tikv"))[0]
    c = writer.write(_doc(ts=TS + 60))[0]
    assert reader.list() == sorted([a, b, c])
    assert reader.list(f"metering/ru/{TS}/") == sorted([a, b])
    assert reader.list(f"metering/ru/{TS}/tikv") == [b]
    assert reader.list("metering/ru/175585044") == [c]
    assert reader.list("metering/meta/") == []


def test_scan_with_filters(storage_uri: str) -> None:
    writer = MeteringWriter(storage_uri)
    for k in range(4):
        ts = TS + 60 * k
        writer.write(_doc(ts=ts, category="tidb", pool="p1", self_id="s1"))
        writer.write(_doc(ts=ts, category="tikv", pool="p2", self_id="s2"))
    reader = MeteringReader(storage_uri)

    def keys(**kw: Any) -> list[tuple[int, str]]:
        return [(d.timestamp, d.category) for d in reader.scan(**kw)]

    assert keys(start=TS + 60, end=TS + 180) == [
        (TS + 60, "tidb"),
        (TS + 60, "tikv"),
        (TS + 120, "tidb"),
        (TS + 120, "tikv"),
    ]
    assert keys(start=TS, end=TS + 240, category="tikv") == [
        (TS + 60 * k, "tikv") for k in range(4)
    ]
    assert keys(start=TS, end=TS + 120, shared_pool_id="p1") == [
        (TS, "tidb"),
        (TS + 60, "tidb"),
    ]
    assert keys(start=TS, end=TS + 60, self_id="s2") == [(TS, "tikv")]
    assert keys(start=TS, end=TS) == []
    assert keys(start=TS + 240, end=TS + 6000) == []


# -- errors ----------------------------------------------------------------------


def test_corrupt_file_names_the_path(storage_uri: str) -> None:
    fs = open_storage(storage_uri)
    path = _ru(TS, "tidb", "p", "s1", 0)
    reader = MeteringReader(storage_uri)
    for blob in (b"plain text", gzip.compress(b"{not json"), gzip.compress(b"[1,2]")):
        fs.pipe_file(path, blob)
        with pytest.raises(CorruptFileError) as info:
            reader.read_file(path)
        assert isinstance(info.value, ValueError)
        assert path in str(info.value)


def test_missing_file_is_file_not_found(storage_uri: str) -> None:
    path = _ru(TS, "tidb", "p", "s1", 0)
    with pytest.raises(MeteringFileNotFoundError, match=path) as info:
        MeteringReader(storage_uri).read_file(path)
    assert isinstance(info.value, FileNotFoundError)


def test_decompression_limit(storage_uri: str) -> None:
    (path,) = MeteringWriter(storage_uri).write(_doc(n=500))
    size = len(gzip.decompress(open_storage(storage_uri).cat_file(path)))
    assert MeteringReader(storage_uri, Config(max_decompressed_bytes=size)).read_file(
        path
    )
    small = MeteringReader(storage_uri, Config(max_decompressed_bytes=size - 1))
    with pytest.raises(SizeLimitError, match=path):
        small.read_file(path)
    with pytest.raises(PartialReadError) as info:
        small.read_files([path, path])
    assert all(isinstance(e, SizeLimitError) for e in info.value.errors.values())
