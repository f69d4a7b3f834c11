"""MetaReader: newest modify_ts <= timestamp, typed and legacy layouts, caches."""

from __future__ import annotations

import gzip
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fsspec.implementations.memory import MemoryFileSystem

from metering_fsspec import (
    CacheConfig,
    MetaData,
    MetaReader,
    MetaType,
    MetaWriter,
    MeteringFileNotFoundError,
    open_storage,
)

LOGIC, POOL = MetaType.LOGIC, MetaType.SHAREDPOOL


def _write(storage: Any, kind: MetaType, ts: int, category: str = "", **md: Any) -> str:
    meta = MetaData("c1", kind, ts, {"kind": kind.value, "ts": ts, **md}, category)
    return MetaWriter(storage).write(meta)


def _legacy(storage: Any, ts: int, category: str = "", typed: str | None = None) -> str:
    """A file in the legacy untyped layout, as older Go versions wrote it."""
    folder = f"metering/meta/{category}/c1" if category else "metering/meta/c1"
    path = f"{folder}/{ts}.json.gz"
    doc: dict[str, Any] = {"cluster_id": "c1", "modify_ts": ts}
    if typed:
        doc["type"] = typed
    doc["metadata"] = {"kind": "legacy", "ts": ts}
    open_storage(storage).pipe_file(path, gzip.compress(json.dumps(doc).encode()))
    return path


def test_read_by_type_newest_not_after_timestamp(storage_uri: str) -> None:
    for ts in (1000, 2000, 3000):
        _write(storage_uri, LOGIC, ts)
    _write(storage_uri, POOL, 2500)
    reader = MetaReader(storage_uri)
    assert reader.read_by_type("c1", LOGIC, 2999).modify_ts == 2000
    assert reader.read_by_type("c1", "logic", 3000).metadata["ts"] == 3000
    assert reader.read_by_type("c1", LOGIC, 10**10).modify_ts == 3000
    got = reader.read_by_type("c1", POOL, 2600)
    assert (got.type, got.modify_ts, got.category) == (POOL, 2500, "")
    with pytest.raises(MeteringFileNotFoundError) as info:
        reader.read_by_type("c1", LOGIC, 999)
    assert isinstance(info.value, FileNotFoundError)
    assert "metering/meta/logic/c1" in str(info.value)
    with pytest.raises(FileNotFoundError):
        reader.read_by_type("c2", LOGIC, 5000)
    with pytest.raises(FileNotFoundError):
        reader.read_by_type("c1", POOL, 2400)


def test_read_by_type_with_and_without_category(storage_uri: str) -> None:
    _write(storage_uri, LOGIC, 1000)
    _write(storage_uri, LOGIC, 2000, "tidb")
    reader = MetaReader(storage_uri)
    plain = reader.read_by_type("c1", LOGIC, 5000)
    tidb = reader.read_by_type("c1", LOGIC, 5000, category="tidb")
    assert (plain.modify_ts, plain.category) == (1000, "")
    assert (tidb.modify_ts, tidb.category, tidb.cluster_id) == (2000, "tidb", "c1")
    with pytest.raises(FileNotFoundError):
        reader.read_by_type("c1", LOGIC, 5000, category="tikv")
    with pytest.raises(ValueError, match="type"):
        reader.read_by_type("c1", "bogus", 5000)
    with pytest.raises(ValueError, match="cluster_id"):
        reader.read_by_type("../c1", LOGIC, 5000)


def test_result_identity_comes_from_request_and_file_name() -> None:
    storage = "memory://ids"
    body = {"cluster_id": "other", "type": "sharedpool", "modify_ts": 1, "metadata": {}}
    path = "metering/meta/logic/tidb/c1/5000.json.gz"
    open_storage(storage).pipe_file(path, gzip.compress(json.dumps(body).encode()))
    got = MetaReader(storage).read_by_type("c1", LOGIC, 6000, category="tidb")
    assert (got.cluster_id, got.type, got.category, got.modify_ts) == (
        "c1",
        LOGIC,
        "tidb",
        5000,
    )


def test_read_over_legacy_and_typed_layouts(storage_uri: str) -> None:
    reader = MetaReader(storage_uri)
    _legacy(storage_uri, 1000)
    only_legacy = reader.read("c1", 1500)
    assert (only_legacy.modify_ts, only_legacy.type) == (1000, None)
    assert only_legacy.metadata["kind"] == "legacy"

    _write(storage_uri, POOL, 2000)
    _legacy(storage_uri, 3000)
    assert reader.read("c1", 2500).metadata["kind"] == "sharedpool"
    assert reader.read("c1", 3500).metadata["kind"] == "legacy"  # newer wins

    # equal modify_ts: typed beats legacy, logic beats sharedpool
    _write(storage_uri, POOL, 4000)
    _legacy(storage_uri, 4000)
    assert reader.read("c1", 4000).type == POOL
    _write(storage_uri, LOGIC, 4000)
    got = reader.read("c1", 4000)
    assert (got.type, got.modify_ts, got.metadata["kind"]) == (LOGIC, 4000, "logic")

    with pytest.raises(MeteringFileNotFoundError):
        reader.read("c1", 999)
    with pytest.raises(FileNotFoundError):
        reader.read("c9", 5000)


def test_read_legacy_file_with_type_field() -> None:
    storage = "memory://legacy-typed"
    _legacy(storage, 1000, typed="sharedpool")
    assert MetaReader(storage).read("c1", 1000).type == POOL


def test_read_with_category(storage_uri: str) -> None:
    _legacy(storage_uri, 1000, category="tidb")
    _write(storage_uri, LOGIC, 500, "tidb")
    _write(storage_uri, LOGIC, 3000)  # no category: not a candidate
    reader = MetaReader(storage_uri)
    got = reader.read("c1", 2000, category="tidb")
    assert (got.modify_ts, got.category, got.metadata["kind"]) == (
        1000,
        "tidb",
        "legacy",
    )
    _write(storage_uri, POOL, 1000, "tidb")
    assert reader.read("c1", 2000, category="tidb").type == POOL
    with pytest.raises(FileNotFoundError):
        reader.read("c1", 2000, category="tikv")


def test_read_counts_only_files_directly_in_the_cluster_folder() -> None:
    storage = "memory://direct"
    fs = open_storage(storage)
    _legacy(storage, 1000)
    blob = fs.cat_file("metering/meta/c1/1000.json.gz")
    fs.pipe_file("metering/meta/c1/nested/9000.json.gz", blob)  # cluster "nested"
    fs.pipe_file("metering/meta/c1/9000.json", blob)  # not a meta file name
    fs.pipe_file("metering/meta/logic/c1/x/8000.json.gz", blob)
    assert MetaReader(storage).read("c1", 10**10).modify_ts == 1000


def test_read_file_list_and_close(storage_uri: str) -> None:
    a = _write(storage_uri, LOGIC, 1000)
    b = _write(storage_uri, POOL, 1000, "tidb")
    with MetaReader(storage_uri) as reader:
        assert reader.list() == sorted([a, b])
        assert reader.list("metering/meta/sharedpool/") == [b]
        meta = reader.read_file(b)
        assert (meta.type, meta.category, meta.modify_ts) == (POOL, "tidb", 1000)
        with pytest.raises(FileNotFoundError):
            reader.read_file("metering/meta/logic/c1/1.json.gz")
    reader.close()


# -- caching ---------------------------------------------------------------------


class CountingFS(MemoryFileSystem):  # type: ignore[misc]
    """A memory filesystem that counts every storage request."""

    cachable = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.requests = 0

    def ls(self, *args: Any, **kwargs: Any) -> Any:
        self.requests += 1
        return super().ls(*args, **kwargs)

    def cat_file(self, *args: Any, **kwargs: Any) -> Any:
        self.requests += 1
        return super().cat_file(*args, **kwargs)

    def info(self, *args: Any, **kwargs: Any) -> Any:
        self.requests += 1
        return super().info(*args, **kwargs)

    def _open(self, *args: Any, **kwargs: Any) -> Any:
        self.requests += 1
        return super()._open(*args, **kwargs)

    def find(self, *args: Any, **kwargs: Any) -> Any:
        self.requests += 1
        return super().find(*args, **kwargs)


def _counting_storage() -> CountingFS:
    fs = CountingFS()
    _legacy(fs, 500)
    for ts in (1000, 2000):
        _write(fs, LOGIC, ts)
        _write(fs, POOL, ts, "tidb")
    fs.requests = 0
    return fs


def test_counting_filesystem_sees_requests_without_cache() -> None:
    fs = _counting_storage()
    reader = MetaReader(fs)
    reader.read_by_type("c1", LOGIC, 1500)
    first = fs.requests
    assert first > 0
    reader.read_by_type("c1", LOGIC, 1500)
    assert fs.requests == 2 * first


@pytest.mark.parametrize("kind", ["memory", "disk"])
def test_cache_hit_makes_no_storage_request(kind: str, tmp_path: Path) -> None:
    fs = _counting_storage()
    cache = CacheConfig(type=kind, max_size=1 << 20, disk_path=str(tmp_path / "c"))  # type: ignore[arg-type]
    reader = MetaReader(fs, cache=cache)
    calls: list[Callable[[], MetaData]] = [
        lambda: reader.read_by_type("c1", LOGIC, 1500),
        lambda: reader.read_by_type("c1", "sharedpool", 2500, category="tidb"),
        lambda: reader.read("c1", 1999),
        lambda: reader.read("c1", 700),
    ]
    answers = []
    for call in calls:
        before = fs.requests
        answers.append(call())
        assert fs.requests > before  # a miss reads storage
    fs.requests = 0
    assert [call() for call in calls] == answers
    assert fs.requests == 0
    assert answers[0].modify_ts == 1000 and answers[1].category == "tidb"
    assert answers[3].type is None and answers[3].modify_ts == 500
    # documented staleness: a later file is not seen while the answer is cached
    _write(fs, LOGIC, 1400)
    assert reader.read_by_type("c1", LOGIC, 1500).modify_ts == 1000
    reader.close()


def test_disk_cache_folder_is_removed_by_close(tmp_path: Path) -> None:
    fs = _counting_storage()
    cache = CacheConfig(type="disk", max_size=1 << 20, disk_path=str(tmp_path))
    reader = MetaReader(fs, cache=cache)
    reader.read("c1", 2000)
    folder = reader.cache.folder  # type: ignore[union-attr]
    assert os.path.dirname(folder) == str(tmp_path)
    assert os.listdir(folder)  # the answer is on disk
    reader.close()
    assert not os.path.exists(folder)
    reader.close()


def test_reader_cache_evicts_idle_items_with_its_clock() -> None:
    fs = _counting_storage()
    reader = MetaReader(
        fs, cache=CacheConfig(type="memory", max_size=1 << 20, eviction_time=10.0)
    )
    now = [0.0]
    assert reader.cache is not None
    reader.cache.clock = lambda: now[0]
    reader.read_by_type("c1", LOGIC, 1500)
    fs.requests = 0
    now[0] = 9.0
    reader.read_by_type("c1", LOGIC, 1500)
    assert fs.requests == 0
    now[0] = 19.5  # idle for 10.5 s since the last use
    reader.read_by_type("c1", LOGIC, 1500)
    assert fs.requests > 0


def test_reader_cache_evicts_least_recently_used_past_max_size() -> None:
    fs = _counting_storage()
    probe = MetaReader(fs, cache=CacheConfig(type="memory", max_size=1 << 20))
    probe.read_by_type("c1", LOGIC, 1500)
    assert probe.cache is not None
    one = probe.cache.size
    # room for two answers, not three
    reader = MetaReader(fs, cache=CacheConfig(type="memory", max_size=2 * one + 1))
    reader.read_by_type("c1", LOGIC, 1500)  # a
    reader.read_by_type("c1", LOGIC, 1600)  # b
    reader.read_by_type("c1", LOGIC, 1500)  # a used again: b is now the oldest
    reader.read_by_type("c1", LOGIC, 1700)  # c evicts b
    fs.requests = 0
    reader.read_by_type("c1", LOGIC, 1500)
    reader.read_by_type("c1", LOGIC, 1700)
    assert fs.requests == 0
    reader.read_by_type("c1", LOGIC, 1600)
    assert fs.requests > 0
