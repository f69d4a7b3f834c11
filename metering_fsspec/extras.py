"""Optional dependencies, imported on first use.

pyarrow, numpy, pandas, polars and dask are extras: importing the package
never imports them, and a feature that needs one names the extra to install.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

from .errors import MeteringError

__all__ = ["MissingExtraError", "require"]


class MissingExtraError(MeteringError, ImportError):
    """An optional dependency is not installed; the message names the extra."""

    def __init__(self, module: str, extra: str) -> None:
        super().__init__(
            f"{module} is required for this feature: "
            f"pip install 'metering-fsspec[{extra}]'",
            name=module,
        )
        self.extra = extra


def require(module: str, extra: str) -> ModuleType:
    """Import ``module`` or raise :class:`MissingExtraError` naming ``extra``."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingExtraError(module, extra) from exc


def _pa(extra: str = "arrow") -> Any:
    return require("pyarrow", extra)


def _np(extra: str = "arrow") -> Any:
    return require("numpy", extra)
