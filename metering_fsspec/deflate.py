"""Deflate engines: the standard library's zlib, or a faster drop-in.

Every engine writes one standard gzip member (readable by Go, gzip(1) and
Python's ``gzip``) and reads any gzip data. ``Config.codec`` chooses one:
``"auto"`` takes the fastest installed, ``"zlib"`` the standard library,
``"isal"`` (the ``fast`` extra: ISA-L, several times faster at level 6's
ratio) or ``"zlib-ng"`` (``pip install zlib-ng``).
"""

from __future__ import annotations

import importlib
import zlib
from collections.abc import Callable
from types import ModuleType
from typing import Any

import attrs

from .errors import ValidationError

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
        """One gzip member holding ``raw``, at zlib ``level`` (0-9)."""
        # One call: no compressor object, no joining of its pieces.
        return self.module.compress(  # type: ignore[no-any-return]
            raw, self.map_level(level), wbits=_GZIP_WBITS
        )

    def decompressobj(self) -> Any:
        """An inflater for gzip data (``decompress(data, max_length)``, ``eof``)."""
        return self.module.decompressobj(_GZIP_WBITS)


def _same_level(level: int) -> int:
    return level


def _isal_level(level: int) -> int:
    # ISA-L has levels 0-3. On metering pages its level 2 is within a few
    # percent of zlib-6's ratio at about ten times the speed.
    return 0 if level <= 0 else 1 if level <= 3 else 2 if level <= 6 else 3


# name -> (module, level mapping, how to install it); fastest first, so
# "auto" takes the first one installed.
_SPECS: dict[str, tuple[str, Callable[[int], int], str]] = {
    "isal": ("isal.isal_zlib", _isal_level, "pip install 'metering-fsspec[fast]'"),
    "zlib-ng": ("zlib_ng.zlib_ng", _same_level, "pip install zlib-ng"),
    "zlib": ("zlib", _same_level, ""),
}
ENGINES: dict[str, Callable[[int], int]] = {
    name: spec[1] for name, spec in _SPECS.items()
}
_cache: dict[str, Deflate] = {}


def _load(name: str) -> ModuleType | None:
    if name == "zlib":
        return zlib
    try:
        return importlib.import_module(_SPECS[name][0])
    except ImportError:
        return None


def available() -> list[str]:
    """Names of the engines importable here, fastest first."""
    return [name for name in _SPECS if _load(name) is not None]


def get_deflate(name: str = "zlib") -> Deflate:
    """The engine called ``name`` (``"auto"``: the fastest installed).

    Raises
    ------
    ValidationError
        ``name`` is unknown, or its package is not installed (the message
        says how to install it).
    """
    if name == "auto":
        name = available()[0]
    engine = _cache.get(name)
    if engine is not None:
        return engine
    if name not in _SPECS:
        raise ValidationError(
            "codec",
            f"unknown engine {name!r}, expected 'auto' or one of {list(_SPECS)}",
        )
    module = _load(name)
    if module is None:
        raise ValidationError(
            "codec", f"engine {name!r} is not installed ({_SPECS[name][2]})"
        )
    engine = _cache[name] = Deflate(name, module, _SPECS[name][1])
    return engine
