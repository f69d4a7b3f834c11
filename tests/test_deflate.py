"""Deflate engines: zlib, isal and zlib-ng write standard single-member gzip
that every reader (stdlib ``gzip``, each other) reads; level mapping; ``auto``
selection; ``Config(codec=...)``; a clear error for an engine not installed;
and pages split from one encoding exactly as a per-entry reference does.
"""

from __future__ import annotations

import gzip
import io
import json
import sys
import zlib
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from metering_fsspec import (
    Config,
    CorruptFileError,
    MeteringData,
    MeteringReader,
    MeteringValue,
    MeteringWriter,
    SizeLimitError,
    ValidationError,
    codec,
)
from metering_fsspec import deflate as deflate_module
from metering_fsspec.codec import (
    compress_metering_pages,
    decompress,
    encode_metering_pages,
)
from metering_fsspec.deflate import ENGINES, available, get_deflate

# CI installs the "fast" and "test" extras: every engine must be here, never skipped.
ALL = ["isal", "zlib-ng", "zlib"]
PAIRS = [(a, b) for a in ALL for b in ALL]
MODULES = {"isal": "isal.isal_zlib", "zlib-ng": "zlib_ng.zlib_ng"}


def _page(count: int = 1000, timestamp: int = 60) -> bytes:
    """A W1 page (the benchmark workload) as the codec encodes it."""
    entries = [
        {
            "logical_cluster_id": f"lc-{i}",
            "compute_seconds": MeteringValue(3600, "seconds"),
            "memory_mb": MeteringValue(4096, "MB"),
            "storage_bytes": MeteringValue(i * 1000, "bytes"),
            "region": "us-west-2",
        }
        for i in range(count)
    ]
    data = MeteringData(timestamp, "tidb", "s1", "pool", entries)
    (page,) = encode_metering_pages(data, 0)
    return page


def _members(blob: bytes) -> int:
    """Number of gzip members in ``blob``, counted with the stdlib."""
    count = 0
    while blob:
        inflater = zlib.decompressobj(31)
        inflater.decompress(blob)
        assert inflater.eof, "truncated member"
        count += 1
        blob = inflater.unused_data
    return count


@pytest.fixture
def hide(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Make engines look not installed (their import fails) for one test."""
    monkeypatch.setattr(deflate_module, "_cache", {})

    def hide_(*names: str) -> None:
        for name in names:
            monkeypatch.setitem(sys.modules, MODULES[name], None)

    return hide_


def test_every_engine_is_installed_here() -> None:
    assert available() == ALL  # fastest first
    assert list(ENGINES) == ALL


@pytest.mark.parametrize("level", [0, 1, 6, 9])
@pytest.mark.parametrize(("writer", "reader"), PAIRS)
def test_engines_write_one_standard_gzip_member_that_all_read(
    writer: str, reader: str, level: int
) -> None:
    raw = _page(300)
    blob = get_deflate(writer).compress(raw, level)
    assert blob[:3] == b"\x1f\x8b\x08"  # gzip magic, deflate method
    assert _members(blob) == 1
    assert gzip.decompress(blob) == raw
    with gzip.GzipFile(fileobj=io.BytesIO(blob)) as handle:
        assert handle.read() == raw
    assert decompress(blob, len(raw), "p", get_deflate(reader)) == raw


@pytest.mark.parametrize("engine", ALL)
def test_fast_engines_keep_level_6_ratio(engine: str) -> None:
    raw = _page()
    ratio = len(raw) / len(get_deflate(engine).compress(raw, 6))
    zlib_ratio = len(raw) / len(zlib.compress(raw, 6, wbits=31))
    assert ratio > 0.9 * zlib_ratio


def test_level_mapping() -> None:
    isal = get_deflate("isal").map_level
    assert [isal(level) for level in range(10)] == [0, 1, 1, 1, 2, 2, 2, 3, 3, 3]
    for name in ("zlib", "zlib-ng"):
        assert [get_deflate(name).map_level(n) for n in range(10)] == list(range(10))


@pytest.mark.parametrize("engine", ALL)
def test_higher_levels_compress_no_worse(engine: str) -> None:
    raw = _page()
    deflate = get_deflate(engine)
    fastest, best = (len(deflate.compress(raw, level)) for level in (1, 9))
    assert fastest >= best
    assert len(deflate.compress(raw, 0)) > fastest


@pytest.mark.parametrize("engine", ALL)
def test_inflate_is_bounded_with_every_engine(engine: str) -> None:
    bomb = get_deflate(engine).compress(b"\0" * (8 << 20), 6)
    assert len(bomb) < 100_000
    with pytest.raises(SizeLimitError, match="bomb.json.gz"):
        decompress(bomb, 1 << 20, "bomb.json.gz", get_deflate(engine))
    raw = b"a" * 5000
    assert decompress(gzip.compress(raw), 5000, "p", get_deflate(engine)) == raw


@pytest.mark.parametrize("engine", ALL)
def test_corrupt_data_is_reported_by_every_engine(engine: str) -> None:
    blob = gzip.compress(_page(50))
    bad = blob[:20] + bytes(b ^ 0xFF for b in blob[20:40]) + blob[40:]
    for broken, reason in ((blob[:-6], "truncated"), (bad, "invalid")):
        with pytest.raises(CorruptFileError, match=reason):
            decompress(broken, 1 << 20, "x.json.gz", get_deflate(engine))


def test_auto_takes_the_fastest_installed(hide: Any) -> None:
    assert get_deflate("auto").name == "isal"
    hide("isal")
    assert available() == ["zlib-ng", "zlib"]
    assert get_deflate("auto").name == "zlib-ng"
    hide("zlib-ng")
    assert available() == ["zlib"]
    assert get_deflate("auto").name == "zlib"


@pytest.mark.parametrize(
    ("engine", "hint"),
    [("isal", "metering-fsspec[fast]"), ("zlib-ng", "pip install zlib-ng")],
)
def test_missing_engine_is_a_clear_error(engine: str, hint: str, hide: Any) -> None:
    hide("isal", "zlib-ng")
    with pytest.raises(ValidationError, match="not installed") as info:
        MeteringWriter("memory://m", Config(codec=engine))
    assert isinstance(info.value, ValueError)
    assert engine in str(info.value) and hint in str(info.value)
    with pytest.raises(ValidationError, match=engine):
        MeteringReader("memory://m", Config(codec=engine))
    # The standard library is always there, and "auto" falls back to it.
    for name in ("zlib", "auto"):
        writer = MeteringWriter("memory://m", Config(codec=name))
        (path,) = writer.write(MeteringData(60, "c", name, "p", [{"v": 1}]))
        assert gzip.decompress(writer.fs.cat_file(path)).endswith(b'[{"v":1}]}')


def test_unknown_engine_is_refused() -> None:
    with pytest.raises(ValueError, match="codec"):
        Config(codec="brotli")
    with pytest.raises(ValidationError, match="brotli"):
        get_deflate("brotli")


def test_defaults_are_auto_and_level_6() -> None:
    config = Config()
    assert config.codec == "auto"
    assert config.compression_level == 6


@pytest.mark.parametrize("level", [1, 6, 9])
@pytest.mark.parametrize("engine", ALL)
def test_config_codec_selects_the_engine(engine: str, level: int) -> None:
    data = MeteringData(
        60, "tidb", "s1", "pool", [{"lc": f"lc-{i}"} for i in range(500)]
    )
    config = Config(codec=engine, compression_level=level)
    (path,) = MeteringWriter("memory://m", config).write(data)
    blob = MeteringWriter("memory://m").fs.cat_file(path)
    (page,) = encode_metering_pages(data, 0)
    # Byte for byte what that engine makes at that level (engines differ).
    assert blob == get_deflate(engine).compress(page, level)
    for reader in ALL:
        got = MeteringReader("memory://m", Config(codec=reader)).read_file(path)
        assert got == data


def test_engines_produce_different_streams() -> None:
    raw = _page()
    streams = {get_deflate(name).compress(raw, 6) for name in ALL}
    assert len(streams) == 3  # so the test above tells the engines apart


# -- pagination from one encoding ------------------------------------------------

_encoder = msgspec.json.Encoder(order="deterministic")


def _reference_pages(data: MeteringData, page_size: int) -> list[bytes]:
    """Greedy pages built entry by entry: the rule the codec must follow."""
    if page_size <= 0 or not data.data:
        return list(encode_metering_pages(data, 0))
    pages: list[bytes] = []
    current: list[bytes] = []
    for entry in [_encoder.encode(e) for e in data.data]:
        candidate = [*current, entry]
        if current and len(_join(data, len(pages), candidate)) > page_size:
            pages.append(_join(data, len(pages), current))
            candidate = [entry]
        current = candidate
    pages.append(_join(data, len(pages), current))
    return pages


def _join(data: MeteringData, part: int, entries: list[bytes]) -> bytes:
    head = (
        f'{{"timestamp":{data.timestamp},"category":{json.dumps(data.category)},'
        f'"self_id":{json.dumps(data.self_id)},'
        f'"shared_pool_id":{json.dumps(data.shared_pool_id)},"part":{part},"data":['
    )
    return head.encode() + b",".join(entries) + b"]}"


_text = st.text(
    alphabet=st.sampled_from(["a", "é", "\n", "\u2028", '"', "\\", ",", "{", "😀"]),
    max_size=12,
)
_value = st.one_of(
    _text,
    st.integers(0, 2**64 - 1),
    st.builds(MeteringValue, st.integers(0, 2**64 - 1), _text),
    st.lists(_text, max_size=3),
    st.none(),
)


@settings(max_examples=300, deadline=None)
@given(
    entries=st.lists(st.dictionaries(_text, _value, max_size=4), max_size=25),
    page_size=st.sampled_from([1, 60, 100, 150, 250, 400, 1000, 10**6]),
    timestamp=st.sampled_from([60, 540, 6000, 1755850380]),
)
def test_pages_match_the_per_entry_reference(
    entries: list[dict[str, Any]], page_size: int, timestamp: int
) -> None:
    data = MeteringData(timestamp, "tidb", "s1", "pool", entries)
    pages = list(encode_metering_pages(data, page_size))
    assert pages == _reference_pages(data, page_size)
    decoded = [e for p in pages for e in json.loads(p)["data"]]
    assert decoded == json.loads(_encoder.encode(entries))


# -- compressed pages ------------------------------------------------------------


@pytest.mark.parametrize("page_size", [0, 4096])
@pytest.mark.parametrize("engine", ALL)
def test_compressed_pages_are_the_gzip_of_the_pages(
    engine: str, page_size: int
) -> None:
    data = MeteringData(
        60, "tidb", "s1", "pool", [{"lc": f"lc-{i}"} for i in range(900)]
    )
    deflate = get_deflate(engine)
    blobs = compress_metering_pages(data, page_size, deflate, 6)
    pages = list(encode_metering_pages(data, page_size))
    assert len(blobs) == len(pages) >= (1 if page_size == 0 else 3)
    assert [gzip.decompress(b) for b in blobs] == pages
    assert all(_members(b) == 1 for b in blobs)


def test_compressed_pages_are_thread_safe() -> None:
    deflate = get_deflate("zlib")  # releases the GIL while compressing

    def work(worker: int) -> list[bool]:
        results = []
        for n in range(40):
            entries = [{"w": worker, "n": n, "i": i} for i in range(300 + worker)]
            data = MeteringData(60, "c", f"s{worker}", "p", entries)
            (blob,) = compress_metering_pages(data, 0, deflate, 1)
            results.append(blob == deflate.compress(_encode_page(data), 1))
        return results

    with ThreadPoolExecutor(4) as pool:
        outcomes = [ok for oks in pool.map(work, range(4)) for ok in oks]
    assert len(outcomes) == 160 and all(outcomes)


def test_a_large_document_does_not_stay_in_memory() -> None:
    entries = [{"lc": f"lc-{i}", "v": i} for i in range(200_000)]  # ~5 MB of JSON
    data = MeteringData(60, "c", "s", "p", entries)
    (blob,) = compress_metering_pages(data, 0, get_deflate("isal"), 6)
    assert len(gzip.decompress(blob)) > codec._SCRATCH_LIMIT
    assert getattr(codec._scratch, "buffer", None) is None
    small = MeteringData(60, "c", "s", "p", entries[:10])
    compress_metering_pages(small, 0, get_deflate("isal"), 6)
    assert len(codec._scratch.buffer) < 1000  # small buffers are kept for reuse


def test_unencodable_data_is_a_validation_error_on_every_path() -> None:
    data = MeteringData(60, "c", "s", "p", [{"x": object()}])
    for page_size in (0, 100):
        with pytest.raises(ValidationError, match="data"):
            compress_metering_pages(data, page_size, get_deflate("zlib"), 6)


def _encode_page(data: MeteringData) -> bytes:
    (page,) = encode_metering_pages(data, 0)
    return page
