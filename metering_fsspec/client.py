"""What writers and readers share: settings, the resolved filesystem, the
deflate engine and the logger, plus context-manager and ``repr`` behaviour."""

from __future__ import annotations

from types import TracebackType
from typing import Any

from .config import Config
from .deflate import get_deflate
from .storage import Storage, describe, open_storage

__all__ = ["StorageClient"]


class StorageClient:
    """Base of the writers and readers (not used on its own)."""

    def __init__(self, storage: Storage, config: Config | None = None) -> None:
        self.config = config or Config()
        self.fs = open_storage(storage)
        self._deflate = get_deflate(self.config.codec)
        self._log = self.config.get_logger()

    def close(self) -> None:
        """Release resources. Safe to call more than once."""

    def __enter__(self) -> Any:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        where = describe(self.fs)
        return f"{type(self).__name__}({where['protocol']}://{where['root']})"
