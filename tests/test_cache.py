"""The memory and disk caches: LRU by size, idle eviction (fake clock), cleanup."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import attrs
import pytest

from metering_fsspec import CacheConfig
from metering_fsspec.cache import DiskCache, MemoryCache, make_cache


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


CacheFactory = Callable[..., MemoryCache]


@pytest.fixture(params=["memory", "disk"])
def new_cache(request: pytest.FixtureRequest, tmp_path: Path) -> CacheFactory:
    def make(max_size: int, eviction_time: float = 0.0, clock: FakeClock | None = None):  # type: ignore[no-untyped-def]
        clock = clock or FakeClock()
        if request.param == "memory":
            return MemoryCache(max_size, eviction_time, clock=clock)
        return DiskCache(max_size, eviction_time, str(tmp_path / "c"), clock=clock)

    return make


def test_get_put(new_cache: CacheFactory) -> None:
    cache = new_cache(100)
    assert cache.get("a") is None
    cache.put("a", b"12345")
    cache.put(("t", 1), b"xyz")
    assert cache.get("a") == b"12345" and cache.get(("t", 1)) == b"xyz"
    cache.put("a", b"1")  # replacing updates the size
    assert cache.get("a") == b"1" and cache.size == 4 and len(cache) == 2


def test_lru_eviction_by_size(new_cache: CacheFactory) -> None:
    cache = new_cache(10)
    cache.put("a", b"aaaa")
    cache.put("b", b"bbbb")
    assert cache.get("a") == b"aaaa"  # "b" is now least recently used
    cache.put("c", b"cccc")
    assert cache.get("b") is None
    assert cache.get("a") == b"aaaa" and cache.get("c") == b"cccc"
    assert cache.size <= 10
    cache.put("big", b"x" * 11)  # larger than the whole cache: not kept
    assert cache.get("big") is None and cache.get("a") == b"aaaa"


def test_idle_items_are_evicted(new_cache: CacheFactory) -> None:
    clock = FakeClock()
    cache = new_cache(100, eviction_time=5.0, clock=clock)
    cache.put("a", b"a")
    cache.put("b", b"b")
    clock.now = 4.0
    assert cache.get("a") == b"a"  # use refreshes "a"
    clock.now = 8.0
    assert cache.get("b") is None  # idle 8 s
    assert cache.get("a") == b"a"  # idle 4 s
    clock.now = 20.0
    cache.put("c", b"c")  # idle items go on put as well
    assert len(cache) == 1 and cache.size == 1


def test_idle_items_go_even_when_there_is_room(new_cache: CacheFactory) -> None:
    clock = FakeClock()
    cache = new_cache(100, eviction_time=5.0, clock=clock)
    cache.put("old", b"o")
    clock.now = 3.0
    cache.put("x", b"x")
    cache.put("y", b"y")
    clock.now = 6.0  # "old" idle 6 s, "x" and "y" 3 s
    cache.put("z", b"z")
    assert cache.size == 3 and len(cache) == 3
    assert [cache.get(k) for k in ("old", "x", "y", "z")] == [None, b"x", b"y", b"z"]


def test_disk_cache_keeps_values_in_files_and_close_removes_them(
    tmp_path: Path,
) -> None:
    cache = DiskCache(100, disk_path=str(tmp_path / "d"))
    cache.put("k", b"value")
    assert os.path.dirname(cache.folder) == str(tmp_path / "d")
    files = os.listdir(cache.folder)
    assert len(files) == 1
    assert (Path(cache.folder) / files[0]).read_bytes() == b"value"
    cache.close()
    assert not os.path.exists(cache.folder)
    assert cache.get("k") is None


def test_disk_cache_survives_a_lost_file(tmp_path: Path) -> None:
    cache = DiskCache(100, disk_path=str(tmp_path))
    cache.put("k", b"v")
    for name in os.listdir(cache.folder):
        os.unlink(os.path.join(cache.folder, name))
    assert cache.get("k") is None and len(cache) == 0
    cache.close()


def test_cache_config() -> None:
    config = CacheConfig(type="memory", max_size=10)
    assert (config.disk_path, config.eviction_time) == ("", 0.0)
    assert isinstance(make_cache(config), MemoryCache)
    disk = make_cache(attrs.evolve(config, type="disk"))
    assert isinstance(disk, DiskCache)
    disk.close()
    for bad in ({"type": "redis"}, {"max_size": 0}, {"eviction_time": -1.0}):
        with pytest.raises(ValueError):
            attrs.evolve(config, **bad)
