"""Storage faults on every backend: transient errors are retried, lost answers
are not mistaken for conflicts, and a write that dies leaves no visible file.
"""

from __future__ import annotations

import os
from typing import Any

import attrs
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
    RetriesExhaustedError,
    RetryPolicy,
    ValidationError,
    localfs,
    open_storage,
)
from tests.faulty import (
    Fault,
    FaultyFileSystem,
    connection_reset,
    internal_error,
    io_error,
    permission_denied,
    service_unavailable,
    timeout,
)

TS = 1_700_000_040
FAST = Config(retry=RetryPolicy(initial_delay=0.0005, max_delay=0.002))


def doc(self_id: str = "c1", value: int = 7) -> MeteringData:
    return MeteringData(
        timestamp=TS,
        category="tidb",
        self_id=self_id,
        shared_pool_id="pool",
        data=[{"ru": {"value": value, "unit": "RU"}}],
    )


def visible(fs: Any) -> list[str]:
    """What a reader sees in the minute written by these tests."""
    files = MeteringReader(fs, FAST).list_files_by_timestamp(TS).files
    return [path for paths in files.values() for path in paths]


def everything(storage_uri: str) -> list[str]:
    """Every object under the root, hidden files included."""
    fs = open_storage(storage_uri)
    fs.invalidate_cache()
    try:
        return sorted(fs.find(""))
    except FileNotFoundError:
        return []


@pytest.mark.parametrize(
    "error", [service_unavailable, internal_error, timeout, connection_reset]
)
def test_transient_write_errors_are_retried(storage_uri: str, error: Any) -> None:
    fs = FaultyFileSystem(
        open_storage(storage_uri), [Fault("pipe_file", times=3, error=error)]
    )
    [path] = MeteringWriter(fs, FAST).write(doc())
    assert fs.calls["pipe_file"] == 4
    assert fs.stored[path] == 1
    assert MeteringReader(fs, FAST).read_file(path) == doc()


def test_write_that_landed_but_lost_its_answer_succeeds(storage_uri: str) -> None:
    """The first attempt stored the file, then failed: the exclusive retry
    finds our own bytes and reports success, not FileExistsError."""
    fs = FaultyFileSystem(
        open_storage(storage_uri), [Fault("pipe_file", mode="after", times=2)]
    )
    [path] = MeteringWriter(fs, FAST).write(doc())
    assert fs.stored[path] == 1  # stored once; later attempts found it there
    assert fs.calls["pipe_file"] == 2
    assert visible(fs) == [path]
    assert MeteringReader(fs, FAST).read_file(path) == doc()


def test_conflict_after_a_transient_failure_is_still_a_conflict(
    storage_uri: str,
) -> None:
    """Another writer's different file at our path is never taken for ours."""
    inner = open_storage(storage_uri)
    other = MeteringWriter(inner).prepare(doc(value=999))

    def rival_then_timeout(path: str) -> BaseException:
        MeteringWriter(inner).write(doc(value=999))  # the rival wins meanwhile
        return timeout(path)

    fs = FaultyFileSystem(inner, [Fault("pipe_file", error=rival_then_timeout)])
    with pytest.raises(MeteringFileExistsError, match="c1-0.json.gz"):
        MeteringWriter(fs, FAST).write(doc())
    assert MeteringReader(inner).read_file(other[1][0]) == doc(value=999)


def test_torn_write_is_never_visible_and_the_retry_completes(
    storage_uri: str,
) -> None:
    fs = FaultyFileSystem(
        open_storage(storage_uri),
        [Fault("pipe_file", mode="torn", error=connection_reset)],
    )
    [path] = MeteringWriter(fs, FAST).write(doc())
    assert visible(fs) == [path]
    assert MeteringReader(fs, FAST).read_file(path) == doc()
    leftovers = [p for p in everything(storage_uri) if not p.endswith(path)]
    if storage_uri.startswith("localfs"):
        # A crashed local write leaves its hidden temporary file, nothing else.
        assert len(leftovers) == 1
        assert os.path.basename(leftovers[0]).startswith(".c1-0.json.gz.")
    else:
        assert leftovers == []


def test_write_that_keeps_failing_raises_naming_the_path(storage_uri: str) -> None:
    fs = FaultyFileSystem(
        open_storage(storage_uri),
        [Fault("pipe_file", mode="torn", times=4, error=service_unavailable)],
    )
    with pytest.raises(RetriesExhaustedError) as info:
        MeteringWriter(fs, FAST).write(doc())
    assert "metering/ru/1700000040/tidb/pool/c1-0.json.gz" in str(info.value)
    assert info.value.attempts == 4
    assert fs.calls["pipe_file"] == 4
    assert visible(fs) == []
    # Once the storage recovers, the same write goes through.
    assert MeteringWriter(fs, FAST).write(doc())


@pytest.mark.parametrize("error", [permission_denied, io_error])
def test_permanent_write_errors_fail_at_once(storage_uri: str, error: Any) -> None:
    fs = FaultyFileSystem(
        open_storage(storage_uri), [Fault("pipe_file", times=10, error=error)]
    )
    with pytest.raises(OSError) as info:
        MeteringWriter(fs, FAST).write(doc())
    assert type(info.value) is type(error("x"))
    assert "c1-0.json.gz" in str(info.value)
    assert fs.calls["pipe_file"] == 1
    assert visible(fs) == []


def test_invalid_input_touches_no_storage() -> None:
    fs = FaultyFileSystem(open_storage("memory://faults"))
    with pytest.raises(ValidationError):
        MeteringWriter(fs, FAST).write(doc(self_id="has-dash"))
    assert sum(fs.calls.values()) == 0


def test_local_write_failing_half_way_leaves_nothing(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The real local write path: the disk fills up half-way through."""
    real_write_all = localfs._write_all

    def half_full(fd: int, data: bytes | bytearray | memoryview) -> None:
        real_write_all(fd, bytes(data)[: len(data) // 2])
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(localfs, "_write_all", half_full)
    uri = f"localfs://{tmp_path}/root"
    with pytest.raises(OSError, match="No space left"):
        MeteringWriter(uri, FAST).write(doc())
    monkeypatch.undo()
    assert [p for p in (tmp_path / "root").rglob("*") if p.is_file()] == []
    [path] = MeteringWriter(uri, FAST).write(doc())
    assert MeteringReader(uri).read_file(path) == doc()


def test_torn_object_on_a_non_atomic_backend_is_detected() -> None:
    """Where a backend could show a torn object, reading it fails loudly."""
    fs = FaultyFileSystem(
        open_storage("memory://faults"),
        [Fault("pipe_file", mode="torn", error=io_error)],
        torn_visible=True,
    )
    with pytest.raises(OSError):
        MeteringWriter(fs, FAST).write(doc())
    [path] = visible(fs)
    with pytest.raises(CorruptFileError, match="c1-0.json.gz"):
        MeteringReader(fs, FAST).read_file(path)


# -- reads and listings -----------------------------------------------------------


def test_transient_read_and_list_errors_are_retried(storage_uri: str) -> None:
    inner = open_storage(storage_uri)
    writer = MeteringWriter(inner)
    paths = [writer.write(doc(f"c{i}", i))[0] for i in range(6)]
    fs = FaultyFileSystem(
        inner,
        [
            Fault("find", times=2, error=timeout),
            Fault("ls", times=1, error=connection_reset),
            Fault("cat_file", nth=2, times=5, error=service_unavailable),
        ],
    )
    # Concurrent fetches share the 5 faults; enough attempts for any split.
    reader = MeteringReader(fs, Config(retry=attrs.evolve(FAST.retry, attempts=8)))
    assert reader.read_files(paths) == [doc(f"c{i}", i) for i in range(6)]
    assert sorted(visible(fs)) == sorted(paths)
    found = list(reader.scan(TS, TS + 60))
    assert sorted(d.self_id for d in found) == [f"c{i}" for i in range(6)]
    assert fs.injected == {"find": 2, "ls": 1, "cat_file": 5}


def test_reads_that_keep_failing_are_reported_per_file(storage_uri: str) -> None:
    inner = open_storage(storage_uri)
    writer = MeteringWriter(inner)
    paths = [writer.write(doc(f"c{i}", i))[0] for i in range(4)]
    fs = FaultyFileSystem(
        inner,
        [
            Fault("cat_file", times=100, error=timeout, match="c1-"),
            Fault("cat_file", times=100, error=permission_denied, match="c2-"),
        ],
    )
    with pytest.raises(PartialReadError) as info:
        MeteringReader(fs, FAST).read_files(paths)
    err = info.value
    assert set(err.errors) == {paths[1], paths[2]}
    assert isinstance(err.errors[paths[1]], RetriesExhaustedError)
    assert isinstance(err.errors[paths[2]], PermissionError)
    assert err.results == [doc("c0", 0), None, None, doc("c3", 3)]


def test_meta_writes_and_reads_are_retried(storage_uri: str) -> None:
    meta = MetaData(
        cluster_id="cluster-1",
        type=MetaType.LOGIC,
        modify_ts=1_700_000_000,
        metadata={"owner": "x"},
    )
    fs = FaultyFileSystem(
        open_storage(storage_uri),
        [
            Fault("pipe_file", mode="after", error=internal_error),
            Fault("ls", times=2, error=timeout),
            Fault("cat_file", times=2, error=connection_reset),
        ],
    )
    path = MetaWriter(fs, FAST).write(meta)
    assert fs.stored[path] == 1
    assert (
        MetaReader(fs, FAST).read_by_type("cluster-1", "logic", 1_700_000_100) == meta
    )
    assert fs.faults_injected == 5
