"""Caches for :class:`MetaReader` answers: in memory or on disk.

Items are the encoded JSON of an answer. Past ``max_size`` bytes the least
recently used go first; with ``eviction_time`` > 0 items idle longer than that
many seconds are dropped before anything else. A cached answer is not
revalidated: a file written later with an older ``modify_ts`` than the cached
one (or any later file at or before the asked timestamp) is not seen until the
item leaves the cache.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Literal

import attrs

__all__ = ["CacheConfig", "DiskCache", "MemoryCache", "make_cache"]


@attrs.frozen
class CacheConfig:
    """How a :class:`MetaReader` caches answers.

    Parameters
    ----------
    type:
        ``"memory"`` or ``"disk"``.
    max_size:
        Bytes of encoded JSON kept at most.
    disk_path:
        Folder in which the disk cache makes its own folder (default: the
        system temporary folder). The reader's ``close()`` removes it.
    eviction_time:
        Seconds an item may stay unused (0: no limit).
    """

    type: Literal["memory", "disk"] = attrs.field(
        validator=attrs.validators.in_(["memory", "disk"])
    )
    max_size: int = attrs.field(validator=attrs.validators.gt(0))
    disk_path: str = ""
    eviction_time: float = attrs.field(default=0.0, validator=attrs.validators.ge(0))


class MemoryCache:
    """Least-recently-used cache of bytes with an idle timeout."""

    def __init__(
        self,
        max_size: int,
        eviction_time: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_size = max_size
        self.eviction_time = eviction_time
        self.clock = clock
        self.size = 0
        self._items: OrderedDict[Hashable, tuple[int, float]] = OrderedDict()
        self._values: dict[Hashable, bytes] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._items)

    def get(self, key: Hashable) -> bytes | None:
        with self._lock:
            entry = self._items.get(key)
            if entry is None:
                return None
            now = self.clock()
            if self.eviction_time and now - entry[1] > self.eviction_time:
                self._drop(key)
                return None
            value = self._load(key)
            if value is None:
                self._drop(key)
                return None
            self._items[key] = (entry[0], now)
            self._items.move_to_end(key)
            return value

    def put(self, key: Hashable, value: bytes) -> None:
        if len(value) > self.max_size:
            return
        with self._lock:
            if key in self._items:
                self._drop(key)
            now = self.clock()
            if self.eviction_time:
                for old in [
                    k
                    for k, (_, t) in self._items.items()
                    if now - t > self.eviction_time
                ]:
                    self._drop(old)
            while self._items and self.size + len(value) > self.max_size:
                self._drop(next(iter(self._items)))
            self._store(key, value)
            self._items[key] = (len(value), now)
            self.size += len(value)

    def close(self) -> None:
        with self._lock:
            for key in list(self._items):
                self._drop(key)

    # storage of values, overridden by the disk cache
    def _drop(self, key: Hashable) -> None:
        size, _ = self._items.pop(key)
        self.size -= size
        self._values.pop(key, None)

    def _store(self, key: Hashable, value: bytes) -> None:
        self._values[key] = value

    def _load(self, key: Hashable) -> bytes | None:
        return self._values.get(key)


class DiskCache(MemoryCache):
    """The same policy with values in files under a folder of its own."""

    def __init__(
        self,
        max_size: int,
        eviction_time: float = 0.0,
        disk_path: str = "",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(max_size, eviction_time, clock)
        if disk_path:
            os.makedirs(disk_path, exist_ok=True)
        self.folder = tempfile.mkdtemp(
            prefix="metering-meta-cache-", dir=disk_path or None
        )

    def _file(self, key: Hashable) -> str:
        return os.path.join(self.folder, hashlib.sha256(repr(key).encode()).hexdigest())

    def _drop(self, key: Hashable) -> None:
        size, _ = self._items.pop(key)
        self.size -= size
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self._file(key))

    def _store(self, key: Hashable, value: bytes) -> None:
        tmp = self._file(key) + ".tmp"
        with open(tmp, "wb") as handle:
            handle.write(value)
        os.replace(tmp, self._file(key))

    def _load(self, key: Hashable) -> bytes | None:
        try:
            with open(self._file(key), "rb") as handle:
                return handle.read()
        except FileNotFoundError:
            return None

    def close(self) -> None:
        super().close()
        shutil.rmtree(self.folder, ignore_errors=True)


def make_cache(config: CacheConfig) -> MemoryCache:
    if config.type == "disk":
        return DiskCache(config.max_size, config.eviction_time, config.disk_path)
    return MemoryCache(config.max_size, config.eviction_time)
