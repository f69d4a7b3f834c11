"""Readers: list by the layout, fetch (concurrently where possible), decode."""

from __future__ import annotations

import builtins
import inspect
import warnings
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import msgspec
from fsspec.implementations.memory import MemoryFileSystem

from . import codec, layout
from .cache import CacheConfig, MemoryCache, make_cache
from .client import StorageClient
from .config import Config
from .errors import MeteringFileNotFoundError, PartialReadError
from .schema import MetaData, MetaType, MeteringData, MeteringFileInfo, TimestampFiles
from .storage import Storage, _unwrap

__all__ = ["MetaReader", "MeteringReader", "MeteringWarning"]

T = TypeVar("T")


def _cat_options(fs: Any) -> dict[str, Any]:
    """Options for ``cat_file`` / ``cat`` that suit small files on ``fs``."""
    # s3fs sends a HEAD request for the size before every whole-file read,
    # to split large files into ranges, unless max_concurrency is 1: metering
    # files are small, and one GET instead of two halves the requests.
    if any(cls.__name__ == "S3FileSystem" for cls in type(fs).__mro__):
        try:
            parameters = inspect.signature(fs._cat_file).parameters
        except (AttributeError, TypeError, ValueError):
            return {}
        if "max_concurrency" in parameters:
            return {"max_concurrency": 1}
    return {}


class MeteringWarning(UserWarning):
    """A file that does not follow the layout was skipped."""


class _Reader(StorageClient):
    def __init__(self, storage: Storage, config: Config | None = None) -> None:
        super().__init__(storage, config)
        base, _ = _unwrap(self.fs, "")
        self._async = bool(getattr(base, "async_impl", False))
        self._threads = not self._async and not isinstance(base, MemoryFileSystem)
        self._cat_options = _cat_options(base)

    # -- fetching ----------------------------------------------------------------

    def _fetch(self, path: str) -> bytes:
        try:
            blob = self.config.retry.call(
                lambda: self._cat(path), target=f"read {path}", log=self._log
            )
        except FileNotFoundError:
            raise MeteringFileNotFoundError(path) from None
        except IsADirectoryError:
            raise MeteringFileNotFoundError(path, "not a file") from None
        if self.config.debug:
            self._log.debug("read %s (%d bytes)", path, len(blob))
        return blob  # type: ignore[no-any-return]

    def _fetch_or_error(self, path: str) -> bytes | BaseException:
        try:
            return self._fetch(path)
        except Exception as exc:
            return exc

    def _cat(self, path: str) -> bytes:
        options = self._cat_options
        try:
            return self.fs.cat_file(path, **options)  # type: ignore[no-any-return]
        except FileNotFoundError:
            # s3fs consults its cached listing of the folder, which may predate
            # the file: forget it and ask the storage once more.
            self.fs.invalidate_cache(path)
            return self.fs.cat_file(path, **options)  # type: ignore[no-any-return]

    def _inflate(self, blob: bytes, path: str) -> bytes:
        return codec.decompress(
            blob, self.config.max_decompressed_bytes, path, self._deflate
        )

    def _read_many(
        self, paths: Sequence[str], decode: Callable[[bytes, str], T]
    ) -> list[T]:
        """Fetch and decode ``paths`` concurrently; results in input order.

        Async filesystems (S3...) fetch with one batch ``cat``; others use a
        thread pool. Failures are collected into :class:`PartialReadError`.
        """
        paths = list(paths)
        results: list[T | None] = [None] * len(paths)
        errors: dict[str, BaseException] = {}

        def one(index: int, path: str, blob: bytes | BaseException) -> None:
            try:
                if isinstance(blob, BaseException):
                    if isinstance(blob, FileNotFoundError):
                        raise MeteringFileNotFoundError(path) from None
                    raise blob
                results[index] = decode(blob, path)
            except Exception as exc:
                errors[path] = exc

        # One pause of the garbage collector for the whole batch (see
        # codec.gc_paused): the documents decoded so far are not walked again
        # and again as the batch grows.
        with codec.gc_paused():
            if self._async and len(paths) > 1:
                unique = list(dict.fromkeys(paths))
                blobs = self.config.retry.call(
                    lambda: self.fs.cat(unique, on_error="return", **self._cat_options),
                    target=f"read {len(unique)} files",
                    log=self._log,
                )
                for path, blob in blobs.items():
                    # Retry each transient failure on its own, as _fetch does, and
                    # recheck a missing file past a stale cached listing.
                    if isinstance(blob, FileNotFoundError) or (
                        isinstance(blob, Exception)
                        and self.config.retry.transient(blob)
                    ):
                        blobs[path] = self._fetch_or_error(path)
                for index, path in enumerate(paths):
                    one(index, path, blobs.get(path, MeteringFileNotFoundError(path)))
            elif self._threads and len(paths) > 1:
                # Threads only fetch (I/O releases the GIL). Decoding holds the GIL,
                # so it runs here, in input order, while later files are fetched:
                # decoding in the pool made threads fight over the GIL.
                workers = min(self.config.max_concurrency, len(paths))
                with ThreadPoolExecutor(
                    workers, thread_name_prefix="metering-read"
                ) as pool:
                    for index, (path, blob) in enumerate(
                        zip(paths, pool.map(self._fetch_or_error, paths), strict=True)
                    ):
                        one(index, path, blob)
            else:
                for index, path in enumerate(paths):
                    one(index, path, self._fetch_or_error(path))
        if errors:
            raise PartialReadError(results, errors)
        return results  # type: ignore[return-value]

    def _list(self, prefix: str) -> list[str]:
        """Every file whose path starts with ``prefix`` (relative to the root)."""
        prefix = prefix.lstrip("/")
        folder = prefix.rsplit("/", 1)[0] if "/" in prefix else ""

        def find() -> list[str]:
            self.fs.invalidate_cache(folder)
            return self.fs.find(folder)  # type: ignore[no-any-return]

        try:
            found = self.config.retry.call(
                find, target=f"list {folder or '/'}", log=self._log
            )
        except FileNotFoundError:
            return []
        return sorted(path for path in found if path.startswith(prefix))

    def _ls(self, folder: str) -> list[dict[str, Any]]:
        def ls() -> list[dict[str, Any]]:
            self.fs.invalidate_cache(folder)
            return self.fs.ls(folder, detail=True)  # type: ignore[no-any-return]

        try:
            return self.config.retry.call(ls, target=f"list {folder}", log=self._log)
        except FileNotFoundError:
            return []
        except NotADirectoryError:
            return []


class MeteringReader(_Reader):
    """Reads metering files written by this library or the Go library."""

    def _file_infos(self, timestamp: int) -> builtins.list[MeteringFileInfo]:
        infos = []
        for path in self._list(layout.timestamp_dir(timestamp) + "/"):
            name = path.rsplit("/", 1)[-1]
            if name.startswith(".") and not name.endswith(layout.SUFFIX):
                # A write in progress (".{name}.XXXX.tmp") or a hidden file; a
                # self_id may itself start with a dot, so "." alone is no test.
                continue
            try:
                infos.append(layout.parse_metering_path(path))
            except ValueError as exc:
                self._log.warning("skipping a file outside the layout: %s", exc)
                warnings.warn(f"skipping {path}: {exc}", MeteringWarning, stacklevel=3)
        infos.sort(key=lambda i: (i.category, i.shared_pool_id, i.self_id, i.part))
        return infos

    def list_files_by_timestamp(self, timestamp: int) -> TimestampFiles:
        """Files of one minute grouped by category; each list ordered by
        shared_pool_id, self_id, then part as a number.
        """
        files: dict[str, builtins.list[str]] = {}
        for info in self._file_infos(timestamp):
            files.setdefault(info.category, []).append(info.path)
        return TimestampFiles(timestamp=timestamp, files=files)

    def get_categories(self, timestamp: int) -> builtins.list[str]:
        return sorted(self.list_files_by_timestamp(timestamp).files)

    def get_files_by_category(
        self, timestamp: int, category: str
    ) -> builtins.list[str]:
        layout.check_segment("category", category)
        return self.list_files_by_timestamp(timestamp).files.get(category, [])

    def get_file_info(self, path: str) -> MeteringFileInfo:
        """Parse a metering path; ``ValueError`` if it is outside the layout."""
        return layout.parse_metering_path(path)

    def _decode(self, blob: bytes, path: str) -> MeteringData:
        return codec.decode_metering(self._inflate(blob, path), path)[0]

    def read_file(self, path: str) -> MeteringData:
        return self._decode(self._fetch(path), path)

    def read_files(self, paths: Sequence[str]) -> builtins.list[MeteringData]:
        """Read many files concurrently; results in input order.

        If any fail, :class:`PartialReadError` carries the good results and
        the errors.
        """
        return self._read_many(paths, self._decode)

    def list(self, prefix: str = "") -> builtins.list[str]:
        """Every file path (relative to the root) that starts with ``prefix``."""
        return self._list(prefix)

    def timestamps(self, start: int = 0, end: int | None = None) -> builtins.list[int]:
        """Minutes that have a folder, in ``[start, end)``, ascending."""
        found = []
        for entry in self._ls(layout.METERING_ROOT):
            if entry.get("type") != "directory":
                continue
            name = entry["name"].rstrip("/").rsplit("/", 1)[-1]
            if (
                name.isdigit()
                and start <= int(name)
                and (end is None or int(name) < end)
            ):
                found.append(int(name))
        return sorted(found)

    def scan_files(
        self,
        start: int,
        end: int,
        *,
        category: str | None = None,
        shared_pool_id: str | None = None,
        self_id: str | None = None,
    ) -> Iterator[MeteringFileInfo]:
        """File infos in ``[start, end)`` matching the filters, in read order."""
        for timestamp in self.timestamps(start, end):
            for info in self._file_infos(timestamp):
                if (
                    (category is None or info.category == category)
                    and (
                        shared_pool_id is None or info.shared_pool_id == shared_pool_id
                    )
                    and (self_id is None or info.self_id == self_id)
                ):
                    yield info

    def scan(
        self,
        start: int,
        end: int,
        *,
        category: str | None = None,
        shared_pool_id: str | None = None,
        self_id: str | None = None,
        errors: dict[str, BaseException] | None = None,
    ) -> Iterator[MeteringData]:
        """Documents of every minute in ``[start, end)``, in timestamp order.

        Each minute's files are fetched as one concurrent batch. By default a
        minute with unreadable files raises :class:`PartialReadError` carrying
        that minute's good results, which ends the scan.

        Parameters
        ----------
        errors:
            Scan past unreadable files instead: each failure is recorded here
            (path -> exception) and logged, and every readable document is
            still yielded. Check it when the scan ends.
        """
        batch: builtins.list[str] = []
        current: int | None = None
        for info in self.scan_files(
            start,
            end,
            category=category,
            shared_pool_id=shared_pool_id,
            self_id=self_id,
        ):
            if current is not None and info.timestamp != current and batch:
                yield from self._scan_batch(batch, errors)
                batch = []
            current = info.timestamp
            batch.append(info.path)
        if batch:
            yield from self._scan_batch(batch, errors)

    def _scan_batch(
        self, paths: builtins.list[str], errors: dict[str, BaseException] | None
    ) -> builtins.list[MeteringData]:
        if errors is None:
            return self.read_files(paths)
        try:
            return self.read_files(paths)
        except PartialReadError as exc:
            errors.update(exc.errors)
            for path, error in exc.errors.items():
                self._log.warning("scan could not read %s: %s", path, error)
            return [doc for doc in exc.results if doc is not None]

    # -- tables (optional extras, imported on first use) -------------------------

    def to_arrow(
        self,
        start: int,
        end: int,
        *,
        category: str | None = None,
        shared_pool_id: str | None = None,
        self_id: str | None = None,
    ) -> Any:
        """``[start, end)`` as a ``pyarrow.Table``, one row per (document,
        entry, metric); see :mod:`metering_fsspec.frames`. Needs the ``arrow`` extra.
        """
        from . import frames

        return frames.read_table(
            self,
            start,
            end,
            category=category,
            shared_pool_id=shared_pool_id,
            self_id=self_id,
        )

    def to_pandas(
        self,
        start: int,
        end: int,
        *,
        category: str | None = None,
        shared_pool_id: str | None = None,
        self_id: str | None = None,
    ) -> Any:
        """:meth:`to_arrow` as a pandas DataFrame (Arrow-backed dtypes)."""
        from . import frames

        frames.require("pandas", "pandas")
        table = self.to_arrow(
            start,
            end,
            category=category,
            shared_pool_id=shared_pool_id,
            self_id=self_id,
        )
        return frames.to_pandas(table)

    def to_polars(
        self,
        start: int,
        end: int,
        *,
        category: str | None = None,
        shared_pool_id: str | None = None,
        self_id: str | None = None,
    ) -> Any:
        """:meth:`to_arrow` as a polars DataFrame."""
        from . import frames

        frames.require("polars", "polars")
        table = self.to_arrow(
            start,
            end,
            category=category,
            shared_pool_id=shared_pool_id,
            self_id=self_id,
        )
        return frames.to_polars(table)


_cache_encoder = msgspec.json.Encoder()
_cache_decoder = msgspec.json.Decoder(MetaData)

# Rank on equal modify_ts in ``MetaReader.read``: typed beats legacy, logic beats sharedpool.
_RANK: dict[MetaType | None, int] = {None: 0, MetaType.SHAREDPOOL: 1, MetaType.LOGIC: 2}


class MetaReader(_Reader):
    """Reads meta files: the metadata in force for a cluster at a time.

    Parameters
    ----------
    cache:
        Cache answers in memory or on disk; a cache hit makes no storage
        request. See :mod:`metering_fsspec.cache` for when an answer can be
        stale.
    """

    def __init__(
        self,
        storage: Storage,
        config: Config | None = None,
        *,
        cache: CacheConfig | None = None,
    ) -> None:
        super().__init__(storage, config)
        self.cache: MemoryCache | None = (
            make_cache(cache) if cache is not None else None
        )

    def _decode(self, blob: bytes, path: str) -> MetaData:
        return codec.decode_meta(self._inflate(blob, path), path)

    def read_file(self, path: str) -> MetaData:
        return self._decode(self._fetch(path), path)

    def read_files(self, paths: Sequence[str]) -> builtins.list[MetaData]:
        return self._read_many(paths, self._decode)

    def list(self, prefix: str = "") -> builtins.list[str]:
        """Every file path (relative to the root) that starts with ``prefix``."""
        return self._list(prefix)

    def _candidates(self, folder: str) -> builtins.list[tuple[int, str]]:
        """(modify_ts, path) of the meta files directly inside ``folder``."""
        found = []
        for entry in self._ls(folder):
            if entry.get("type") != "file":
                continue
            ts = layout.modify_ts_of(entry["name"])
            if ts is not None:
                found.append((ts, f"{folder}/{entry['name'].rsplit('/', 1)[-1]}"))
        return found

    def _cached(
        self, key: tuple[Any, ...], compute: Callable[[], MetaData]
    ) -> MetaData:
        if self.cache is not None:
            hit = self.cache.get(key)
            if hit is not None:
                return _cache_decoder.decode(hit)
        meta = compute()
        if self.cache is not None:
            self.cache.put(key, _cache_encoder.encode(meta))
        return meta

    def read_by_type(
        self,
        cluster_id: str,
        meta_type: MetaType | str,
        timestamp: int,
        *,
        category: str = "",
    ) -> MetaData:
        """The newest meta of ``meta_type`` with ``modify_ts <= timestamp``.

        ``cluster_id``, ``type``, ``category`` and ``modify_ts`` of the result
        come from the request and the file name, as in the Go library.
        """
        kind = layout.check_meta_type(meta_type)
        folder = layout.meta_dir(cluster_id, kind, category)

        def compute() -> MetaData:
            eligible = [c for c in self._candidates(folder) if c[0] <= timestamp]
            if not eligible:
                raise MeteringFileNotFoundError(
                    folder, f"no {kind.value} meta file with modify_ts <= {timestamp}"
                )
            modify_ts, path = max(eligible)
            meta = self.read_file(path)
            return msgspec.structs.replace(
                meta,
                cluster_id=cluster_id,
                type=kind,
                category=category,
                modify_ts=modify_ts,
            )

        return self._cached(
            ("type", cluster_id, kind.value, category, timestamp), compute
        )

    def read(self, cluster_id: str, timestamp: int, *, category: str = "") -> MetaData:
        """The newest meta with ``modify_ts <= timestamp`` over the legacy and
        every typed layout. On equal ``modify_ts`` a typed file wins over a
        legacy one, ``logic`` over ``sharedpool``.
        """
        folders = {kind: layout.meta_dir(cluster_id, kind, category) for kind in _RANK}

        def compute() -> MetaData:
            best: tuple[int, int, str, MetaType | None] | None = None
            for kind, folder in folders.items():
                for modify_ts, path in self._candidates(folder):
                    if modify_ts <= timestamp:
                        candidate = (modify_ts, _RANK[kind], path, kind)
                        best = (
                            candidate
                            if best is None or candidate[:2] > best[:2]
                            else best
                        )
            if best is None:
                raise MeteringFileNotFoundError(
                    folders[None], f"no meta file with modify_ts <= {timestamp}"
                )
            modify_ts, _, path, kind = best
            meta = self.read_file(path)
            return msgspec.structs.replace(
                meta,
                cluster_id=cluster_id,
                type=kind if kind is not None else meta.type,
                category=category,
                modify_ts=modify_ts,
            )

        return self._cached(("any", cluster_id, category, timestamp), compute)

    def to_arrow(
        self,
        *,
        cluster_id: str | None = None,
        meta_type: MetaType | str | None = None,
        category: str | None = None,
    ) -> Any:
        """Every meta file as a ``pyarrow.Table``, one row per (cluster_id,
        type, category, modify_ts); see
        :func:`metering_fsspec.meta_frames.meta_table`.
        """
        from . import meta_frames

        return meta_frames.meta_table(
            self, cluster_id=cluster_id, meta_type=meta_type, category=category
        )

    def to_pandas(
        self,
        *,
        cluster_id: str | None = None,
        meta_type: MetaType | str | None = None,
        category: str | None = None,
    ) -> Any:
        """:meth:`to_arrow` as a pandas DataFrame."""
        from . import frames

        frames.require("pandas", "pandas")
        return frames.to_pandas(
            self.to_arrow(cluster_id=cluster_id, meta_type=meta_type, category=category)
        )

    def close(self) -> None:
        """Drop the cache (and remove the disk cache's folder)."""
        if self.cache is not None:
            self.cache.close()
