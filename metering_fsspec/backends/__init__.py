"""One module per storage type: each turns a :class:`MeteringConfig` into an
fsspec protocol, a root path and storage options.

``spec(config)`` is the only entry point; modules import their cloud SDKs
lazily so that a missing optional dependency only matters when used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

import attrs
import fsspec
import upath.registry

from ..errors import ValidationError
from ..redact import register_secret

if TYPE_CHECKING:
    from ..config import MeteringConfig

__all__ = ["BackendSpec", "spec"]


@attrs.frozen
class BackendSpec:
    """What fsspec needs to open a metering root.

    ``options`` may hold credentials: never log or print it.
    """

    protocol: str
    root: str
    options: dict[str, Any] = attrs.field(repr=False, factory=dict)


_MODULES = {"localfs": "local", "s3": "s3", "oss": "oss", "azure": "azure"}

# ossfs with exclusive create and strict exists(); imported on first use.
fsspec.register_implementation(
    "meteringoss", "metering_fsspec.backends.oss.MeteringOSSFileSystem", clobber=True
)
upath.registry.register_implementation(
    "meteringoss", "metering_fsspec.backends.oss.MeteringOSSPath", clobber=True
)


def join_root(bucket: str, prefix: str) -> str:
    return "/".join(p.strip("/") for p in (bucket, prefix) if p.strip("/"))


def spec(config: MeteringConfig) -> BackendSpec:
    module = _MODULES.get(config.type)
    if module is None:
        raise ValidationError("type", f"unknown storage type {config.type!r}")
    if config.type != "localfs" and not config.bucket:
        raise ValidationError("bucket", f"is required for {config.type} storage")
    for section in (config.aws, config.oss, config.azure):
        for name in ("secret_access_key", "session_token", "account_key", "sas_token"):
            register_secret(getattr(section, name, None))
    backend = importlib.import_module(f"{__name__}.{module}")
    return backend.spec(config)  # type: ignore[no-any-return]
