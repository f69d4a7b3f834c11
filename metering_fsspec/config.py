"""Configuration: writer/reader settings (:class:`Config`) and storage
configuration (:class:`MeteringConfig`) with the Go library's URI syntax and
YAML/JSON/TOML files.
"""

from __future__ import annotations

import logging
import os
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import attrs
import msgspec

from .deflate import ENGINES
from .errors import ValidationError
from .retry import RetryPolicy

if TYPE_CHECKING:
    import fsspec

__all__ = [
    "AWSConfig",
    "AzureConfig",
    "Config",
    "LocalFSConfig",
    "MeteringConfig",
    "OSSConfig",
    "LOGGER_NAME",
    "REDACTED",
]

LOGGER_NAME = "metering_fsspec"
REDACTED = "REDACTED"


@attrs.frozen
class Config:
    """Settings shared by writers and readers. Change with ``attrs.evolve``.

    Parameters
    ----------
    logger:
        Logger to use; default ``logging.getLogger("metering_fsspec")``.
    debug:
        Log every file written and read at DEBUG level.
    overwrite_existing:
        Replace existing files instead of refusing with ``FileExistsError``.
    page_size_bytes:
        Split metering data so that each file's JSON stays within this many
        bytes (0: one file).
    max_decompressed_bytes:
        Refuse files that inflate past this size.
    compression_level:
        Gzip level 0-9 (6, as the Go library).
    codec:
        Deflate engine: ``"auto"`` (fastest installed), ``"zlib"``,
        ``"isal"`` or ``"zlib-ng"``.
    max_concurrency:
        Files read at once by batch reads on synchronous filesystems.
    retry:
        How transient storage errors (timeouts, connection errors, HTTP
        429/5xx) are retried; by default up to 4 attempts with backoff of
        about 0.1, 0.2 and 0.4 s. ``RetryPolicy.disabled()`` turns it off.
        Validation errors, ``FileExistsError`` and ``FileNotFoundError`` are
        never retried.
    """

    logger: logging.Logger | None = None
    debug: bool = False
    overwrite_existing: bool = False
    page_size_bytes: int = attrs.field(default=0, validator=attrs.validators.ge(0))
    max_decompressed_bytes: int = attrs.field(
        default=100 * 1024 * 1024, validator=attrs.validators.gt(0)
    )
    compression_level: int = attrs.field(
        default=6, validator=[attrs.validators.ge(0), attrs.validators.le(9)]
    )
    codec: str = attrs.field(
        default="auto", validator=attrs.validators.in_([*ENGINES, "auto"])
    )
    max_concurrency: int = attrs.field(default=16, validator=attrs.validators.gt(0))
    retry: RetryPolicy = RetryPolicy()

    def get_logger(self) -> logging.Logger:
        return self.logger or logging.getLogger(LOGGER_NAME)


# -- MeteringConfig -----------------------------------------------------------

_SECRET_FIELDS = frozenset(
    {"secret_access_key", "session_token", "account_key", "sas_token"}
)


class _Section(
    msgspec.Struct, rename="kebab", omit_defaults=True, forbid_unknown_fields=True
):
    """A config section whose secrets never show in ``repr``."""

    def _fields(self) -> Iterator[tuple[str, Any]]:
        for name in self.__struct_fields__:
            value = getattr(self, name)
            if name in _SECRET_FIELDS and value:
                value = REDACTED
            yield name, value

    def __repr__(self) -> str:
        inner = ", ".join(f"{k}={v!r}" for k, v in self._fields())
        return f"{type(self).__name__}({inner})"

    def __rich_repr__(self) -> list[tuple[str, Any]]:
        return list(self._fields())


class AWSConfig(_Section):
    assume_role_arn: str = ""
    s3_force_path_style: bool = False
    access_key: str = ""
    secret_access_key: str = ""
    session_token: str = ""


class OSSConfig(_Section):
    assume_role_arn: str = ""
    access_key: str = ""
    secret_access_key: str = ""
    session_token: str = ""


class AzureConfig(_Section):
    account_name: str = ""
    account_key: str = ""
    sas_token: str = ""


def _parse_mode(value: str) -> int:
    try:
        mode = int(value, 8)
    except ValueError:
        mode = -1
    if not value or not 0 <= mode <= 0o7777:
        raise ValidationError(
            "permissions", f"must be an octal mode such as '0755', got {value!r}"
        )
    return mode


class LocalFSConfig(_Section):
    base_path: str = ""
    create_dirs: bool = True
    # An octal string ("0755"); an integer from YAML (0750 reads as 488) is that mode.
    permissions: str | int = ""

    def __post_init__(self) -> None:
        if isinstance(self.permissions, int) and not isinstance(self.permissions, bool):
            if not 0 <= self.permissions <= 0o7777:
                raise ValidationError(
                    "permissions", f"mode out of range: {self.permissions}"
                )
            self.permissions = f"0{self.permissions:o}"
        elif isinstance(self.permissions, str) and self.permissions:
            _parse_mode(self.permissions)

    @property
    def mode(self) -> int | None:
        """The file mode, or None to use the process umask."""
        assert isinstance(self.permissions, str)
        return _parse_mode(self.permissions) if self.permissions else None


_TYPE_ALIASES = {
    "s3": "s3",
    "oss": "oss",
    "azure": "azure",
    "azblob": "azure",
    "localfs": "localfs",
    "file": "localfs",
}
URI_SCHEMES = frozenset(_TYPE_ALIASES)

# URI parameter -> (section or "" for top level, field). The first spelling of
# each field is the one ``to_uri`` writes.
_PARAMS: dict[str, tuple[str, str]] = {
    "region-id": ("", "region"),
    "region": ("", "region"),
    "endpoint": ("", "endpoint"),
    "prefix": ("", "prefix"),
    "shared-pool-id": ("", "shared_pool_id"),
    "access-key": ("cloud", "access_key"),
    "secret-access-key": ("cloud", "secret_access_key"),
    "session-token": ("cloud", "session_token"),
    "assume-role-arn": ("cloud", "assume_role_arn"),
    "role-arn": ("cloud", "assume_role_arn"),
    "s3-force-path-style": ("aws", "s3_force_path_style"),
    "force-path-style": ("aws", "s3_force_path_style"),
    "account-name": ("azure", "account_name"),
    "account-key": ("azure", "account_key"),
    "sas-token": ("azure", "sas_token"),
    "create-dirs": ("localfs", "create_dirs"),
    "permissions": ("localfs", "permissions"),
}
_SECTION_OF_TYPE = {"s3": "aws", "oss": "oss", "azure": "azure", "localfs": "localfs"}
_SECTION_CLASS: dict[str, type[_Section]] = {
    "aws": AWSConfig,
    "oss": OSSConfig,
    "azure": AzureConfig,
    "localfs": LocalFSConfig,
}


def _parse_bool(name: str, value: str) -> bool:
    lowered = value.lower()
    if lowered in ("true", "1", "yes"):
        return True
    if lowered in ("false", "0", "no"):
        return False
    raise ValidationError(name, f"must be true or false, got {value!r}")


class MeteringConfig(
    msgspec.Struct, rename="kebab", omit_defaults=True, forbid_unknown_fields=True
):
    """Where metering data lives, as the Go library's config files and URIs say.

    ``repr`` and :meth:`to_uri` never show secrets (secret access key, session
    token, account key, SAS token).
    """

    type: str = ""
    region: str = ""
    bucket: str = ""
    prefix: str = ""
    endpoint: str = ""
    shared_pool_id: str = ""
    aws: AWSConfig | None = None
    oss: OSSConfig | None = None
    azure: AzureConfig | None = None
    localfs: LocalFSConfig | None = None

    SCHEMES: ClassVar[frozenset[str]] = URI_SCHEMES

    def __post_init__(self) -> None:
        if self.type:
            normalised = _TYPE_ALIASES.get(self.type.lower())
            if normalised is None:
                raise ValidationError(
                    "type",
                    f"unknown storage type {self.type!r}, expected one of {sorted(URI_SCHEMES)}",
                )
            self.type = normalised
        # Equal configs compare equal however they were built: a leading "/"
        # of the prefix means nothing, and a section left at its defaults is
        # the same as no section.
        self.prefix = self.prefix.lstrip("/")
        for name in ("aws", "oss", "azure", "localfs"):
            section = getattr(self, name)
            if section is not None and section == type(section)():
                setattr(self, name, None)

    # -- URIs ------------------------------------------------------------------

    @classmethod
    def from_uri(cls, uri: str) -> MeteringConfig:
        """Parse a Go-style storage URI such as ``s3://bucket/prefix?region-id=...``."""
        parsed = urllib.parse.urlsplit(uri)
        scheme = parsed.scheme.lower()
        kind = _TYPE_ALIASES.get(scheme)
        if kind is None:
            shown = scheme or "(none)"
            raise ValidationError(
                "uri",
                f"unsupported scheme {shown!r}, expected one of {sorted(URI_SCHEMES)}",
            )
        top: dict[str, Any] = {"type": kind}
        section: dict[str, Any] = {}
        if kind == "localfs":
            path = urllib.parse.unquote(parsed.path)
            host = urllib.parse.unquote(parsed.netloc)
            # As Go: "localfs://data/logs" means "/data/logs".
            base = (
                "/" + host + ("/" + path.lstrip("/") if path.strip("/") else "")
                if host
                else path
            )
            section["base_path"] = base
        else:
            top["bucket"] = urllib.parse.unquote(parsed.netloc)
            top["prefix"] = urllib.parse.unquote(parsed.path).lstrip("/")
        section_name = _SECTION_OF_TYPE[kind]
        seen: set[tuple[str, str]] = set()
        for name, value in urllib.parse.parse_qsl(parsed.query, keep_blank_values=True):
            if name not in _PARAMS:
                raise ValidationError(name, f"unknown URI parameter for {scheme}://")
            where, field = _PARAMS[name]
            if (where, field) in seen:
                continue  # as Go's url.Values.Get: the first spelling given wins
            seen.add((where, field))
            if where == "":
                top[field] = value
                continue
            if where == "cloud" and kind in ("s3", "oss") or where == section_name:
                if field in ("s3_force_path_style", "create_dirs"):
                    section[field] = _parse_bool(name, value)
                else:
                    section[field] = value
                continue
            raise ValidationError(name, f"parameter does not apply to {scheme}:// URIs")
        if section:
            top[section_name] = _SECTION_CLASS[section_name](**section)
        return cls(**top)

    def to_uri(self, *, redact: bool = True) -> str:
        """Format as a URI; secrets show as ``REDACTED`` unless ``redact=False``.

        ``MeteringConfig.from_uri(c.to_uri(redact=False)) == c`` holds for
        every config with an absolute local base path.
        """
        if not self.type:
            raise ValidationError("type", "is required to build a URI")
        params: list[tuple[str, str]] = []
        if self.type == "localfs":
            local = self.localfs or LocalFSConfig()
            base = local.base_path
            if base and not base.startswith("/"):
                base = os.path.abspath(base)
            head = "localfs://" + urllib.parse.quote(
                base if base.startswith("/") else "/" + base
            )
            if self.prefix:
                params.append(("prefix", self.prefix))
        else:
            head = f"{self.type}://{urllib.parse.quote(self.bucket, safe='')}"
            if self.prefix:
                head += "/" + urllib.parse.quote(self.prefix)
        for name, value in (
            ("region-id", self.region),
            ("endpoint", self.endpoint),
            ("shared-pool-id", self.shared_pool_id),
        ):
            if value:
                params.append((name, value))
        section = self._section()
        if section is not None:
            spelled = {field: name for name, (_, field) in reversed(_PARAMS.items())}
            for field, value in (
                section._fields()
                if redact
                else ((f, getattr(section, f)) for f in section.__struct_fields__)
            ):
                default = getattr(type(section)(), field)
                if value == default or field == "base_path":
                    continue
                if isinstance(value, bool):
                    value = "true" if value else "false"
                params.append((spelled[field], str(value)))
        query = urllib.parse.urlencode(params)
        return head + ("?" + query if query else "")

    def _section(self) -> _Section | None:
        return getattr(self, _SECTION_OF_TYPE[self.type]) if self.type else None

    def __str__(self) -> str:
        return self.to_uri() if self.type else repr(self)

    # -- files -----------------------------------------------------------------

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> MeteringConfig:
        """Read a ``.yaml``/``.yml``/``.json``/``.toml`` config file (kebab-case keys)."""
        file = Path(path)
        suffix = file.suffix.lower()
        decoders = {
            ".yaml": msgspec.yaml.decode,
            ".yml": msgspec.yaml.decode,
            ".json": msgspec.json.decode,
            ".toml": msgspec.toml.decode,
        }
        decode = decoders.get(suffix)
        if decode is None:
            raise ValidationError(
                "path", f"unsupported config file type {suffix!r}: {file}"
            )
        try:
            return decode(file.read_bytes(), type=cls)  # type: ignore[operator, no-any-return]
        except msgspec.ValidationError as exc:
            raise ValidationError("config", f"{file}: {exc}") from None
        except msgspec.DecodeError as exc:
            raise ValidationError(
                "config", f"{file}: not valid {suffix[1:]}: {exc}"
            ) from None

    def dump(self, path: str | os.PathLike[str]) -> None:
        """Write this config (secrets included) to a YAML/JSON/TOML file."""
        file = Path(path)
        encoders = {
            ".yaml": msgspec.yaml.encode,
            ".yml": msgspec.yaml.encode,
            ".json": msgspec.json.encode,
            ".toml": msgspec.toml.encode,
        }
        encode = encoders.get(file.suffix.lower())
        if encode is None:
            raise ValidationError("path", f"unsupported config file type: {file}")
        file.write_bytes(encode(self))

    # -- storage ---------------------------------------------------------------

    def filesystem(self, **storage_options: Any) -> fsspec.AbstractFileSystem:
        """An fsspec filesystem rooted at the metering root (bucket + prefix)."""
        from .storage import filesystem_from_config

        return filesystem_from_config(self, **storage_options)
