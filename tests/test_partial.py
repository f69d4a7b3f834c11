"""Partial outcomes are explicit: a paginated write that stops says which parts
are stored and resumes without rewriting them; a batch read or scan over some
corrupt files returns the good ones and names the bad ones.
"""

from __future__ import annotations

from typing import Any

import pytest

from metering_fsspec import (
    Config,
    CorruptFileError,
    MetaData,
    MetaReader,
    MetaType,
    MetaWriter,
    MeteringData,
    MeteringFileExistsError,
    MeteringReader,
    MeteringWriter,
    PartialReadError,
    PartialWriteError,
    RetriesExhaustedError,
    RetryPolicy,
    open_storage,
)
from metering_fsspec.codec import compress
from tests.faulty import Fault, FaultyFileSystem, permission_denied, timeout

TS = 1_700_000_040
FAST = RetryPolicy(initial_delay=0.0005, max_delay=0.002)
PAGED = Config(page_size_bytes=300, retry=FAST)


def big_doc(value: int = 1) -> MeteringData:
    entries = [
        {"id": f"e{i:03d}", "ru": {"value": value, "unit": "RU"}} for i in range(30)
    ]
    return MeteringData(
        timestamp=TS, category="tidb", self_id="c1", shared_pool_id="pool", data=entries
    )


def test_pagination_failing_on_page_k_then_resume(storage_uri: str) -> None:
    inner = open_storage(storage_uri)
    expected = MeteringWriter(inner, PAGED).prepare(big_doc())[1]
    assert len(expected) >= 5
    # Part 2 keeps failing past every retry; later calls succeed again.
    fs = FaultyFileSystem(
        inner, [Fault("pipe_file", match="c1-2.", times=FAST.attempts, error=timeout)]
    )
    writer = MeteringWriter(fs, PAGED)
    with pytest.raises(PartialWriteError) as info:
        writer.write(big_doc())
    err = info.value
    assert err.written == expected[:2]
    assert err.failed == expected[2]
    assert err.pending == expected[3:]
    assert isinstance(err.__cause__, RetriesExhaustedError)
    for path in (*expected[:2], expected[2]):
        assert path in str(err)
    assert dict(fs.stored) == {expected[0]: 1, expected[1]: 1}

    # Without resume the same write refuses to touch the stored parts.
    with pytest.raises(MeteringFileExistsError):
        writer.write(big_doc())

    assert writer.write(big_doc(), resume=True) == expected
    # Parts 0 and 1 were not rewritten; every other part was written once.
    assert dict(fs.stored) == dict.fromkeys(expected, 1)
    docs = MeteringReader(inner).read_files(expected)
    assert [entry for d in docs for entry in d.data] == big_doc().data


def test_resume_refuses_a_part_with_different_content(storage_uri: str) -> None:
    inner = open_storage(storage_uri)
    fs = FaultyFileSystem(inner, [Fault("pipe_file", nth=3, error=permission_denied)])
    with pytest.raises(PartialWriteError) as info:
        MeteringWriter(fs, PAGED).write(big_doc(value=1))
    assert isinstance(info.value.__cause__, PermissionError)
    assert len(info.value.written) == 2
    # Different data for the same (timestamp, category, pool, self_id).
    with pytest.raises(MeteringFileExistsError, match="c1-0.json.gz"):
        MeteringWriter(fs, PAGED).write(big_doc(value=2), resume=True)
    assert dict(fs.stored) == dict.fromkeys(info.value.written, 1)


def test_resume_of_a_complete_write_rewrites_nothing(storage_uri: str) -> None:
    fs = FaultyFileSystem(open_storage(storage_uri))
    paths = MeteringWriter(fs, PAGED).write(big_doc())
    assert MeteringWriter(fs, PAGED).write(big_doc(), resume=True) == paths
    assert dict(fs.stored) == dict.fromkeys(paths, 1)


# -- reads over corrupt files ----------------------------------------------------------


def doc(ts: int, self_id: str) -> MeteringData:
    return MeteringData(
        timestamp=ts,
        category="tidb",
        self_id=self_id,
        shared_pool_id="pool",
        data=[{"ru": {"value": ts // 60, "unit": "RU"}}],
    )


def corrupt(fs: Any, path: str, how: str) -> None:
    bodies = {
        "garbage": b"this is not gzip",
        "truncated": fs.cat_file(path)[:-9],
        "shape": compress(b'{"timestamp": "soon"}', 6),
    }
    fs.pipe_file(path, bodies[how])


def setup_minutes(storage_uri: str) -> tuple[Any, dict[str, MeteringData], set[str]]:
    fs = open_storage(storage_uri)
    writer = MeteringWriter(fs)
    written: dict[str, MeteringData] = {}
    for minute in range(3):
        for i in range(4):
            d = doc(TS + 60 * minute, f"c{i}")
            written[writer.write(d)[0]] = d
    paths = sorted(written)
    bad = {paths[1], paths[6], paths[7]}  # minute 0 and minute 1
    for path, how in zip(sorted(bad), ["garbage", "truncated", "shape"], strict=True):
        corrupt(fs, path, how)
    return fs, written, bad


def test_read_files_returns_the_good_and_names_the_bad(storage_uri: str) -> None:
    fs, written, bad = setup_minutes(storage_uri)
    paths = sorted(written)
    with pytest.raises(PartialReadError) as info:
        MeteringReader(fs).read_files(paths)
    err = info.value
    assert set(err.errors) == bad
    assert all(isinstance(e, CorruptFileError) for e in err.errors.values())
    for path, exc in err.errors.items():
        assert path in str(exc)
    assert err.results == [None if p in bad else written[p] for p in paths]
    assert str(len(bad)) in str(err)


def test_scan_raises_by_default_and_collects_on_request(storage_uri: str) -> None:
    fs, written, bad = setup_minutes(storage_uri)
    reader = MeteringReader(fs)
    with pytest.raises(PartialReadError) as info:
        list(reader.scan(TS, TS + 180))
    assert set(info.value.errors) <= bad

    errors: dict[str, BaseException] = {}
    docs = list(reader.scan(TS, TS + 180, errors=errors))
    assert set(errors) == bad
    good = [written[p] for p in sorted(written) if p not in bad]
    key = lambda d: (d.timestamp, d.self_id)  # noqa: E731
    assert sorted(docs, key=key) == sorted(good, key=key)
    assert [d.timestamp for d in docs] == sorted(d.timestamp for d in docs)


def test_meta_read_files_partial(storage_uri: str) -> None:
    fs = open_storage(storage_uri)
    writer = MetaWriter(fs)
    metas = [
        MetaData(cluster_id=f"k{i}", type=MetaType.LOGIC, modify_ts=1000 + i)
        for i in range(3)
    ]
    paths = [writer.write(m) for m in metas]
    fs.pipe_file(paths[1], b"\x1f\x8b" + b"\x00" * 20)
    with pytest.raises(PartialReadError) as info:
        MetaReader(fs).read_files(paths)
    assert list(info.value.errors) == [paths[1]]
    assert info.value.results == [metas[0], None, metas[2]]
