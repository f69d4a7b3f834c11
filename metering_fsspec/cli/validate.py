"""``metering-fsspec validate``: check stored files against the layout and schema.

Every problem names the path it was found at. Checks:

- each file under ``metering/`` follows one of the layouts;
- each file is one bounded gzip payload holding a document of the right shape;
- a metering document's timestamp, category, pool, self_id and part match its
  path, its timestamp is on a minute, and its metering values are unsigned
  64-bit integers with a string unit;
- the parts of one write are numbered 0..n-1 without gaps;
- a meta document's cluster, type, category and modify_ts match its path.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from functools import partial
from typing import Any

import attrs
import fsspec

from .. import codec, layout
from ..config import Config
from ..deflate import get_deflate
from ..reader import MeteringReader
from ..schema import MeteringFileInfo

__all__ = ["Problem", "Report", "validate"]

_BATCH = 128
_UINT64_LIMIT = 2**64


@attrs.frozen
class Problem:
    """One thing wrong with one stored file."""

    path: str
    message: str


@attrs.frozen
class Report:
    """The files checked and the problems found."""

    checked: int
    problems: list[Problem]


def _find(fs: fsspec.AbstractFileSystem, folder: str) -> list[str]:
    fs.invalidate_cache(folder)
    try:
        found = fs.find(folder)
    except FileNotFoundError:
        return []
    # Names starting with a dot are writes in progress or hidden files.
    return sorted(p for p in found if not p.rsplit("/", 1)[-1].startswith("."))


def _in_range(value: int, start: int | None, end: int | None) -> bool:
    return (start is None or value >= start) and (end is None or value < end)


def collect(
    fs: fsspec.AbstractFileSystem, start: int | None, end: int | None
) -> tuple[list[str], list[str], list[str]]:
    """Metering paths, meta paths and stray paths to check in ``[start, end)``.

    Without a range every file under ``metering/`` is checked, including
    strays outside both layouts; with one, metering files of the minutes in
    range and meta files whose name's ``modify_ts`` is in range.
    """
    if start is None and end is None:
        metering = _find(fs, layout.METERING_ROOT)
        meta = _find(fs, layout.META_ROOT)
        roots = (layout.METERING_ROOT + "/", layout.META_ROOT + "/")
        stray = [p for p in _find(fs, "metering") if not p.startswith(roots)]
        return metering, meta, stray
    reader = MeteringReader(fs)
    metering = [
        path
        for timestamp in reader.timestamps(start or 0, end)
        for path in _find(fs, layout.timestamp_dir(timestamp))
    ]
    meta = []
    for path in _find(fs, layout.META_ROOT):
        modify_ts = layout.modify_ts_of(path)
        if modify_ts is None or _in_range(modify_ts, start, end):
            meta.append(path)
    return metering, meta, []


def _check_values(entries: list[dict[str, Any]]) -> Iterable[str]:
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict):
            yield f"data[{index}] is not an object"
            continue
        for key, value in entry.items():
            if not (isinstance(value, dict) and {"value", "unit"} <= value.keys()):
                continue
            number, unit = value["value"], value["unit"]
            if (
                not isinstance(number, int)
                or isinstance(number, bool)
                or not 0 <= number < _UINT64_LIMIT
            ):
                yield (
                    f"data[{index}].{key}.value must be an integer in [0, 2**64),"
                    f" got {number!r}"
                )
            if not isinstance(unit, str):
                yield f"data[{index}].{key}.unit must be a string, got {unit!r}"


def _check_metering(
    blob: bytes, info: MeteringFileInfo, limit: int, inflate: Any
) -> Iterable[str]:
    raw = codec.decompress(blob, limit, info.path, inflate)
    doc, part = codec.decode_metering(raw, info.path)
    expected = {
        "timestamp": info.timestamp,
        "category": info.category,
        "shared_pool_id": info.shared_pool_id,
        "self_id": info.self_id,
    }
    for field, value in expected.items():
        if getattr(doc, field) != value:
            yield f"{field} is {getattr(doc, field)!r} but the path says {value!r}"
    if part != info.part:
        yield f"part is {part} but the path says {info.part}"
    if info.timestamp % 60:
        yield f"timestamp {info.timestamp} is not on a minute (divisible by 60)"
    yield from _check_values(doc.data)


def _check_meta(
    blob: bytes, info: layout.MetaPathInfo, limit: int, inflate: Any
) -> Iterable[str]:
    raw = codec.decompress(blob, limit, info.path, inflate)
    doc = codec.decode_meta(raw, info.path)
    if doc.cluster_id and doc.cluster_id != info.cluster_id:
        yield f"cluster_id is {doc.cluster_id!r} but the path says {info.cluster_id!r}"
    if info.type is not None and doc.type is not None and doc.type != info.type:
        yield f"type is {doc.type.value!r} but the path says {info.type.value!r}"
    if doc.category and doc.category != info.category:
        yield f"category is {doc.category!r} but the path says {info.category!r}"
    if doc.modify_ts and doc.modify_ts != info.modify_ts:
        yield f"modify_ts is {doc.modify_ts} but the file name says {info.modify_ts}"


def _reason(exc: ValueError) -> str:
    """The rule an :class:`InvalidPathError` names, without the path again."""
    message = str(exc)
    path = getattr(exc, "path", None)
    if path is not None:
        message = message.removeprefix("path: ").removesuffix(f": {path!r}")
    return message


def _gaps(infos: Sequence[MeteringFileInfo]) -> Iterable[Problem]:
    groups: dict[tuple[int, str, str, str], list[int]] = defaultdict(list)
    for info in infos:
        key = (info.timestamp, info.category, info.shared_pool_id, info.self_id)
        groups[key].append(info.part)
    for (timestamp, category, pool, self_id), parts in sorted(groups.items()):
        missing = sorted(set(range(max(parts) + 1)) - set(parts))
        for part in missing:
            path = layout.metering_path(timestamp, category, pool, self_id, part)
            found = ", ".join(str(p) for p in sorted(parts))
            yield Problem(path, f"missing part {part} (found parts {found})")


def validate(
    fs: fsspec.AbstractFileSystem,
    start: int | None = None,
    end: int | None = None,
    *,
    config: Config | None = None,
    on_progress: Callable[[int], None] | None = None,
    on_total: Callable[[int], None] | None = None,
) -> Report:
    """Check every file in ``[start, end)`` (everything when no range).

    Parameters
    ----------
    on_total:
        Called once with the number of files about to be checked.
    on_progress:
        Called with the number of files checked since the last call.
    """
    config = config or Config()
    limits: dict[str, Any] = {
        "limit": config.max_decompressed_bytes,
        "inflate": get_deflate(config.codec),
    }
    metering, meta, stray = collect(fs, start, end)
    if on_total is not None:
        on_total(len(metering) + len(meta) + len(stray))
    problems = [Problem(path, "not in the metering or meta layout") for path in stray]
    checks: list[tuple[str, Callable[[bytes], Iterable[str]]]] = []
    infos: list[MeteringFileInfo] = []
    for path in metering:
        try:
            info = layout.parse_metering_path(path)
        except ValueError as exc:
            problems.append(
                Problem(path, f"not in the metering layout: {_reason(exc)}")
            )
            continue
        infos.append(info)
        checks.append((path, partial(_check_metering, info=info, **limits)))
    for path in meta:
        try:
            meta_info = layout.parse_meta_path(path)
        except ValueError as exc:
            problems.append(Problem(path, f"not in the meta layout: {_reason(exc)}"))
            continue
        checks.append((path, partial(_check_meta, info=meta_info, **limits)))
    if on_progress is not None:
        on_progress(len(metering) + len(meta) + len(stray) - len(checks))
    for offset in range(0, len(checks), _BATCH):
        batch = checks[offset : offset + _BATCH]
        blobs = fs.cat([path for path, _ in batch], on_error="return")
        for path, check in batch:
            blob = blobs.get(path, FileNotFoundError(path))
            if isinstance(blob, BaseException):
                problems.append(Problem(path, f"cannot read: {blob!r}"))
                continue
            try:
                problems.extend(Problem(path, message) for message in check(blob))
            except ValueError as exc:
                # Codec errors already start with the path; keep the reason only.
                message = str(exc)
                if message.startswith(path + ": "):
                    message = message[len(path) + 2 :]
                problems.append(Problem(path, message))
        if on_progress is not None:
            on_progress(len(batch))
    problems.extend(_gaps(infos))
    problems.sort(key=lambda p: p.path)
    return Report(checked=len(metering) + len(meta) + len(stray), problems=problems)
