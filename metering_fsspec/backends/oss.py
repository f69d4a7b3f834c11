"""``oss``: not yet supported."""

from __future__ import annotations

from ..config import MeteringConfig
from ..errors import UnsupportedBackendError
from . import BackendSpec


def spec(config: MeteringConfig) -> BackendSpec:
    raise UnsupportedBackendError("oss storage is not yet supported by this version")
