"""``localfs``/``file``: local files through :class:`MeteringLocalFileSystem`."""

from __future__ import annotations

import os
from typing import Any

from ..config import MeteringConfig
from ..errors import ValidationError
from . import BackendSpec


def spec(config: MeteringConfig) -> BackendSpec:
    local = config.localfs
    if local is None or not local.base_path:
        raise ValidationError("base-path", "is required for localfs storage")
    root = os.path.join(os.path.abspath(local.base_path), config.prefix.strip("/"))
    options: dict[str, Any] = {"create_dirs": local.create_dirs}
    if local.mode is not None:
        options["permissions"] = local.mode
    return BackendSpec("localfs", root.rstrip("/") or "/", options)
