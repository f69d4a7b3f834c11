"""A fault-injecting fsspec filesystem for tests.

:class:`FaultyFileSystem` wraps another filesystem (memory, local, S3...) and
passes every call through, except those a :class:`Fault` (or the random fault
rate) selects, which fail in one of three ways:

``before``
    raise without touching storage (a request that never arrived);
``after``
    perform the call, then raise (a request whose answer was lost);
``torn``
    for ``pipe_file``: die half-way through writing the file. What a crash
    leaves depends on the backend: an atomic local write leaves a truncated
    hidden temporary file beside the target, an object store (S3 ``PUT``)
    leaves nothing; ``torn_visible=True`` instead leaves a truncated object
    at the final path, as a backend without atomic writes would.

Writes go to the wrapped filesystem through the library's own ``write_file``
(retries off), so the wrapped backend keeps its atomic exclusive create.
Counters record calls, injected faults and completed stores per path.
"""

from __future__ import annotations

import errno
import os
import random
import tempfile
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal

import fsspec
from botocore.exceptions import ClientError
from fsspec.implementations.dirfs import DirFileSystem
from s3fs.errors import translate_boto_error

from metering_fsspec.localfs import MeteringLocalFileSystem
from metering_fsspec.retry import RetryPolicy
from metering_fsspec.storage import write_file

Mode = Literal["before", "after", "torn"]
ErrorFactory = Callable[[str], BaseException]


# -- errors as real backends raise them ---------------------------------------


def http_error(status: int, code: str, operation: str = "PutObject") -> ErrorFactory:
    """An HTTP error as s3fs raises it (``OSError`` chained to botocore's)."""

    def make(path: str) -> BaseException:
        response: Any = {
            "Error": {"Code": code, "Message": f"injected {status} for {path}"},
            "ResponseMetadata": {"HTTPStatusCode": status},
        }
        return translate_boto_error(ClientError(response, operation))  # type: ignore[no-any-return]

    return make


service_unavailable = http_error(503, "SlowDown")
internal_error = http_error(500, "InternalError")


def timeout(path: str) -> BaseException:
    return TimeoutError(errno.ETIMEDOUT, "injected timeout", path)


def connection_reset(path: str) -> BaseException:
    return ConnectionResetError(errno.ECONNRESET, "injected connection reset", path)


def permission_denied(path: str) -> BaseException:
    return PermissionError(errno.EACCES, "injected access denied", path)


def io_error(path: str) -> BaseException:
    """An ``OSError`` that says nothing about being transient."""
    return OSError(errno.EIO, "injected I/O error", path)


TRANSIENT: tuple[ErrorFactory, ...] = (
    service_unavailable,
    internal_error,
    timeout,
    connection_reset,
)


@dataclass
class Fault:
    """Fail calls ``nth`` .. ``nth + times - 1`` (1-based) of ``op``.

    Only calls whose path contains ``match`` are counted when it is set.
    """

    op: str
    nth: int = 1
    times: int = 1
    error: ErrorFactory = service_unavailable
    mode: Mode = "before"
    match: str = ""
    seen: int = 0


class FaultyFileSystem(fsspec.AbstractFileSystem):  # type: ignore[misc]
    """Pass calls through to ``fs``; fail the ones the faults select.

    Parameters
    ----------
    fs:
        The wrapped filesystem (its root is this filesystem's root).
    faults:
        Scheduled faults, checked in order; the first that selects a call wins.
    rate:
        Probability that any call of ``random_ops`` fails with a random
        transient error in a random mode of ``random_modes``.
    seed:
        Seed of the random faults, so a failing run can be replayed.
    torn_visible:
        A torn write leaves a truncated object at the final path.
    """

    protocol = "faulty"
    cachable = False

    def __init__(
        self,
        fs: fsspec.AbstractFileSystem,
        faults: Iterable[Fault] = (),
        *,
        rate: float = 0.0,
        seed: int = 0,
        random_ops: Iterable[str] = ("pipe_file", "cat_file", "find", "ls"),
        random_modes: Iterable[Mode] = ("before", "after"),
        torn_visible: bool = False,
    ) -> None:
        super().__init__()
        self.fs = fs
        self.faults = list(faults)
        self.rate = rate
        self.random_ops = frozenset(random_ops)
        self.random_modes: list[Mode] = list(random_modes)
        self.torn_visible = torn_visible
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self.calls: Counter[str] = Counter()
        self.injected: Counter[str] = Counter()
        self.stored: Counter[str] = Counter()  # completed writes per path

    # -- the fault decision ----------------------------------------------------

    def _pick(self, op: str, path: str) -> tuple[Mode, BaseException] | None:
        with self._lock:
            self.calls[op] += 1
            for fault in self.faults:
                if fault.op != op or fault.match not in path:
                    continue
                fault.seen += 1
                if fault.nth <= fault.seen < fault.nth + fault.times:
                    self.injected[op] += 1
                    return fault.mode, fault.error(path)
            if self.rate and op in self.random_ops and self._rng.random() < self.rate:
                self.injected[op] += 1
                mode = self._rng.choice(self.random_modes)
                return mode, self._rng.choice(TRANSIENT)(path)
        return None

    def _run(self, op: str, path: str, call: Callable[[], Any]) -> Any:
        picked = self._pick(op, path)
        if picked is None:
            return call()
        mode, error = picked
        if mode == "before":
            raise error
        call()
        raise error

    @property
    def faults_injected(self) -> int:
        return sum(self.injected.values())

    # -- writing ---------------------------------------------------------------

    def pipe_file(
        self, path: str, value: bytes, mode: str = "overwrite", **kwargs: Any
    ) -> None:
        path = self._strip_protocol(path)
        picked = self._pick("pipe_file", path)
        if picked is not None and picked[0] == "torn":
            self._tear(path, bytes(value))
            raise picked[1]
        if picked is not None and picked[0] == "before":
            raise picked[1]
        write_file(
            self.fs,
            path,
            bytes(value),
            overwrite=mode != "create",
            retry=RetryPolicy.disabled(),
        )
        with self._lock:
            self.stored[path] += 1
        if picked is not None:
            raise picked[1]

    def _tear(self, path: str, value: bytes) -> None:
        """Leave what a writer dying half-way through ``value`` would leave."""
        half = value[: len(value) // 2]
        if self.torn_visible:
            self.fs.pipe_file(path, half)
            return
        base, full = self.fs, path
        while isinstance(base, DirFileSystem):
            full = base._join(full)
            base = base.fs
        if isinstance(base, MeteringLocalFileSystem):
            # As localfs.atomic_write: a hidden temporary name in the folder.
            folder = os.path.dirname(full)
            os.makedirs(folder, exist_ok=True)
            fd, _ = tempfile.mkstemp(
                prefix=f".{os.path.basename(full)}.", suffix=".tmp", dir=folder
            )
            with os.fdopen(fd, "wb") as handle:
                handle.write(half)
        # An object store never shows an upload that did not complete.

    # -- reading and listing -----------------------------------------------------

    def cat_file(
        self, path: str, start: int | None = None, end: int | None = None, **kw: Any
    ) -> bytes:
        path = self._strip_protocol(path)
        return self._run(  # type: ignore[no-any-return]
            "cat_file", path, lambda: self.fs.cat_file(path, start=start, end=end, **kw)
        )

    def find(self, path: str, *args: Any, **kwargs: Any) -> Any:
        path = self._strip_protocol(path)
        return self._run("find", path, lambda: self.fs.find(path, *args, **kwargs))

    def ls(self, path: str, detail: bool = True, **kwargs: Any) -> Any:
        path = self._strip_protocol(path)
        return self._run("ls", path, lambda: self.fs.ls(path, detail=detail, **kwargs))

    def info(self, path: str, **kwargs: Any) -> Any:
        path = self._strip_protocol(path)
        return self._run("info", path, lambda: self.fs.info(path, **kwargs))

    def exists(self, path: str, **kwargs: Any) -> bool:
        path = self._strip_protocol(path)
        return self._run("exists", path, lambda: self.fs.exists(path, **kwargs))  # type: ignore[no-any-return]

    def rm_file(self, path: str) -> None:
        path = self._strip_protocol(path)
        self._run("rm_file", path, lambda: self.fs.rm_file(path))

    def rm(self, path: Any, recursive: bool = False, maxdepth: Any = None) -> None:
        paths = [path] if isinstance(path, str) else list(path)
        for one in paths:
            self.rm_file(one)

    def makedirs(self, path: str, exist_ok: bool = False) -> None:
        self.fs.makedirs(self._strip_protocol(path), exist_ok=exist_ok)

    def mkdir(self, path: str, create_parents: bool = True, **kwargs: Any) -> None:
        self.fs.mkdir(self._strip_protocol(path), create_parents, **kwargs)

    def invalidate_cache(self, path: str | None = None) -> None:
        self.fs.invalidate_cache(path)

    def _open(self, path: str, mode: str = "rb", **kwargs: Any) -> Any:
        if "r" not in mode:
            raise NotImplementedError("FaultyFileSystem writes only via pipe_file")
        return self.fs.open(self._strip_protocol(path), mode, **kwargs)
