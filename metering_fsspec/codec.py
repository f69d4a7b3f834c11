"""The codec: the one place that knows gzip and JSON.

Every file is one gzip member holding one compact JSON object. Encoding uses
reused msgspec encoders with ``order="deterministic"`` (struct fields in
declaration order, map keys sorted), which gives Go's field order. Decoding
is bounded: a payload that inflates past the configured limit is refused
before more memory is allocated.
"""

from __future__ import annotations

import contextlib
import gc
import threading
from collections.abc import Iterator
from typing import Any

import msgspec

from .deflate import Deflate, get_deflate
from .errors import CorruptFileError, SizeLimitError, ValidationError
from .schema import (
    MetaData,
    MetaType,
    MetaWire,
    MetaWireIn,
    MeteringData,
    MeteringPageWire,
)

__all__ = [
    "compress",
    "compress_metering_pages",
    "decode_meta",
    "decode_metering",
    "decompress",
    "encode_meta",
    "encode_metering_pages",
]

_GZIP_MAGIC = b"\x1f\x8b"
_encoder = msgspec.json.Encoder(order="deterministic")
_scratch = threading.local()  # .buffer: the reusable encoding buffer of a thread
_SCRATCH_LIMIT = 4 << 20  # larger buffers are not kept between writes
_page_decoder = msgspec.json.Decoder(MeteringPageWire)
_meta_decoder = msgspec.json.Decoder(MetaWireIn)


# -- gzip ---------------------------------------------------------------------


def compress(
    raw: bytes | bytearray | memoryview, level: int, deflate: Deflate | None = None
) -> bytes:
    """One gzip member holding ``raw``."""
    return (deflate or get_deflate()).compress(raw, level)


def decompress(
    blob: bytes, limit: int, path: str, deflate: Deflate | None = None
) -> bytes:
    """Inflate gzip ``blob``, refusing output larger than ``limit`` bytes.

    Concatenated members are joined, as gzip(1) does. Memory stays bounded
    by ``limit`` plus the input whatever the compression ratio.
    """
    if not blob:
        raise CorruptFileError(path, "empty file, expected gzip data")
    if not blob.startswith(_GZIP_MAGIC):
        raise CorruptFileError(path, "not a gzip file (bad magic bytes)")
    engine = deflate or get_deflate()
    out: list[bytes] = []
    total = 0
    rest = blob
    while rest:
        if not rest.startswith(_GZIP_MAGIC):
            raise CorruptFileError(
                path, f"trailing garbage after gzip data ({len(rest)} bytes)"
            )
        inflater = engine.decompressobj()
        try:
            chunk = inflater.decompress(rest, limit - total + 1)
        except Exception as exc:  # zlib.error and the equivalents of isal / zlib-ng
            raise CorruptFileError(path, f"invalid gzip data: {exc}") from None
        total += len(chunk)
        if total > limit:
            raise SizeLimitError(
                path, f"decompressed size exceeds the limit of {limit} bytes"
            )
        out.append(chunk)
        if not inflater.eof:
            raise CorruptFileError(path, "truncated gzip data")
        rest = inflater.unused_data
    return out[0] if len(out) == 1 else b"".join(out)


# -- metering -----------------------------------------------------------------


def _encode_error(exc: Exception) -> ValidationError:
    return ValidationError("data", f"cannot be encoded as JSON: {exc}")


def encode_metering_pages(data: MeteringData, page_size: int) -> Iterator[bytes]:
    """Yield the JSON of each page, part 0 first.

    With ``page_size > 0`` a page's whole JSON (envelope included) stays
    within ``page_size`` bytes unless it holds a single entry that is larger
    on its own. Empty data gives one page with ``"data": []``.
    """
    entries = data.data
    if page_size <= 0 or not entries:
        try:
            yield _encoder.encode(_page(data, 0, entries))
        except (TypeError, OverflowError) as exc:
            raise _encode_error(exc) from None
        return
    # All entries are encoded once, in one call, as JSON lines: a raw newline
    # never occurs inside JSON text, so each "\n" marks the end of an entry and
    # one ``rfind`` per page finds the last entry that fits. Pages are slices
    # of that buffer with the newlines turned into commas; nothing is encoded
    # twice and no Python code runs per entry.
    try:
        lines = _encoder.encode_lines(entries)
    except (TypeError, OverflowError) as exc:
        raise _encode_error(exc) from None
    start, part, size = 0, 0, len(lines)
    while start < size:
        head = _encoder.encode(_page(data, part, []))[:-2]  # drop "]}"
        budget = page_size - len(head) - 2  # room for entries and commas
        # (a negative bound would count from the end of the buffer)
        end = lines.rfind(b"\n", start, max(start, start + budget + 1))
        if end < 0:  # a page always holds at least one entry
            end = lines.index(b"\n", start)
        yield b"".join((head, lines[start:end].replace(b"\n", b","), b"]}"))
        start, part = end + 1, part + 1


def compress_metering_pages(
    data: MeteringData, page_size: int, deflate: Deflate, level: int
) -> list[bytes]:
    """The gzip file bodies of ``data``'s pages (see :func:`encode_metering_pages`).

    An unpaginated document is encoded into a buffer kept per thread between
    calls: allocating and freeing a buffer of a file's size for every write
    made the C allocator return that memory to the system and fault it in
    again on the next write (about 15 % of the time of a 190 KB write).
    """
    if page_size > 0 and data.data:
        return [
            deflate.compress(page, level)
            for page in encode_metering_pages(data, page_size)
        ]
    buffer: bytearray | None = getattr(_scratch, "buffer", None)
    if buffer is None:
        buffer = _scratch.buffer = bytearray()
    try:
        try:
            _encoder.encode_into(_page(data, 0, data.data), buffer)
        except (TypeError, OverflowError) as exc:
            raise _encode_error(exc) from None
        return [deflate.compress(buffer, level)]
    finally:
        if len(buffer) > _SCRATCH_LIMIT:
            _scratch.buffer = None  # do not keep a large document's worth


def _page(
    data: MeteringData, part: int, entries: list[dict[str, Any]]
) -> MeteringPageWire:
    return MeteringPageWire(
        timestamp=data.timestamp,
        category=data.category,
        self_id=data.self_id,
        shared_pool_id=data.shared_pool_id,
        part=part,
        data=entries,
    )


_gc_lock = threading.Lock()
_gc_pausers = 0
_gc_was_enabled = False


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while decoding.

    A page decodes to thousands of dicts; each allocation counts toward a
    collection, and collections then walk every document decoded so far
    (reading 200 pages of 1000 entries spends about two thirds of its time
    there). Decoded JSON holds no reference cycles, so nothing is lost: it
    is freed by reference counting as usual. Nested and concurrent pauses
    are counted; the collector's earlier state is restored by the last one.
    """
    global _gc_pausers, _gc_was_enabled
    with _gc_lock:
        if _gc_pausers == 0:
            _gc_was_enabled = gc.isenabled()
            gc.disable()
        _gc_pausers += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_pausers -= 1
            if _gc_pausers == 0 and _gc_was_enabled:
                gc.enable()


def decode_metering(raw: bytes, path: str) -> tuple[MeteringData, int]:
    """Decode a metering page; returns the document and its ``part``.

    A JSON ``null`` for ``data`` (written by Go for nil data) reads as ``[]``;
    unknown fields are ignored, as Go does.
    """
    try:
        with gc_paused():
            page = _page_decoder.decode(raw)
    except msgspec.DecodeError as exc:
        raise CorruptFileError(path, f"invalid metering document: {exc}") from None
    return (
        MeteringData(
            timestamp=page.timestamp,
            category=page.category,
            self_id=page.self_id,
            shared_pool_id=page.shared_pool_id,
            data=page.data if page.data is not None else [],
        ),
        page.part,
    )


# -- meta ---------------------------------------------------------------------


def encode_meta(meta: MetaData) -> bytes:
    try:
        return _encoder.encode(
            MetaWire(
                cluster_id=meta.cluster_id,
                type=MetaType(meta.type or "").value,
                category=meta.category,
                modify_ts=meta.modify_ts,
                metadata=meta.metadata,
            )
        )
    except (TypeError, OverflowError) as exc:
        raise ValidationError("metadata", f"cannot be encoded as JSON: {exc}") from None


def decode_meta(raw: bytes, path: str) -> MetaData:
    try:
        wire = _meta_decoder.decode(raw)
    except msgspec.DecodeError as exc:
        raise CorruptFileError(path, f"invalid meta document: {exc}") from None
    return MetaData(
        cluster_id=wire.cluster_id,
        type=wire.type,
        modify_ts=wire.modify_ts,
        metadata=wire.metadata if wire.metadata is not None else {},
        category=wire.category,
    )
