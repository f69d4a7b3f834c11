"""The ``localfs`` fsspec protocol: local files written atomically.

A local filesystem with the Go library's options (``create_dirs``,
``permissions``) whose ``pipe_file`` writes to a temporary name in the target
folder and then links (exclusive) or renames (overwrite) it into place, so a
reader never sees a partial file and of racing exclusive writers exactly one
wins. Registered with fsspec as ``localfs`` (entry point), so
``fsspec.filesystem("localfs")`` and ``UPath("localfs:///data")`` work.
"""

from __future__ import annotations

import contextlib
import errno
import os
from typing import Any

from fsspec.implementations.local import LocalFileSystem
from upath import UPath

__all__ = ["LocalfsPath", "MeteringLocalFileSystem", "atomic_write", "dir_mode_for"]


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _current_umask()


def dir_mode_for(file_mode: int) -> int:
    """A folder mode for a file mode: execute wherever read is granted (0640 -> 0750)."""
    return file_mode | ((file_mode & 0o444) >> 2)


def _makedirs(path: str, mode: int | None) -> None:
    """Create ``path`` and missing parents, giving each new folder ``mode`` exactly."""
    if os.path.isdir(path):
        return
    parent = os.path.dirname(path)
    if parent and parent != path:
        _makedirs(parent, mode)
    try:
        os.mkdir(path)
    except FileExistsError:
        if not os.path.isdir(path):
            raise
        return
    if mode is not None:
        os.chmod(path, mode)  # exact mode, whatever the umask


def _write_all(fd: int, data: bytes | bytearray | memoryview) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


_OPEN_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)


def atomic_write(
    path: str,
    data: bytes | bytearray | memoryview,
    *,
    overwrite: bool,
    create_dirs: bool = True,
    mode: int | None = None,
) -> None:
    """Write ``data`` to ``path`` so that readers see the whole file or none.

    The bytes go to a hidden temporary file in the same folder, which is then
    renamed (overwrite) or hard-linked (exclusive) to ``path``. Without
    ``overwrite`` an existing ``path`` raises ``FileExistsError``, and of
    several writers racing on one path exactly one succeeds (``link(2)`` is
    atomic and fails on an existing name).
    """
    folder, name = os.path.split(path)
    tmp = os.path.join(folder, f".{name}.{os.urandom(6).hex()}.tmp")
    file_mode = 0o666 if mode is None else mode
    try:
        fd = os.open(tmp, _OPEN_FLAGS, file_mode)
    except FileNotFoundError:
        if not create_dirs:
            raise FileNotFoundError(
                errno.ENOENT, "folder does not exist and create-dirs is false", folder
            ) from None
        _makedirs(folder or ".", None if mode is None else dir_mode_for(mode))
        fd = os.open(tmp, _OPEN_FLAGS, file_mode)
    done = False
    try:
        try:
            _write_all(fd, data)
            if mode is not None and mode & _UMASK:
                os.fchmod(fd, mode)  # the umask took bits the caller asked for
        finally:
            os.close(fd)
        if overwrite:
            os.replace(tmp, path)
            done = True
            return
        try:
            os.link(tmp, path)
        except OSError as exc:
            if exc.errno not in (
                errno.EPERM,
                errno.ENOTSUP,
                errno.EOPNOTSUPP,
                errno.EXDEV,
            ):
                raise
            # No hard links on this filesystem: the best remaining option.
            if os.path.lexists(path):
                raise FileExistsError(errno.EEXIST, "file exists", path) from None
            os.rename(tmp, path)
            done = True
    finally:
        if not done:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)


class MeteringLocalFileSystem(LocalFileSystem):  # type: ignore[misc]
    """Local files with atomic writes, ``create_dirs`` and ``permissions``.

    Parameters
    ----------
    create_dirs:
        Create missing folders on write (default). When false, writing into a
        missing folder raises ``FileNotFoundError``.
    permissions:
        Octal mode string (``"0640"``) or integer for files; folders get it
        plus execute wherever read is granted.
    """

    protocol = ("localfs",)  # type: ignore[assignment]
    root_marker = "/"

    def __init__(
        self,
        create_dirs: bool = True,
        permissions: str | int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(auto_mkdir=create_dirs, **kwargs)
        self.create_dirs = create_dirs
        if isinstance(permissions, str):
            permissions = int(permissions, 8) if permissions else None
        self.mode: int | None = permissions

    @classmethod
    def _strip_protocol(cls, path: Any) -> Any:
        path = (
            cls._stringify_path(path) if hasattr(cls, "_stringify_path") else str(path)
        )
        if isinstance(path, str) and path.startswith("localfs://"):
            rest = path[len("localfs://") :]
            # As the Go library: "localfs://data/logs" means "/data/logs".
            path = rest if rest.startswith("/") else "/" + rest
        return super()._strip_protocol(path)

    def unstrip_protocol(self, name: str) -> str:
        return f"localfs://{self._strip_protocol(name)}"

    def pipe_file(
        self, path: str, value: bytes, mode: str = "overwrite", **kwargs: Any
    ) -> None:
        atomic_write(
            self._strip_protocol(path),
            value,
            overwrite=mode != "create",
            create_dirs=self.create_dirs,
            mode=self.mode,
        )

    def makedirs(self, path: str, exist_ok: bool = False) -> None:
        path = self._strip_protocol(path)
        if os.path.exists(path) and not exist_ok:
            raise FileExistsError(errno.EEXIST, "folder exists", path)
        _makedirs(path, None if self.mode is None else dir_mode_for(self.mode))


class LocalfsPath(UPath):  # type: ignore[misc]
    """``UPath("localfs:///data/metering")``: a path on :class:`MeteringLocalFileSystem`."""

    __slots__ = ()
