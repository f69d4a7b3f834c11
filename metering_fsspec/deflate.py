"""Deflate engines: the standard library's zlib, or a faster drop-in.

Every engine writes one standard gzip member (readable by Go, gzip(1) and
Python's ``gzip``) and reads any gzip data. ``Config.codec`` chooses one:
``"auto"`` takes the fastest installed, ``"zlib"`` the standard library.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from types import ModuleType
from typing import Any

import attrs

__all__ = ["ENGINES", "Deflate", "available", "get_deflate"]

_GZIP_WBITS = 31  # zlib's "write a gzip header and trailer"


@attrs.frozen
class Deflate:
    """A zlib-compatible module with a mapping from zlib levels (0-9) to its own."""

    name: str
    module: Any = attrs.field(repr=False)
    map_level: Callable[[int], int] = attrs.field(
        repr=False, default=lambda level: level
    )

    def compress(self, raw: bytes | bytearray | memoryview, level: int) -> bytes:
        engine = self.module.compressobj(
            self.map_level(level), zlib.DEFLATED, _GZIP_WBITS
        )
        return engine.compress(raw) + engine.flush()  # type: ignore[no-any-return]

    def decompressobj(self) -> Any:
        return self.module.decompressobj(_GZIP_WBITS)


def _load(name: str) -> ModuleType | None:
    try:
        if name == "isal":
            from isal import isal_zlib

            return isal_zlib
        if name == "zlib-ng":
            from zlib_ng import zlib_ng

            return zlib_ng
    except ImportError:
        return None
    return zlib if name == "zlib" else None


def _isal_level(level: int) -> int:
    # ISA-L has levels 0-3; its levels 1-2 already match zlib-6's ratio closely.
    return 0 if level <= 0 else 1 if level <= 3 else 2 if level <= 6 else 3


# Fastest first: "auto" takes the first one installed.
ENGINES: dict[str, Callable[[int], int]] = {
    "isal": _isal_level,
    "zlib-ng": lambda level: level,
    "zlib": lambda level: level,
}
_cache: dict[str, Deflate] = {}


def available() -> list[str]:
    """Names of the engines importable here, fastest first."""
    return [name for name in ENGINES if _load(name) is not None]


def get_deflate(name: str = "zlib") -> Deflate:
    """The engine called ``name`` (``"auto"``: the fastest installed)."""
    if name == "auto":
        name = available()[0]
    if name not in _cache:
        if name not in ENGINES:
            raise ValueError(
                f"codec: unknown engine {name!r}, expected one of {sorted(ENGINES)} or 'auto'"
            )
        module = _load(name)
        if module is None:
            extra = "fast" if name != "zlib" else ""
            raise ValueError(
                f"codec: engine {name!r} is not installed"
                + (f" (pip install 'metering-fsspec[{extra}]')" if extra else "")
            )
        _cache[name] = Deflate(name, module, ENGINES[name])
    return _cache[name]
