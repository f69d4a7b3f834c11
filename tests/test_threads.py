"""Writers and readers shared between threads."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from metering_fsspec import (
    CacheConfig,
    Config,
    MetaData,
    MetaReader,
    MetaType,
    MetaWriter,
    MeteringData,
    MeteringReader,
    MeteringWriter,
)

TS = 1755850380
THREADS = 6
PER_THREAD = 3


def _run(task: Callable[[int], Any]) -> list[Any]:
    barrier = threading.Barrier(THREADS)

    def start(index: int) -> Any:
        barrier.wait(timeout=30)
        return task(index)

    with ThreadPoolExecutor(THREADS) as pool:
        return list(pool.map(start, range(THREADS)))


def _doc(thread: int, n: int) -> MeteringData:
    entries = [{"thread": thread, "n": n, "i": i} for i in range(20 + n)]
    return MeteringData(TS + 60 * n, f"cat{thread % 3}", f"s{thread}", "p", entries)


def test_shared_writer_and_reader(storage_uri: str) -> None:
    writer = MeteringWriter(storage_uri, Config(page_size_bytes=700))
    reader = MeteringReader(storage_uri)

    def write_then_read(thread: int) -> list[str]:
        paths: list[str] = []
        for n in range(PER_THREAD):
            written = writer.write(_doc(thread, n))
            got = reader.read_files(written)
            assert [e for d in got for e in d.data] == _doc(thread, n).data
            paths += written
        return paths

    per_thread = _run(write_then_read)
    assert len({p for paths in per_thread for p in paths}) == sum(map(len, per_thread))

    def read_back(thread: int) -> None:
        for n in range(PER_THREAD):
            doc = _doc(thread, n)
            files = reader.get_files_by_category(doc.timestamp, doc.category)
            mine = [f for f in files if f"/s{thread}-" in f]
            assert [e for d in reader.read_files(mine) for e in d.data] == doc.data

    _run(read_back)


def test_shared_meta_writer_and_cached_reader(storage_uri: str) -> None:
    writer = MetaWriter(storage_uri)
    reader = MetaReader(storage_uri, cache=CacheConfig(type="memory", max_size=1 << 20))

    def task(thread: int) -> None:
        for n in range(PER_THREAD):
            kind = MetaType.LOGIC if n % 2 else MetaType.SHAREDPOOL
            meta = MetaData(f"c{thread}", kind, 1000 + n, {"thread": thread, "n": n})
            writer.write(meta)
            for _ in range(2):  # the second answer comes from the cache
                got = reader.read_by_type(f"c{thread}", kind, 1000 + n)
                assert got.metadata == {"thread": thread, "n": n}
        assert reader.read(f"c{thread}", 10**6).metadata["n"] == PER_THREAD - 1

    _run(task)
    reader.close()
