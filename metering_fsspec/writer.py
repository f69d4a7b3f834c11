"""Writers: validate, encode, compress, then store each file in one step."""

from __future__ import annotations

import contextlib
import functools
import operator
import threading
from typing import Any

import msgspec

from . import codec, layout
from .client import StorageClient
from .config import Config, MeteringConfig
from .errors import MeteringFileExistsError, PartialWriteError, ValidationError
from .schema import DEFAULT_SHARED_POOL_ID, MetaData, MeteringData
from .storage import Storage, file_exists, write_file

__all__ = ["MetaWriter", "MeteringWriter"]


class _Writer(StorageClient):
    def __init__(self, storage: Storage, config: Config | None = None) -> None:
        super().__init__(storage, config)
        self._closed = threading.Event()

    def _check_open(self) -> None:
        if self._closed.is_set():
            raise ValueError(f"{type(self).__name__} is closed")

    def _store(self, path: str, blob: bytes) -> None:
        write_file(
            self.fs,
            path,
            blob,
            overwrite=self.config.overwrite_existing,
            retry=self.config.retry,
            log=self._log,
        )
        if self.config.debug:
            self._log.debug("wrote %s (%d bytes)", path, len(blob))

    def close(self) -> None:
        """Refuse further writes. Safe to call more than once."""
        self._closed.set()


def _check_entries(entries: object) -> list[dict[str, Any]]:
    if entries is None:
        return []
    if not isinstance(entries, list):
        raise ValidationError(
            "data", f"must be a list of objects, got {type(entries).__name__}"
        )
    # Fast path, in C: plain dicts only. Their keys need no loop here: the
    # deterministic encoder refuses non-str keys, and ``prepare`` then calls
    # ``_check_keys`` to name the entry.
    if operator.countOf(map(type, entries), dict) == len(entries):
        return entries
    _check_keys(entries)
    return entries


def _check_keys(entries: list[Any]) -> None:
    """Raise for the first entry that is not a dict or has a non-str key."""
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise ValidationError(
                f"data[{index}]", f"must be a dict, got {type(entry).__name__}"
            )
        for key in entry:
            if not isinstance(key, str):
                raise ValidationError(
                    f"data[{index}]", f"keys must be strings, got {key!r}"
                )


class MeteringWriter(_Writer):
    """Writes :class:`MeteringData` under ``metering/ru/``.

    Parameters
    ----------
    storage:
        A URI, :class:`MeteringConfig`, ``UPath`` or fsspec filesystem.
    config:
        Writer settings (overwrite, pagination, compression).
    shared_pool_id:
        Used for data whose ``shared_pool_id`` is empty.
    """

    def __init__(
        self,
        storage: Storage,
        config: Config | None = None,
        *,
        shared_pool_id: str = DEFAULT_SHARED_POOL_ID,
    ) -> None:
        super().__init__(storage, config)
        self.shared_pool_id = shared_pool_id

    @classmethod
    def from_config(
        cls, metering_config: MeteringConfig, config: Config | None = None
    ) -> MeteringWriter:
        """A writer for the storage and shared pool of ``metering_config``."""
        return cls(
            metering_config,
            config,
            shared_pool_id=metering_config.shared_pool_id or DEFAULT_SHARED_POOL_ID,
        )

    def prepare(
        self, data: MeteringData
    ) -> tuple[MeteringData, list[str], list[bytes]]:
        """Validate and encode ``data``: its final form, paths and file bodies.

        Nothing is written; every error a write could raise for bad input is
        raised here.
        """
        if not isinstance(data, MeteringData):
            raise ValidationError(
                "data", f"expected MeteringData, got {type(data).__name__}"
            )
        entries = _check_entries(data.data)
        changes: dict[str, Any] = {}
        if not data.shared_pool_id:
            changes["shared_pool_id"] = self.shared_pool_id
        if entries is not data.data:
            changes["data"] = entries
        if changes:  # never mutate the caller's object
            data = msgspec.structs.replace(data, **changes)
        first = layout.metering_path(
            data.timestamp, data.category, data.shared_pool_id, data.self_id, 0
        )
        level = self.config.compression_level
        try:
            blobs = codec.compress_metering_pages(
                data, self.config.page_size_bytes, self._deflate, level
            )
        except ValidationError:
            _check_keys(entries)  # a clearer error naming the entry, if it applies
            raise
        paths = [first] + [
            layout.metering_path(
                data.timestamp, data.category, data.shared_pool_id, data.self_id, part
            )
            for part in range(1, len(blobs))
        ]
        return data, paths, blobs

    def write(self, data: MeteringData, *, resume: bool = False) -> list[str]:
        """Write ``data`` as parts 0..n-1 and return their paths in part order.

        Parameters
        ----------
        resume:
            Complete an earlier write of the same data that stopped part-way
            (see :class:`PartialWriteError`): parts already stored with the
            same content are kept, missing ones written; a stored part with
            different content still raises ``FileExistsError``.
        """
        self._check_open()
        data, paths, blobs = self.prepare(data)
        written: list[str] = []
        for index, (path, blob) in enumerate(zip(paths, blobs, strict=True)):
            try:
                if resume and self._same_content(path, blob):
                    written.append(path)
                    continue
                self._store(path, blob)
            except MeteringFileExistsError:
                if not written:
                    raise
                raise PartialWriteError(
                    written, path, paths[index + 1 :], MeteringFileExistsError(path)
                ) from None
            except Exception as exc:
                if len(paths) == 1:
                    raise
                raise PartialWriteError(written, path, paths[index + 1 :], exc) from exc
            written.append(path)
        if self.config.overwrite_existing:
            self._remove_stale_parts(data, len(paths))
        return paths

    def _same_content(self, path: str, blob: bytes) -> bool:
        try:
            existing = self.config.retry.call(
                lambda: self.fs.cat_file(path), target=f"read {path}", log=self._log
            )
        except FileNotFoundError:
            return False
        limit = self.config.max_decompressed_bytes
        new = codec.decompress(blob, limit, path, self._deflate)
        try:
            old = codec.decompress(existing, limit, path, self._deflate)
        except ValueError:
            return False
        return old == new

    def _remove(self, path: str) -> None:
        # An earlier attempt may have removed it before failing.
        with contextlib.suppress(FileNotFoundError):
            self.fs.rm_file(path)

    def _remove_stale_parts(self, data: MeteringData, count: int) -> None:
        """Delete parts >= ``count`` left by an earlier, longer write."""
        # Parts are written from 0 up and removed from the last down, so stale
        # parts, if any, include part ``count``: one probe spares a listing of
        # the folder on every overwrite.
        probe = layout.metering_path(
            data.timestamp, data.category, data.shared_pool_id, data.self_id, count
        )
        if not file_exists(self.fs, probe):
            return
        folder = layout.metering_dir(data.timestamp, data.category, data.shared_pool_id)
        prefix = f"{data.self_id}-"
        stale = []
        listing = self.config.retry.call(
            lambda: self.fs.ls(folder, detail=False),
            target=f"list {folder}",
            log=self._log,
        )
        for path in listing:
            name = path.rsplit("/", 1)[-1]
            if not name.startswith(prefix):
                continue
            try:
                info = layout.parse_metering_path(path)
            except ValueError:
                continue
            if info.self_id == data.self_id and info.part >= count:
                stale.append((info.part, path))
        stale.sort(reverse=True)  # last part first: see the probe above
        for _, path in stale:
            self.config.retry.call(
                functools.partial(self._remove, path),
                target=f"remove {path}",
                log=self._log,
            )
        if stale:
            self._log.info(
                "removed %d stale part(s) of %s/%s", len(stale), folder, data.self_id
            )


class MetaWriter(_Writer):
    """Writes :class:`MetaData` under ``metering/meta/{type}/[{category}/]{cluster_id}/``."""

    def prepare(self, meta: MetaData) -> tuple[str, bytes]:
        """Validate and encode ``meta``: its path and file body, writing nothing."""
        if not isinstance(meta, MetaData):
            raise ValidationError(
                "meta", f"expected MetaData, got {type(meta).__name__}"
            )
        if meta.metadata is not None and not isinstance(meta.metadata, dict):
            raise ValidationError(
                "metadata", f"must be a dict, got {type(meta.metadata).__name__}"
            )
        # Checks modify_ts, cluster_id, type and category.
        path = layout.meta_path(
            meta.cluster_id, meta.type, meta.modify_ts, meta.category
        )
        raw = codec.encode_meta(meta)
        return path, self._deflate.compress(raw, self.config.compression_level)

    def write(self, meta: MetaData) -> str:
        """Write ``meta`` and return its path."""
        self._check_open()
        path, blob = self.prepare(meta)
        self._store(path, blob)
        return path
