"""Hostile and bad input: property round trips on every backend, refused path
segments, config URI round trips, random bytes, gzip bombs and malformed files.
"""

from __future__ import annotations

import gzip
import itertools
import struct
import time
import tracemalloc
import zlib
from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from metering_fsspec import (
    AWSConfig,
    AzureConfig,
    Config,
    CorruptFileError,
    InvalidPathError,
    LocalFSConfig,
    MetaData,
    MetaReader,
    MetaType,
    MetaWriter,
    MeteringConfig,
    MeteringData,
    MeteringError,
    MeteringReader,
    MeteringValue,
    MeteringWarning,
    MeteringWriter,
    OSSConfig,
    SizeLimitError,
    ValidationError,
    open_storage,
)
from metering_fsspec.deflate import available

BACKEND = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
QUICK = settings(max_examples=200, deadline=None)

# -- strategies ---------------------------------------------------------------------

text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)
segment = st.text(
    st.characters(
        blacklist_categories=("Cs",),
        blacklist_characters="/\\?#" + "".join(map(chr, [*range(32), 127])),
    ),
    min_size=1,
    max_size=16,
).filter(lambda s: s not in (".", ".."))
self_ids = segment.filter(lambda s: "-" not in s)
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | text,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3)
    ),
    max_leaves=8,
)
metering_values = st.builds(MeteringValue, st.integers(0, 2**64 - 1), text)
entries = st.lists(
    st.dictionaries(text, metering_values | json_values, max_size=4), max_size=6
)
documents = st.builds(
    MeteringData,
    timestamp=st.integers(1, 2**34).map(lambda n: n * 60),
    category=segment,
    self_id=self_ids,
    shared_pool_id=segment,
    data=entries,
)
metas = st.builds(
    MetaData,
    cluster_id=segment,
    type=st.sampled_from(MetaType),
    modify_ts=st.integers(1, 2**62),
    metadata=st.dictionaries(text, json_values, max_size=4),
    category=st.just("") | segment,
)


def plain(value: Any) -> Any:
    """``value`` as it reads back: metering values become plain dicts."""
    return msgspec.json.decode(msgspec.json.encode(value))


# -- round trips through every backend ---------------------------------------------------


def test_metering_data_round_trips(storage_uri: str) -> None:
    config = Config(overwrite_existing=True)
    writer = MeteringWriter(storage_uri, config)
    reader = MeteringReader(storage_uri, config)
    pages = itertools.cycle([0, 0, 256, 1024])

    @BACKEND
    @given(data=documents)
    def check(data: MeteringData) -> None:
        paged = MeteringWriter(
            writer.fs, Config(overwrite_existing=True, page_size_bytes=next(pages))
        )
        paths = (paged if paged.config.page_size_bytes else writer).write(data)
        docs = reader.read_files(paths)
        assert all(
            (d.timestamp, d.category, d.self_id, d.shared_pool_id)
            == (data.timestamp, data.category, data.self_id, data.shared_pool_id)
            for d in docs
        )
        assert [entry for d in docs for entry in d.data] == plain(data.data)
        listed = reader.get_files_by_category(data.timestamp, data.category)
        assert set(paths) <= set(listed)

    check()


def test_meta_data_round_trips(storage_uri: str) -> None:
    writer = MetaWriter(storage_uri, Config(overwrite_existing=True))
    reader = MetaReader(storage_uri)

    @BACKEND
    @given(meta=metas)
    def check(meta: MetaData) -> None:
        path = writer.write(meta)
        expected = msgspec.structs.replace(meta, metadata=plain(meta.metadata))
        assert reader.read_file(path) == expected
        assert (
            reader.read_by_type(
                meta.cluster_id, meta.type, meta.modify_ts, category=meta.category
            )
            == expected
        )

    check()


# -- unsafe path segments ---------------------------------------------------------------

unsafe = st.sampled_from(
    ["", ".", "..", "/", "\\", "a/b", "..\\x", "../etc", "x\x00y", "a?b", "#"]
) | st.tuples(
    text,
    st.sampled_from(["/", "\\", "?", "#", *map(chr, [*range(32), 127])]),
    text,
).map("".join)


@QUICK
@given(bad=unsafe, field=st.sampled_from(["category", "shared_pool_id", "self_id"]))
def test_unsafe_metering_segments_are_refused(bad: str, field: str) -> None:
    assume(not (field == "shared_pool_id" and bad == ""))  # "" means the default
    fields = {"category": "c", "shared_pool_id": "p", "self_id": "s", field: bad}
    fs = open_storage("memory://hostile")
    with pytest.raises(ValidationError) as info:
        MeteringWriter(fs).write(MeteringData(timestamp=60, **fields))
    assert info.value.field == field
    assert fs.find("") == []


@QUICK
@given(bad=unsafe, field=st.sampled_from(["cluster_id", "category"]))
def test_unsafe_meta_segments_are_refused(bad: str, field: str) -> None:
    assume(not (field == "category" and bad == ""))  # "" means no category
    fields = {"cluster_id": "k", "category": "c", field: bad}
    fs = open_storage("memory://hostile")
    with pytest.raises(ValidationError) as info:
        MetaWriter(fs).write(MetaData(type=MetaType.LOGIC, modify_ts=1, **fields))
    assert info.value.field == field
    assert fs.find("") == []
    with pytest.raises(ValidationError):
        MetaReader(fs).read_by_type(fields["cluster_id"], "logic", 2, category=bad)


@QUICK
@given(bad=unsafe)
def test_unsafe_segments_are_refused_by_readers(bad: str) -> None:
    with pytest.raises(ValidationError):
        MeteringReader("memory://hostile").get_files_by_category(60, bad)


# -- config URIs ----------------------------------------------------------------------------

cloud_keys = {
    "access_key": text,
    "secret_access_key": text,
    "session_token": text,
    "assume_role_arn": text,
}
common = {
    "region": text,
    "bucket": text,
    "prefix": text,
    "endpoint": text,
    "shared_pool_id": text,
}
configs = st.one_of(
    st.builds(
        MeteringConfig,
        type=st.just("s3"),
        aws=st.builds(AWSConfig, s3_force_path_style=st.booleans(), **cloud_keys)
        | st.none(),
        **common,
    ),
    st.builds(
        MeteringConfig,
        type=st.just("oss"),
        oss=st.builds(OSSConfig, **cloud_keys) | st.none(),
        **common,
    ),
    st.builds(
        MeteringConfig,
        type=st.just("azure"),
        azure=st.builds(
            AzureConfig, account_name=text, account_key=text, sas_token=text
        )
        | st.none(),
        **common,
    ),
    st.builds(
        MeteringConfig,
        type=st.just("localfs"),
        localfs=st.builds(
            LocalFSConfig,
            base_path=text.map(lambda p: "/" + p),
            create_dirs=st.booleans(),
            permissions=st.just("") | st.integers(0, 0o7777).map(lambda m: f"0{m:o}"),
        ),
        prefix=common["prefix"],
        shared_pool_id=text,
    ),
)


@settings(max_examples=300, deadline=None)
@given(config=configs)
def test_config_uri_round_trips(config: MeteringConfig) -> None:
    assert MeteringConfig.from_uri(config.to_uri(redact=False)) == config


# -- random bytes -------------------------------------------------------------------------

engines = available()


def read_both(fs: Any, blob: bytes, codec: str) -> None:
    """Feed ``blob`` to both readers; only our ValueError may come out."""
    fs.pipe_file("metering/ru/60/c/p/s-0.json.gz", blob)
    fs.pipe_file("metering/meta/logic/k/1.json.gz", blob)
    config = Config(codec=codec, max_decompressed_bytes=1 << 20)
    for read in (
        lambda: MeteringReader(fs, config).read_file("metering/ru/60/c/p/s-0.json.gz"),
        lambda: MetaReader(fs, config).read_file("metering/meta/logic/k/1.json.gz"),
    ):
        started = time.monotonic()
        try:
            read()
        except CorruptFileError as exc:
            assert isinstance(exc, ValueError) and isinstance(exc, MeteringError)
            assert exc.path.endswith(".json.gz")
        assert time.monotonic() - started < 5


gzip_header = st.just(b"\x1f\x8b")


@settings(max_examples=300, deadline=None)
@given(
    blob=st.binary(max_size=512)
    | st.tuples(gzip_header, st.binary(max_size=512)).map(b"".join)
    | st.binary(max_size=512).map(gzip.compress)
    | json_values.map(lambda v: gzip.compress(msgspec.json.encode(v))),
    codec=st.sampled_from(engines),
)
def test_random_bytes_give_our_value_error(blob: bytes, codec: str) -> None:
    read_both(open_storage("memory://hostile"), blob, codec)


@settings(max_examples=200, deadline=None)
@given(
    doc=st.fixed_dictionaries(
        {},
        optional={
            "timestamp": json_values,
            "category": json_values,
            "self_id": json_values,
            "shared_pool_id": json_values,
            "part": json_values,
            "data": json_values,
            "cluster_id": json_values,
            "type": json_values,
            "modify_ts": json_values,
            "metadata": json_values,
        },
    ),
    cut=st.integers(0, 64),
)
def test_mangled_documents_give_our_value_error(doc: dict[str, Any], cut: int) -> None:
    blob = gzip.compress(msgspec.json.encode(doc))
    fs = open_storage("memory://hostile")
    read_both(fs, blob, "zlib")
    read_both(fs, blob[: max(0, len(blob) - cut)], "zlib")


# -- gzip bombs -----------------------------------------------------------------------------


def _gf2_times(matrix: list[int], vector: int) -> int:
    total, row = 0, 0
    while vector:
        if vector & 1:
            total ^= matrix[row]
        vector >>= 1
        row += 1
    return total


def _zeros_operator(length: int) -> list[int]:
    """The GF(2) matrix that advances a CRC-32 over ``length`` zero bytes."""
    result = [1 << n for n in range(32)]  # identity
    step = [0xEDB88320] + [1 << n for n in range(31)]  # one zero bit
    bits = length * 8
    while bits:
        if bits & 1:
            result = [_gf2_times(step, row) for row in result]
        step = [_gf2_times(step, row) for row in step]
        bits >>= 1
    return result


def crc32_of_zeros(length: int) -> int:
    """``zlib.crc32(bytes(length))`` without touching ``length`` bytes."""
    # A CRC-32 is affine: crc(0^n) = A^n(0xFFFFFFFF) ^ 0xFFFFFFFF.
    return _gf2_times(_zeros_operator(length), 0xFFFFFFFF) ^ 0xFFFFFFFF


def gzip_bomb(total: int, chunk: int = 16 << 20) -> bytes:
    """A valid single-member gzip of ``total`` zero bytes, built from one
    compressed chunk repeated (a full flush makes each block independent),
    so the inflated data never exists in memory."""
    assert total % chunk == 0
    deflater = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = deflater.compress(bytes(chunk)) + deflater.flush(zlib.Z_FULL_FLUSH)
    end = deflater.flush()
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    trailer = struct.pack("<II", crc32_of_zeros(total), total & 0xFFFFFFFF)
    return header + block * (total // chunk) + end + trailer


def test_bomb_builder_makes_valid_gzip() -> None:
    for size in (0, 1, 1000, 1 << 20):
        assert crc32_of_zeros(size) == zlib.crc32(bytes(size))
    small = gzip_bomb(4 << 20, chunk=1 << 20)
    assert gzip.decompress(small) == bytes(4 << 20)


@pytest.mark.parametrize("limit", [100 * 1024 * 1024, 1 << 20])
def test_gzip_bomb_is_refused_with_bounded_memory(limit: int) -> None:
    bomb = gzip_bomb(10 * 1024**3)  # 10 GiB of zeros
    assert len(bomb) < 16 * 1024**2
    fs = open_storage("memory://bomb")
    path = "metering/ru/60/c/p/s-0.json.gz"
    fs.pipe_file(path, bomb)
    reader = MeteringReader(fs, Config(max_decompressed_bytes=limit))
    tracemalloc.start()
    try:
        with pytest.raises(SizeLimitError, match=f"limit of {limit} bytes") as info:
            reader.read_file(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert info.value.path == path
    # The limit's worth of output plus copies of the 10 MB input, no more.
    assert peak < 3 * limit + 4 * len(bomb), peak
    print(f"\ngzip bomb: 10 GiB -> {len(bomb)} bytes, limit {limit}, peak {peak}")


def test_many_small_members_are_refused_at_the_total() -> None:
    limit = 1 << 20
    member = gzip.compress(bytes(limit // 2 + 1))
    fs = open_storage("memory://bomb")
    fs.pipe_file("metering/ru/60/c/p/s-0.json.gz", member * 3)
    with pytest.raises(SizeLimitError):
        MeteringReader(fs, Config(max_decompressed_bytes=limit)).read_file(
            "metering/ru/60/c/p/s-0.json.gz"
        )


# -- malformed files: each has its documented outcome ------------------------------------------

PATH = "metering/ru/1700000040/tidb/pool/c1-0.json.gz"
PAGE = {
    "timestamp": 1_700_000_040,
    "category": "tidb",
    "self_id": "c1",
    "shared_pool_id": "pool",
    "part": 0,
    "data": [{"ru": {"value": 1, "unit": "RU"}}],
}
EXPECTED = MeteringData(
    timestamp=1_700_000_040,
    category="tidb",
    self_id="c1",
    shared_pool_id="pool",
    data=[{"ru": {"value": 1, "unit": "RU"}}],
)


def _read(blob: bytes) -> MeteringData:
    fs = open_storage("memory://bad")
    fs.pipe_file(PATH, blob)
    return MeteringReader(fs).read_file(PATH)


def _gz(value: Any) -> bytes:
    return gzip.compress(msgspec.json.encode(value))


@pytest.mark.parametrize(
    "blob",
    [
        pytest.param(_gz([PAGE]), id="array"),
        pytest.param(_gz({**PAGE, "timestamp": "1700000040"}), id="wrong-type"),
        pytest.param(
            _gz({k: v for k, v in PAGE.items() if k != "self_id"}), id="missing"
        ),
        pytest.param(_gz({**PAGE, "data": {"ru": 1}}), id="data-object"),
        pytest.param(_gz({**PAGE, "data": [1, 2]}), id="data-scalars"),
        pytest.param(_gz(PAGE)[:-12], id="truncated"),
        pytest.param(_gz(PAGE)[:12], id="truncated-header"),
        pytest.param(_gz(PAGE) + b"junk", id="trailing-garbage"),
        pytest.param(_gz(PAGE) + _gz(PAGE), id="two-documents"),
        pytest.param(msgspec.json.encode(PAGE), id="plain-json"),
        pytest.param(b"", id="empty"),
        pytest.param(gzip.compress(b""), id="empty-gzip"),
        pytest.param(gzip.compress(b"\xff\xfe{}"), id="not-utf8"),
    ],
)
def test_malformed_files_are_corrupt(blob: bytes) -> None:
    with pytest.raises(CorruptFileError) as info:
        _read(blob)
    assert info.value.path == PATH
    assert PATH in str(info.value)


def test_concatenated_members_are_joined_as_gzip_does() -> None:
    raw = msgspec.json.encode(PAGE)
    blob = gzip.compress(raw[:20]) + gzip.compress(raw[20:])
    assert gzip.decompress(blob) == raw
    assert _read(blob) == EXPECTED


def test_null_data_reads_as_empty() -> None:
    assert _read(_gz({**PAGE, "data": None})).data == []


def test_unknown_fields_are_accepted_and_ignored() -> None:
    extra = {"zone": "a", **PAGE, "future": {"x": [1]}, "version": 2}
    assert _read(_gz(extra)) == EXPECTED
    fs = open_storage("memory://bad")
    meta = {"cluster_id": "k", "type": "logic", "modify_ts": 5, "metadata": {}, "x": 1}
    fs.pipe_file("metering/meta/logic/k/5.json.gz", _gz(meta))
    assert MetaReader(fs).read_file("metering/meta/logic/k/5.json.gz") == MetaData(
        cluster_id="k", type=MetaType.LOGIC, modify_ts=5
    )


def test_unknown_meta_type_is_corrupt() -> None:
    fs = open_storage("memory://bad")
    meta = {"cluster_id": "k", "type": "other", "modify_ts": 5, "metadata": {}}
    fs.pipe_file("metering/meta/logic/k/5.json.gz", _gz(meta))
    with pytest.raises(CorruptFileError):
        MetaReader(fs).read_file("metering/meta/logic/k/5.json.gz")


OUTSIDE = [
    "metering/ru/1700000040/tidb/pool/c-1-0.json.gz",  # dash in self_id
    "metering/ru/1700000040/tidb/pool/c1-x.json.gz",  # part not a number
    "metering/ru/1700000040/tidb/pool/c1-01.json.gz",  # part with a leading zero
    "metering/ru/1700000040/tidb/pool/c1-0.json",  # wrong suffix
    "metering/ru/1700000040/tidb/pool/deeper/c1-0.json.gz",  # too deep
    "metering/ru/1700000040/tidb/c1-0.json.gz",  # too shallow
]


def test_paths_outside_the_layout(tmp_path: Any) -> None:
    fs = open_storage("memory://layout")
    good = MeteringWriter(fs).write(EXPECTED)
    for path in OUTSIDE:
        fs.pipe_file(path, _gz(PAGE))
    reader = MeteringReader(fs)
    # Listing skips each of them with a warning, and keeps the good file.
    with pytest.warns(MeteringWarning) as caught:
        files = reader.list_files_by_timestamp(1_700_000_040).files
    assert files == {"tidb": good}
    assert len(caught) == len(OUTSIDE)
    for path in OUTSIDE:
        assert any(path in str(w.message) for w in caught)
        with pytest.raises(InvalidPathError):
            reader.get_file_info(path)
    # Meta files not named {modify_ts}.json.gz are not candidates.
    MetaWriter(fs).write(MetaData(cluster_id="k", type=MetaType.LOGIC, modify_ts=5))
    for name in ("6.json", "x.json.gz", "7.json.gz.tmp", ".8.json.gz.abc.tmp"):
        fs.pipe_file(f"metering/meta/logic/k/{name}", b"junk")
    assert MetaReader(fs).read_by_type("k", "logic", 100).modify_ts == 5


@pytest.mark.parametrize("path", ["../outside.json.gz", "metering/../../x.json.gz"])
def test_reading_outside_the_root_is_refused(tmp_path: Any, path: str) -> None:
    (tmp_path / "outside.json.gz").write_bytes(_gz(PAGE))
    (tmp_path / "x.json.gz").write_bytes(_gz(PAGE))
    reader = MeteringReader(f"localfs://{tmp_path}/root")
    with pytest.raises(ValueError, match="escapes"):
        reader.read_file(path)
