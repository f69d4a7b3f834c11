"""Writers on every backend: round trip, pagination, no overwrite, races,
atomic local files and refusal of bad input with nothing written."""

from __future__ import annotations

import gzip
import json
import os
import random
import threading
import time
from pathlib import Path
from typing import Any

import msgspec
import pytest
from fsspec.implementations.memory import MemoryFileSystem
from hypothesis import given, settings
from hypothesis import strategies as st

from metering_fsspec import (
    DEFAULT_SHARED_POOL_ID,
    Config,
    MetaData,
    MetaType,
    MetaWriter,
    MeteringConfig,
    MeteringData,
    MeteringFileExistsError,
    MeteringFileNotFoundError,
    MeteringReader,
    MeteringValue,
    MeteringWriter,
    ValidationError,
    open_storage,
)

TS = 1755850380
SPECIAL: dict[str, Any] = {
    "logical_cluster_id": "lc-special",
    "max": MeteringValue(2**64 - 1, "bytes"),
    "zero": MeteringValue(0, "seconds"),
    "above_2p53": 2**53 + 1,
    "negative": -42,
    "floats": [0.1, 1e21, 1.5e-07, 2.0, -0.0],
    "unicode": 'naïve 日本語 <a&b> "q" back\\slash tab\t nl\n ls\u2028 emoji😀 \x01',
    "nested": {"Z": {"a": [1, None, True, False, {"deep": "x"}]}, "a": {}},
    "nothing": None,
    "empty_list": [],
}


def _plain(value: Any) -> Any:
    """What a decoded file gives for ``value``: MeteringValue -> dict."""
    if isinstance(value, MeteringValue):
        return {"value": value.value, "unit": value.unit}
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _entries(count: int, offset: int = 0) -> list[dict[str, Any]]:
    return [
        {
            "logical_cluster_id": f"lc-{i:04d}",
            "compute_seconds": MeteringValue(i * 10, "seconds"),
            "memory_mb": MeteringValue(1024 + i, "MB"),
        }
        for i in range(offset, offset + count)
    ]


def _files(storage_uri: str, tmp_path: Path) -> list[str]:
    """Every stored file on the backend of ``storage_uri``."""
    if storage_uri.startswith("memory://"):
        return sorted(MemoryFileSystem.store)
    if storage_uri.startswith("localfs://"):
        return sorted(
            os.path.join(d, f) for d, _, files in os.walk(tmp_path) for f in files
        )
    fs = open_storage(storage_uri)
    fs.invalidate_cache()
    return sorted(fs.find(""))


def _raw(storage_uri: str, path: str) -> bytes:
    return open_storage(storage_uri).cat_file(path)  # type: ignore[no-any-return]


# -- round trip ------------------------------------------------------------------


def test_round_trip(storage_uri: str) -> None:
    data = MeteringData(
        timestamp=TS,
        category="tidb-server",
        self_id="tidbserver01",
        shared_pool_id="pool-a",
        data=[*_entries(3), SPECIAL],
    )
    paths = MeteringWriter(storage_uri).write(data)
    assert paths == [f"metering/ru/{TS}/tidb-server/pool-a/tidbserver01-0.json.gz"]
    reader = MeteringReader(storage_uri)
    assert reader.list_files_by_timestamp(TS).files == {"tidb-server": paths}
    (got,) = reader.read_files(paths)
    assert got == msgspec.structs.replace(data, data=_plain(data.data))
    assert got.data[3]["max"]["value"] == 2**64 - 1
    assert type(got.data[3]["max"]["value"]) is int
    assert got.data[3]["above_2p53"] == 2**53 + 1
    assert reader.read_file(paths[0]) == got
    # stdlib gzip + json decode the same values
    doc = json.loads(gzip.decompress(_raw(storage_uri, paths[0])))
    assert doc["data"] == _plain(data.data)
    assert doc["part"] == 0


def test_meta_round_trip(storage_uri: str) -> None:
    from metering_fsspec import MetaReader

    meta = MetaData(
        "cluster1", MetaType.LOGIC, 1755850000, {"n": SPECIAL["unicode"]}, "tidb"
    )
    path = MetaWriter(storage_uri).write(meta)
    assert path == "metering/meta/logic/tidb/cluster1/1755850000.json.gz"
    assert MetaReader(storage_uri).read_file(path) == meta


def test_empty_pool_filled_without_mutating_the_caller(storage_uri: str) -> None:
    data = MeteringData(TS, "tidb", "s1", data=_entries(2))
    before = msgspec.structs.replace(data)
    writer = MeteringWriter(storage_uri, shared_pool_id="writer-pool")
    (path,) = writer.write(data)
    assert data == before and data.shared_pool_id == ""
    assert path == f"metering/ru/{TS}/tidb/writer-pool/s1-0.json.gz"
    assert MeteringReader(storage_uri).read_file(path).shared_pool_id == "writer-pool"
    (default,) = MeteringWriter(storage_uri).write(MeteringData(TS, "tidb", "s2"))
    assert f"/{DEFAULT_SHARED_POOL_ID}/s2-0" in default


def test_data_pool_beats_writer_pool(storage_uri: str) -> None:
    writer = MeteringWriter(storage_uri, shared_pool_id="writer-pool")
    (path,) = writer.write(MeteringData(TS, "tidb", "s1", "data-pool"))
    assert "/data-pool/" in path


def test_from_config_pool(tmp_path: Path) -> None:
    plain = MeteringConfig.from_uri(f"localfs://{tmp_path}/r")
    assert MeteringWriter.from_config(plain).shared_pool_id == DEFAULT_SHARED_POOL_ID
    pooled = MeteringConfig.from_uri(f"localfs://{tmp_path}/r?shared-pool-id=pp")
    writer = MeteringWriter.from_config(pooled, Config(overwrite_existing=True))
    assert writer.config.overwrite_existing
    (path,) = writer.write(MeteringData(TS, "tidb", "s1"))
    assert (tmp_path / "r" / path).is_file() and "/pp/" in path


def test_closed_writer_refuses_writes(storage_uri: str) -> None:
    with MeteringWriter(storage_uri) as writer:
        pass
    with pytest.raises(ValueError, match="closed"):
        writer.write(MeteringData(TS, "tidb", "s1", "p"))
    writer.close()


# -- pagination ------------------------------------------------------------------


@pytest.mark.parametrize("page_size", [1, 400])
def test_pagination(storage_uri: str, page_size: int) -> None:
    # 12 parts at page_size=1: numeric part order (10, 11 after 9) matters
    data = MeteringData(TS, "tikv", "tikvserver7", "pool-b", _entries(12))
    writer = MeteringWriter(storage_uri, Config(page_size_bytes=page_size))
    paths = writer.write(data)
    assert paths == [
        f"metering/ru/{TS}/tikv/pool-b/tikvserver7-{n}.json.gz"
        for n in range(len(paths))
    ]
    assert len(paths) > 1
    union: list[Any] = []
    for part, path in enumerate(paths):
        raw = gzip.decompress(_raw(storage_uri, path))
        page = json.loads(raw)
        assert len(raw) <= page_size or len(page["data"]) == 1
        assert page["part"] == part
        union += page["data"]
    assert union == _plain(data.data)
    reader = MeteringReader(storage_uri)
    assert reader.get_files_by_category(TS, "tikv") == paths  # numeric part order
    assert [e for d in reader.read_files(paths) for e in d.data] == union


@pytest.mark.parametrize("page_size", [0, 64])
def test_empty_data_writes_one_part0_file(storage_uri: str, page_size: int) -> None:
    writer = MeteringWriter(storage_uri, Config(page_size_bytes=page_size))
    paths = writer.write(MeteringData(TS, "tidb", "s1", "p", []))
    assert paths == [f"metering/ru/{TS}/tidb/p/s1-0.json.gz"]
    assert json.loads(gzip.decompress(_raw(storage_uri, paths[0])))["data"] == []


def test_shorter_overwrite_removes_leftover_parts(storage_uri: str) -> None:
    config = Config(page_size_bytes=300, overwrite_existing=True)
    writer = MeteringWriter(storage_uri, config)
    neighbour = writer.write(MeteringData(TS, "tikv", "s10", "p", _entries(3)))
    long = writer.write(MeteringData(TS, "tikv", "s1", "p", _entries(20)))
    short = writer.write(MeteringData(TS, "tikv", "s1", "p", _entries(4, offset=100)))
    assert len(long) > len(short) >= 1
    reader = MeteringReader(storage_uri)
    listed = reader.get_files_by_category(TS, "tikv")
    assert listed == short + neighbour
    got = [e for d in reader.read_files(short) for e in d.data]
    assert got == _plain(_entries(4, offset=100))


# -- no overwrite ----------------------------------------------------------------


def test_second_write_is_refused_and_first_file_kept(storage_uri: str) -> None:
    writer = MeteringWriter(storage_uri)
    (path,) = writer.write(MeteringData(TS, "tidb", "s1", "p", _entries(2)))
    first = _raw(storage_uri, path)
    with pytest.raises(MeteringFileExistsError, match=path) as info:
        writer.write(MeteringData(TS, "tidb", "s1", "p", _entries(5)))
    assert isinstance(info.value, FileExistsError)
    assert _raw(storage_uri, path) == first

    replacer = MeteringWriter(storage_uri, Config(overwrite_existing=True))
    assert replacer.write(MeteringData(TS, "tidb", "s1", "p", _entries(5))) == [path]
    assert len(MeteringReader(storage_uri).read_file(path).data) == 5


def test_meta_second_write_is_refused(storage_uri: str) -> None:
    meta = MetaData("c1", MetaType.SHAREDPOOL, 1755850000, {"v": 1})
    path = MetaWriter(storage_uri).write(meta)
    first = _raw(storage_uri, path)
    with pytest.raises(FileExistsError, match=path):
        MetaWriter(storage_uri).write(msgspec.structs.replace(meta, metadata={"v": 2}))
    assert _raw(storage_uri, path) == first
    MetaWriter(storage_uri, Config(overwrite_existing=True)).write(
        msgspec.structs.replace(meta, metadata={"v": 2})
    )
    assert json.loads(gzip.decompress(_raw(storage_uri, path)))["metadata"] == {"v": 2}


@pytest.mark.parametrize("shared", [True, False], ids=["one-writer", "writers"])
def test_racing_writers_exactly_one_wins(storage_uri: str, shared: bool) -> None:
    threads, rounds = 8, 3
    one = MeteringWriter(storage_uri)
    writers = [one if shared else MeteringWriter(storage_uri) for _ in range(threads)]
    barrier = threading.Barrier(threads)
    outcomes: list[list[Any]] = [[None] * threads for _ in range(rounds)]

    def run(index: int) -> None:
        for round_ in range(rounds):
            # a few KB per file so that compression overlaps between threads
            entries = [{"writer": index, "pad": "x" * 4000}]
            data = MeteringData(TS, "tidb", f"s{round_}", "p", entries)
            barrier.wait(timeout=30)
            try:
                outcomes[round_][index] = writers[index].write(data)
            except Exception as exc:
                outcomes[round_][index] = exc

    workers = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=60)
    reader = MeteringReader(storage_uri)
    for results in outcomes:
        winners = [i for i, o in enumerate(results) if isinstance(o, list)]
        assert len(winners) == 1, results
        losers = [o for o in results if not isinstance(o, list)]
        assert len(losers) == threads - 1
        assert all(isinstance(o, MeteringFileExistsError) for o in losers), losers
        (path,) = results[winners[0]]
        assert reader.read_file(path).data[0]["writer"] == winners[0]


# -- local atomicity -------------------------------------------------------------


def test_local_reader_never_sees_a_partial_file(tmp_path: Path) -> None:
    uri = f"localfs://{tmp_path}/root"
    rng = random.Random(7)
    # Incompressible entries make each file about 1 MB, so a write takes a while.
    bodies = [
        [{"blob": f"{rng.getrandbits(128):032x}" * 300} for _ in range(100)]
        for _ in range(2)
    ]
    writer = MeteringWriter(uri, Config(overwrite_existing=True, compression_level=1))
    reader = MeteringReader(uri)
    done = threading.Event()
    errors: list[BaseException] = []

    def write() -> None:
        try:
            for round_ in range(12):
                for self_id in ("s1", "s2", "s3"):
                    writer.write(
                        MeteringData(TS, "tidb", self_id, "p", bodies[round_ % 2])
                    )
        except BaseException as exc:
            errors.append(exc)
        finally:
            done.set()

    thread = threading.Thread(target=write)
    thread.start()
    reads = complete = 0
    deadline = time.monotonic() + 60
    while reads < 2000 and time.monotonic() < deadline:
        finished = done.is_set()
        for path in reader.get_files_by_category(TS, "tidb"):
            assert not path.rsplit("/", 1)[-1].startswith(".")
            reads += 1
            try:
                doc = reader.read_file(path)
            except MeteringFileNotFoundError:
                continue
            assert doc.data in bodies  # complete and valid, never a torn file
            complete += 1
        if finished:
            break
    thread.join(timeout=60)
    assert not errors, errors
    assert complete > 0
    leftovers = [f for _, _, fs in os.walk(tmp_path) for f in fs if f.endswith(".tmp")]
    assert leftovers == []


def test_temporary_files_are_not_listed(tmp_path: Path) -> None:
    uri = f"localfs://{tmp_path}/root"
    (path,) = MeteringWriter(uri).write(MeteringData(TS, "tidb", "s1", "p"))
    folder = (tmp_path / "root" / path).parent
    (folder / ".s2-0.json.gz.x1y2.tmp").write_bytes(b"\x1f\x8b partial")
    assert MeteringReader(uri).get_files_by_category(TS, "tidb") == [path]


# -- bad input -------------------------------------------------------------------
# Validation happens before any storage call, so the full matrix runs on memory
# and local files; S3 runs every case in one body (one bucket, one server reset).


@pytest.fixture(params=["memory", "local"])
def cheap_uri(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "memory":
        return "memory://bad-input"
    return f"localfs://{tmp_path}/root"


BAD_SEGMENTS = ["", ".", "..", "../x", "a/b", "a\\b", "ctl\x01", "nul\x00", "nl\n"]


def _metering_cases() -> list[Any]:
    timestamps = (0, -60, 61, 1755850381, "1755850380", 1755850380.0, True, None)
    cases: list[Any] = [
        pytest.param({"timestamp": ts}, "timestamp", id=f"ts={ts!r}")
        for ts in timestamps
    ]
    cases += [
        pytest.param({field: value}, field, id=f"{field}={value!r}")
        for field in ("category", "shared_pool_id", "self_id")
        for value in BAD_SEGMENTS
        # an empty shared_pool_id means "use the writer's pool"
        if not (field == "shared_pool_id" and value == "")
    ]
    cases += [
        pytest.param({"self_id": "tidb-server-01"}, "self_id", id="dash"),
        pytest.param({"self_id": 5}, "self_id", id="self_id=5"),
        pytest.param({"data": "x"}, "data", id="data-not-list"),
        pytest.param({"data": [1]}, "data", id="entry-not-dict"),
        pytest.param({"data": [{1: 2}]}, "data", id="key-not-str"),
        pytest.param({"data": [{"v": object()}]}, "data", id="not-json"),
    ]
    return cases


def _bad_metering(uri: str, changes: dict[str, Any], field: str) -> None:
    base: dict[str, Any] = {
        "timestamp": TS,
        "category": "tidb",
        "self_id": "s1",
        "shared_pool_id": "p",
        "data": _entries(30),
    }
    data = MeteringData(**{**base, **changes})
    writer = MeteringWriter(uri, Config(page_size_bytes=200))
    with pytest.raises(ValueError, match=field) as info:
        writer.write(data)
    assert isinstance(info.value, ValidationError)


@pytest.mark.parametrize(("changes", "field"), _metering_cases())
def test_bad_metering_input_writes_nothing(
    cheap_uri: str, tmp_path: Path, changes: dict[str, Any], field: str
) -> None:
    _bad_metering(cheap_uri, changes, field)
    assert _files(cheap_uri, tmp_path) == []


def test_empty_pool_after_default_writes_nothing(
    cheap_uri: str, tmp_path: Path
) -> None:
    writer = MeteringWriter(cheap_uri, shared_pool_id="")
    with pytest.raises(ValidationError, match="shared_pool_id"):
        writer.write(MeteringData(TS, "tidb", "s1", ""))
    assert _files(cheap_uri, tmp_path) == []


@pytest.mark.parametrize("pool", BAD_SEGMENTS[1:])
def test_bad_writer_pool_writes_nothing(
    cheap_uri: str, tmp_path: Path, pool: str
) -> None:
    writer = MeteringWriter(cheap_uri, shared_pool_id=pool)
    with pytest.raises(ValidationError, match="shared_pool_id"):
        writer.write(MeteringData(TS, "tidb", "s1"))
    assert _files(cheap_uri, tmp_path) == []


def _meta_cases() -> list[Any]:
    cases: list[Any] = [
        pytest.param({"modify_ts": ts}, "modify_ts", id=f"mts={ts!r}")
        for ts in (0, -1, "5", 5.0, True, None)
    ]
    cases += [
        pytest.param({"cluster_id": value}, "cluster_id", id=f"c={value!r}")
        for value in BAD_SEGMENTS
    ]
    cases += [
        pytest.param({"category": value}, "category", id=f"cat={value!r}")
        for value in BAD_SEGMENTS
        if value  # an empty category means "no category"
    ]
    cases += [
        pytest.param({"type": kind}, "type", id=f"type={kind!r}")
        for kind in ("bogus", "", None, "LOGIC")
    ]
    cases += [
        pytest.param({"metadata": [1]}, "metadata", id="metadata-list"),
        pytest.param({"metadata": {"v": object()}}, "metadata", id="not-json"),
    ]
    return cases


def _bad_meta(uri: str, changes: dict[str, Any], field: str) -> None:
    base: dict[str, Any] = {
        "cluster_id": "c1",
        "type": MetaType.LOGIC,
        "modify_ts": 1755850000,
        "metadata": {"a": 1},
        "category": "",
    }
    meta = MetaData(**{**base, **changes})
    with pytest.raises(ValidationError, match=field):
        MetaWriter(uri).write(meta)


@pytest.mark.parametrize(("changes", "field"), _meta_cases())
def test_bad_meta_input_writes_nothing(
    cheap_uri: str, tmp_path: Path, changes: dict[str, Any], field: str
) -> None:
    _bad_meta(cheap_uri, changes, field)
    assert _files(cheap_uri, tmp_path) == []


def test_bad_input_on_s3_writes_nothing(s3_uri: str, tmp_path: Path) -> None:
    for case in _metering_cases():
        _bad_metering(s3_uri, *case.values)
    for case in _meta_cases():
        _bad_meta(s3_uri, *case.values)
    with pytest.raises(ValidationError, match="shared_pool_id"):
        MeteringWriter(s3_uri, shared_pool_id="").write(MeteringData(TS, "c", "s1"))
    assert _files(s3_uri, tmp_path) == []


@pytest.mark.parametrize("value", [-1, 2**64, True, 1.0])
def test_bad_metering_value_is_refused_before_any_write(
    cheap_uri: str, tmp_path: Path, value: Any
) -> None:
    writer = MeteringWriter(cheap_uri)
    with pytest.raises(ValidationError, match="value"):
        writer.write(
            MeteringData(TS, "tidb", "s1", "p", [{"v": MeteringValue(value, "u")}])
        )
    assert _files(cheap_uri, tmp_path) == []


# -- property: anything written is read back equal -------------------------------

_SAFE = st.text(alphabet="abcdefgh_.0123456789日é", min_size=1, max_size=8).filter(
    lambda s: s not in (".", "..")
)
_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=10),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)
_VALUE = st.builds(
    MeteringValue, st.integers(min_value=0, max_value=2**64 - 1), st.text(max_size=5)
)
_ENTRY = st.dictionaries(st.text(max_size=6), _JSON | _VALUE, max_size=4)


@settings(max_examples=50, deadline=None)
@given(
    category=_SAFE,
    pool=_SAFE,
    self_id=_SAFE,
    minute=st.integers(min_value=1, max_value=10**8),
    entries=st.lists(_ENTRY, max_size=8),
    page_size=st.sampled_from([0, 1, 120, 5000]),
)
def test_memory_round_trip_property(
    category: str,
    pool: str,
    self_id: str,
    minute: int,
    entries: list[dict[str, Any]],
    page_size: int,
) -> None:
    storage = "memory://property"
    data = MeteringData(minute * 60, category, self_id, pool, entries)
    config = Config(page_size_bytes=page_size, overwrite_existing=True)
    paths = MeteringWriter(storage, config).write(data)
    docs = MeteringReader(storage).read_files(paths)
    assert all(d.timestamp == minute * 60 and d.self_id == self_id for d in docs)
    assert [e for d in docs for e in d.data] == _plain(entries)
