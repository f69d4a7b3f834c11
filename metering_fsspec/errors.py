"""The exception hierarchy.

Every error is a :class:`MeteringError` and also subclasses the builtin a Python
user would naturally catch, so ``except FileExistsError`` keeps working.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

__all__ = [
    "CorruptFileError",
    "InvalidPathError",
    "MeteringError",
    "MeteringFileExistsError",
    "MeteringFileNotFoundError",
    "PartialReadError",
    "PartialWriteError",
    "RetriesExhaustedError",
    "SizeLimitError",
    "StorageError",
    "UnsupportedBackendError",
    "ValidationError",
]


class MeteringError(Exception):
    """Base class of every error raised by metering-fsspec."""


class ValidationError(MeteringError, ValueError):
    """Input refused before anything was written.

    ``field`` names the offending field (for example ``"self_id"``).
    """

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


class InvalidPathError(ValidationError):
    """A path that does not follow the storage layout."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__("path", f"{message}: {path!r}")
        self.path = path


class CorruptFileError(MeteringError, ValueError):
    """A file that is not valid gzip, not valid JSON, or not the expected shape."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path


class SizeLimitError(CorruptFileError):
    """A file whose decompressed size exceeds ``Config.max_decompressed_bytes``."""


class MeteringFileExistsError(MeteringError, FileExistsError):
    """Refusing to overwrite an existing file."""

    def __init__(self, path: str) -> None:
        super().__init__(f"file already exists: {path}")
        self.path = path
        self.filename = path

    def __str__(self) -> str:
        # OSError would show "[Errno None] None: path" once filename is set.
        return str(self.args[0])


class MeteringFileNotFoundError(MeteringError, FileNotFoundError):
    """A metering or meta file that does not exist."""

    def __init__(self, path: str, message: str = "file not found") -> None:
        super().__init__(f"{message}: {path}")
        self.path = path
        self.filename = path

    def __str__(self) -> str:
        # OSError would show "[Errno None] None: path" once filename is set.
        return str(self.args[0])


class StorageError(MeteringError, OSError):
    """The storage backend failed (network, permissions, missing directory...)."""


class RetriesExhaustedError(StorageError):
    """A storage call still failing transiently after its last retry.

    ``target`` names what was attempted (``"write PATH"``), ``attempts`` how
    many tries were made; the last error is chained as ``__cause__``.
    """

    def __init__(self, target: str, attempts: int, cause: BaseException) -> None:
        super().__init__(
            f"{target}: gave up after {attempts} attempt(s):"
            f" {type(cause).__name__}: {cause}"
        )
        self.target = target
        self.attempts = attempts


class UnsupportedBackendError(MeteringError, NotImplementedError):
    """A storage scheme that is known but not supported by this installation."""


class PartialReadError(MeteringError):
    """A batch read in which some files failed.

    Attributes
    ----------
    results:
        One entry per requested path, in input order; ``None`` where that file
        failed.
    errors:
        Path -> exception for every failed file.
    """

    def __init__(self, results: Sequence[Any], errors: Mapping[str, BaseException]):
        failed = ", ".join(sorted(errors)[:5])
        more = f" and {len(errors) - 5} more" if len(errors) > 5 else ""
        super().__init__(
            f"{len(errors)} of {len(results)} files failed to read: {failed}{more}"
        )
        self.results = list(results)
        self.errors = dict(errors)


class PartialWriteError(MeteringError):
    """A paginated write that stopped part-way.

    ``written`` lists the paths that are complete, ``failed`` the path whose
    write raised, and ``pending`` those not attempted. Retrying the same
    write with ``resume=True`` completes it without rewriting ``written``.
    """

    def __init__(
        self,
        written: Sequence[str],
        failed: str,
        pending: Sequence[str],
        cause: BaseException,
    ) -> None:
        super().__init__(
            f"write stopped at {failed} ({cause}); {len(written)} part(s) written"
            f" ({', '.join(written) or 'none'}), {len(pending)} not attempted;"
            " retry with resume=True to complete it"
        )
        self.written = list(written)
        self.failed = failed
        self.pending = list(pending)
