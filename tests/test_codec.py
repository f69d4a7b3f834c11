"""The codec: one gzip member per file, bounded inflate, pagination of pages."""

from __future__ import annotations

import gzip
import json
import zlib
from typing import Any

import pytest

from metering_fsspec import (
    CorruptFileError,
    MeteringData,
    MeteringValue,
    SizeLimitError,
    ValidationError,
)
from metering_fsspec.codec import (
    compress,
    decode_meta,
    decode_metering,
    decompress,
    encode_metering_pages,
)
from metering_fsspec.deflate import available, get_deflate

ENGINES = available()


def _members(blob: bytes) -> int:
    """Number of gzip members in ``blob`` (stdlib zlib only)."""
    count = 0
    while blob:
        inflater = zlib.decompressobj(31)
        inflater.decompress(blob)
        assert inflater.eof, "truncated member"
        count += 1
        blob = inflater.unused_data
    return count


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("level", [0, 1, 6, 9])
def test_compress_writes_one_standard_gzip_member(engine: str, level: int) -> None:
    raw = json.dumps({"k": list(range(2000))}).encode()
    blob = compress(raw, level, get_deflate(engine))
    assert blob[:3] == b"\x1f\x8b\x08"
    assert _members(blob) == 1
    assert gzip.decompress(blob) == raw
    assert decompress(blob, len(raw), "p", get_deflate(engine)) == raw


def test_compression_level_changes_the_output() -> None:
    raw = json.dumps([{"lc": f"lc-{i}", "v": i * 7} for i in range(3000)]).encode()
    zl = get_deflate("zlib")
    assert (
        len(compress(raw, 9, zl))
        < len(compress(raw, 1, zl))
        < len(compress(raw, 0, zl))
    )


def test_decompress_limit_is_inclusive_and_enforced() -> None:
    raw = b"x" * 10_000
    blob = gzip.compress(raw)
    assert decompress(blob, 10_000, "p") == raw
    with pytest.raises(SizeLimitError, match="some/file.json.gz") as info:
        decompress(blob, 9_999, "some/file.json.gz")
    assert isinstance(info.value, ValueError)


def test_decompress_limit_holds_for_a_gzip_bomb() -> None:
    blob = gzip.compress(b"\0" * (20 * 1024 * 1024))  # ~20 KiB on disk
    with pytest.raises(SizeLimitError):
        decompress(blob, 1024 * 1024, "bomb.json.gz")


def test_decompress_limit_counts_every_member() -> None:
    blob = gzip.compress(b"a" * 600) + gzip.compress(b"b" * 600)
    assert decompress(blob, 1200, "p") == b"a" * 600 + b"b" * 600
    with pytest.raises(SizeLimitError):
        decompress(blob, 1000, "p")


@pytest.mark.parametrize(
    ("blob", "reason"),
    [
        (b"", "empty"),
        (b'{"timestamp": 60}', "not a gzip"),
        (gzip.compress(b"{}")[:-6], "truncated"),
        (gzip.compress(b"{}") + b"garbage", "trailing"),
        (b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xffnot deflate", "invalid gzip"),
    ],
)
def test_decompress_refuses_corrupt_data_naming_the_path(
    blob: bytes, reason: str
) -> None:
    with pytest.raises(CorruptFileError, match=reason) as info:
        decompress(blob, 1 << 20, "metering/ru/60/c/p/s-0.json.gz")
    assert "metering/ru/60/c/p/s-0.json.gz" in str(info.value)
    assert isinstance(info.value, ValueError)


def test_decode_metering_reads_null_data_as_empty_and_ignores_unknown_fields() -> None:
    raw = (
        b'{"timestamp":60,"category":"c","self_id":"s","shared_pool_id":"p",'
        b'"part":3,"data":null,"extra":1}'
    )
    data, part = decode_metering(raw, "x")
    assert part == 3
    assert data == MeteringData(60, "c", "s", "p", [])


@pytest.mark.parametrize(
    "raw", [b"not json", b"[]", b'{"timestamp":"x"}', b'{"timestamp":60}']
)
def test_decode_refuses_documents_of_the_wrong_shape(raw: bytes) -> None:
    with pytest.raises(CorruptFileError, match="path/of/file"):
        decode_metering(raw, "path/of/file")


def test_decode_meta_refuses_bad_json() -> None:
    with pytest.raises(CorruptFileError, match="meta/x"):
        decode_meta(b"{", "meta/x")


def test_unencodable_data_is_a_validation_error() -> None:
    data = MeteringData(60, "c", "s", "p", [{"x": object()}])
    with pytest.raises(ValidationError, match="data"):
        list(encode_metering_pages(data, 0))


# -- pagination ------------------------------------------------------------------


def _entries(count: int) -> list[dict[str, Any]]:
    return [
        {
            "logical_cluster_id": f"lc-{i:03d}",
            "compute_seconds": MeteringValue(i * 10, "seconds"),
            "note": "x" * (i % 17),
        }
        for i in range(count)
    ]


def _plain(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            k: (
                {"value": v.value, "unit": v.unit}
                if isinstance(v, MeteringValue)
                else v
            )
            for k, v in e.items()
        }
        for e in entries
    ]


@pytest.mark.parametrize("page_size", [1, 150, 300, 1024, 4096, 10**9])
def test_pages_hold_the_size_rule_and_cover_the_input(page_size: int) -> None:
    entries = _entries(60)
    data = MeteringData(1755850380, "tikv", "s7", "pool-b", entries)
    pages = [json.loads(p) for p in encode_metering_pages(data, page_size)]
    raws = list(encode_metering_pages(data, page_size))
    for raw, page in zip(raws, pages, strict=True):
        assert len(raw) <= page_size or len(page["data"]) == 1
        assert {k: page[k] for k in ("timestamp", "category", "self_id")} == {
            "timestamp": 1755850380,
            "category": "tikv",
            "self_id": "s7",
        }
    assert [p["part"] for p in pages] == list(range(len(pages)))
    assert [e for p in pages for e in p["data"]] == _plain(entries)
    if page_size == 10**9:
        assert len(pages) == 1
    if page_size == 1:
        assert len(pages) == len(entries)


def test_pages_are_filled_greedily() -> None:
    """A page is never split early: the next entry would not have fitted."""
    entries = _entries(80)
    data = MeteringData(1755850380, "tikv", "s7", "pool-b", entries)
    raws = list(encode_metering_pages(data, 700))
    assert len(raws) > 2
    for raw, following in zip(raws, raws[1:], strict=False):
        first_next = json.dumps(json.loads(following)["data"][0], separators=(",", ":"))
        assert len(raw) + 1 + len(first_next.encode()) > 700


@pytest.mark.parametrize("page_size", [0, 100])
def test_empty_data_is_one_page_with_an_empty_list(page_size: int) -> None:
    (raw,) = encode_metering_pages(MeteringData(60, "c", "s", "p"), page_size)
    assert json.loads(raw)["data"] == [] and json.loads(raw)["part"] == 0


def test_gc_paused_restores_the_collector_state() -> None:
    import gc
    import threading

    from metering_fsspec.codec import gc_paused

    assert gc.isenabled()
    with gc_paused():
        assert not gc.isenabled()
        with gc_paused():  # nested
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()

    # Overlapping pauses from several threads: enabled again after the last.
    entered, release = threading.Barrier(5), threading.Event()

    def pause() -> None:
        with gc_paused():
            entered.wait()
            release.wait(10)

    threads = [threading.Thread(target=pause) for _ in range(4)]
    for thread in threads:
        thread.start()
    entered.wait()
    assert not gc.isenabled()
    release.set()
    for thread in threads:
        thread.join()
    assert gc.isenabled()

    # A collector the application turned off stays off.
    gc.disable()
    try:
        with gc_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
