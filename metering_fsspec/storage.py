"""Storage resolution: anything a user passes -> an fsspec filesystem rooted
at the metering root, plus the one function that stores a file safely.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Mapping
from typing import Any

import fsspec
from fsspec.implementations.dirfs import DirFileSystem
from fsspec.implementations.local import LocalFileSystem
from fsspec.implementations.memory import MemoryFileSystem
from upath import UPath

from .backends import spec
from .config import URI_SCHEMES, LocalFSConfig, MeteringConfig
from .errors import MeteringFileExistsError, StorageError, ValidationError
from .localfs import atomic_write
from .retry import RetryPolicy

__all__ = [
    "Storage",
    "file_exists",
    "filesystem_from_config",
    "open_storage",
    "to_upath",
    "write_file",
]

# A URI, a MeteringConfig, a UPath or an fsspec filesystem.
Storage = Any


def filesystem_from_config(
    config: MeteringConfig, **extra: Any
) -> fsspec.AbstractFileSystem:
    """An fsspec filesystem rooted at the metering root ``config`` describes."""
    backend = spec(config)
    fs = fsspec.filesystem(backend.protocol, **{**backend.options, **extra})
    return DirFileSystem(path=backend.root, fs=fs)


def open_storage(storage: Storage, **storage_options: Any) -> fsspec.AbstractFileSystem:
    """Resolve ``storage`` to an fsspec filesystem rooted at the metering root.

    Accepts a Go-style URI (``s3://``, ``oss://``, ``azure://``, ``localfs://``,
    ``file://``), any fsspec URL (``memory://x``, ``gcs://b/p``), a local path,
    a :class:`MeteringConfig`, a ``upath.UPath``, or an
    ``fsspec.AbstractFileSystem`` (used as-is: its root is the metering root).
    """
    if isinstance(storage, fsspec.AbstractFileSystem):
        if storage_options:
            raise ValidationError(
                "storage_options", "cannot be applied to a filesystem instance"
            )
        return storage
    if isinstance(storage, MeteringConfig):
        return storage.filesystem(**storage_options)
    if isinstance(storage, UPath):
        return DirFileSystem(path=storage.path, fs=storage.fs)
    if isinstance(storage, os.PathLike):
        storage = os.fspath(storage)
    if not isinstance(storage, str):
        raise ValidationError(
            "storage",
            f"expected a URI, MeteringConfig, UPath or filesystem, got {type(storage).__name__}",
        )
    scheme = storage.split("://", 1)[0].lower() if "://" in storage else ""
    if scheme in URI_SCHEMES:
        return MeteringConfig.from_uri(storage).filesystem(**storage_options)
    if not scheme:
        local = LocalFSConfig(base_path=os.path.abspath(storage))
        return MeteringConfig(type="localfs", localfs=local).filesystem(
            **storage_options
        )
    fs, path = fsspec.core.url_to_fs(storage, **storage_options)
    return DirFileSystem(path=path, fs=fs)


def to_upath(storage: Storage, **storage_options: Any) -> Any:
    """A ``upath.UPath`` for the metering root, with the storage options a
    Go-style URI implies (region, endpoint, keys). For notebooks.
    """
    if isinstance(storage, UPath):
        return storage
    if isinstance(storage, str) and storage.split("://", 1)[0].lower() in URI_SCHEMES:
        storage = MeteringConfig.from_uri(storage)
    if isinstance(storage, MeteringConfig):
        backend = spec(storage)
        root = (
            backend.root if backend.protocol == "localfs" else backend.root.lstrip("/")
        )
        return UPath(
            f"{backend.protocol}://{root}", **{**backend.options, **storage_options}
        )
    if isinstance(storage, fsspec.AbstractFileSystem):
        fs, root = _unwrap(storage, "")
        return UPath(
            fs.unstrip_protocol(root or fs.root_marker),
            protocol=_protocol(fs),
            **fs.storage_options,
        )
    if isinstance(storage, os.PathLike) or (
        isinstance(storage, str) and "://" not in storage
    ):
        return UPath(os.path.abspath(os.fspath(storage)))
    return UPath(storage, **storage_options)


# -- writing ------------------------------------------------------------------

_memory_lock = threading.Lock()


def _unwrap(
    fs: fsspec.AbstractFileSystem, path: str
) -> tuple[fsspec.AbstractFileSystem, str]:
    while isinstance(fs, DirFileSystem):
        # The layout's relative paths carry no protocol: join them directly
        # rather than through DirFileSystem._join's per-call stripping.
        if "://" in path:
            path = fs._join(path)
        elif fs.path and path:
            path = f"{fs.path.rstrip(fs.fs.sep)}{fs.fs.sep}{path.lstrip(fs.fs.sep)}"
        else:
            path = fs.path or path
        fs = fs.fs
    return fs, path


def write_file(
    fs: fsspec.AbstractFileSystem,
    path: str,
    data: bytes,
    *,
    overwrite: bool,
    retry: RetryPolicy | None = None,
    log: logging.Logger | None = None,
) -> None:
    """Store ``data`` at ``path`` in one step that no reader sees half done.

    Without ``overwrite`` an existing file raises
    :class:`MeteringFileExistsError`; where the backend allows it (local,
    memory, S3 ``If-None-Match``) the check and the write are one atomic step.

    Transient errors are retried by ``retry`` (default ``RetryPolicy()``);
    the last one raises :class:`RetriesExhaustedError` naming ``path``. An
    attempt that failed transiently may still have stored the file: when the
    next exclusive attempt finds ``path`` holding exactly ``data``, the write
    succeeded and no ``FileExistsError`` is raised.
    """
    policy = RetryPolicy() if retry is None else retry
    failed: list[BaseException] = []

    def attempt() -> None:
        try:
            _write_once(fs, path, data, overwrite=overwrite)
        except MeteringFileExistsError:
            if failed and _holds(fs, path, data, policy):
                return
            raise

    policy.call(attempt, target=f"write {path}", log=log, on_transient=failed.append)


def _holds(
    fs: fsspec.AbstractFileSystem, path: str, data: bytes, policy: RetryPolicy
) -> bool:
    """Whether ``path`` holds exactly ``data``."""
    try:
        stored = policy.call(lambda: fs.cat_file(path), target=f"read {path}")
    except Exception:
        return False
    return bool(stored == data)


def _write_once(
    fs: fsspec.AbstractFileSystem, path: str, data: bytes, *, overwrite: bool
) -> None:
    base, full = _unwrap(fs, path)
    try:
        if isinstance(base, LocalFileSystem):
            # Any local filesystem; ours adds create_dirs and permissions.
            atomic_write(
                full if full.startswith("/") else base._strip_protocol(full),
                data,
                overwrite=overwrite,
                create_dirs=getattr(base, "create_dirs", True),
                mode=getattr(base, "mode", None),
            )
        elif isinstance(base, MemoryFileSystem):
            # Memory files commit on close: check and store under one lock.
            with _memory_lock:
                if not overwrite and base.exists(full):
                    raise FileExistsError(full)
                base.pipe_file(full, data)
        else:
            fs.pipe_file(path, data, mode="overwrite" if overwrite else "create")
    except FileExistsError:
        raise MeteringFileExistsError(path) from None
    except FileNotFoundError as exc:
        raise StorageError(f"cannot write {path}: {exc.strerror or exc}") from exc


def file_exists(fs: fsspec.AbstractFileSystem, path: str) -> bool:
    """Whether ``path`` exists (one ``stat`` on local storage)."""
    base, full = _unwrap(fs, path)
    if isinstance(base, LocalFileSystem) and full.startswith("/"):
        return os.path.lexists(full)
    return bool(fs.exists(path))


def describe(fs: fsspec.AbstractFileSystem) -> Mapping[str, str]:
    """Protocol and root of ``fs`` for log messages (never credentials)."""
    base, root = _unwrap(fs, "")
    return {"protocol": _protocol(base), "root": root}


def _protocol(fs: fsspec.AbstractFileSystem) -> str:
    protocol = fs.protocol
    return protocol if isinstance(protocol, str) else str(protocol[0])
