"""``oss``: Alibaba Cloud OSS through ossfs.

:class:`MeteringOSSFileSystem` is ossfs with three changes that metering files
need, registered with fsspec as ``meteringoss``:

- ``pipe_file(path, data, mode="create")`` is one PutObject with
  ``x-oss-forbid-overwrite: true``: OSS refuses an existing object (409
  ``FileAlreadyExists``), raised as ``FileExistsError``. Of racing writers of
  one path exactly one wins. Writes never go through ossfs' append path.
- ``exists()`` gives ``False`` for a missing object and raises
  :class:`StorageError` for a missing bucket or a denied check, where ossfs
  would answer ``False``.
- Credentials: static keys (with an STS token), ``role_arn`` (RAM AssumeRole
  through ``alibabacloud-credentials``, refreshed before expiry), or Alibaba
  Cloud's default credential chain; every request signs with the current
  ones.
"""

from __future__ import annotations

import errno
from typing import Any

import oss2
from oss2.auth import AnonymousAuth, ProviderAuth
from ossfs import OSSFileSystem
from upath import UPath

from ..config import MeteringConfig
from ..credentials import oss_default_provider, oss_role_provider
from ..errors import StorageError
from . import BackendSpec, join_root

__all__ = [
    "PROTOCOL",
    "MeteringOSSFileSystem",
    "MeteringOSSPath",
    "endpoint_for",
    "spec",
]

PROTOCOL = "meteringoss"
_FORBID_OVERWRITE = "x-oss-forbid-overwrite"


def endpoint_for(region: str) -> str:
    """The public endpoint of an OSS region (``oss-cn-hangzhou`` or ``cn-hangzhou``)."""
    region = region if region.startswith("oss-") else f"oss-{region}"
    return f"https://{region}.aliyuncs.com"


def _cause(exc: BaseException) -> Any:
    return exc.__cause__ if isinstance(exc.__cause__, oss2.exceptions.OssError) else exc


class MeteringOSSFileSystem(OSSFileSystem):  # type: ignore[misc]
    """ossfs for metering files. See the module docstring.

    Parameters
    ----------
    endpoint:
        ``https://oss-cn-hangzhou.aliyuncs.com``, or an ``http://IP:PORT``
        (path-style) endpoint.
    key, secret, token:
        Static access key, secret and optional STS security token.
    role_arn:
        ``acs:ram::ACCOUNT:role/NAME`` to assume, from ``key``/``secret`` when
        given, else from the default credential chain.
    sts_endpoint:
        Alibaba Cloud STS endpoint for ``role_arn``; default
        ``$METERING_OSS_STS_ENDPOINT``, then ``sts.aliyuncs.com``.
    anon:
        Send unsigned requests (public buckets) instead of using the default
        credential chain when no key is given.
    """

    protocol = (PROTOCOL,)

    def __init__(
        self,
        endpoint: str | None = None,
        key: str | None = None,
        secret: str | None = None,
        token: str | None = None,
        role_arn: str = "",
        sts_endpoint: str = "",
        anon: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            endpoint=endpoint, key=key, secret=secret, token=token, **kwargs
        )
        if role_arn:
            self._auth = ProviderAuth(
                oss_role_provider(
                    role_arn,
                    access_key=key or "",
                    secret_key=secret or "",
                    session_token=token or "",
                    sts_endpoint=sts_endpoint,
                )
            )
        elif not key and not anon:
            self._auth = ProviderAuth(oss_default_provider())
        elif anon:
            self._auth = AnonymousAuth()

    @classmethod
    def _strip_protocol(cls, path: Any) -> Any:
        if isinstance(path, str) and path.startswith(f"{PROTOCOL}://"):
            path = path[len(PROTOCOL) + 3 :]
        return super()._strip_protocol(path)

    def pipe_file(
        self, path: str, value: bytes, mode: str = "overwrite", **kwargs: Any
    ) -> None:
        """Store ``value`` at ``path``; ``mode="create"`` refuses an existing object."""
        if mode != "create":
            super().pipe_file(path, value, **kwargs)
            return
        bucket, key = self.split_path(path)
        headers = dict(kwargs.pop("headers", None) or {})
        headers[_FORBID_OVERWRITE] = "true"
        self.invalidate_cache(path)
        # One PutObject (up to 5 GiB): the existence check and the write are
        # one step on the server.
        try:
            self._call_oss("put_object", key, value, bucket=bucket, headers=headers)
        except OSError as exc:
            cause = _cause(exc)
            if (
                isinstance(cause, oss2.exceptions.ServerError)
                and cause.status == 409
                and cause.code == "FileAlreadyExists"
            ):
                raise FileExistsError(errno.EEXIST, "object exists", path) from None
            raise

    def exists(self, path: str, **kwargs: Any) -> bool:
        """Is there an object (or a folder) at ``path``?

        Raises :class:`StorageError` when the bucket is missing or the check
        is denied, rather than answering ``False``.
        """
        bucket, key = self.split_path(path)
        if not bucket:
            return True
        if not key:
            return self._bucket_exists(bucket)
        try:
            if self._call_oss("object_exists", key, bucket=bucket):
                return True
        except OSError as exc:
            raise self._check_failed(bucket, path, exc) from exc
        return bool(self._directory_exists(path, **kwargs))

    def _bucket_exists(self, bucket: str) -> bool:
        try:
            self._call_oss("get_bucket_info", bucket=bucket)
        except OSError as exc:
            if isinstance(_cause(exc), oss2.exceptions.NoSuchBucket):
                return False
            raise self._check_failed(bucket, bucket, exc) from exc
        return True

    @staticmethod
    def _check_failed(bucket: str, path: str, exc: OSError) -> StorageError:
        cause = _cause(exc)
        if isinstance(cause, oss2.exceptions.NoSuchBucket):
            return StorageError(
                f"oss bucket {bucket!r} does not exist (checking {path})"
            )
        if isinstance(cause, oss2.exceptions.AccessDenied) or isinstance(
            exc, PermissionError
        ):
            return StorageError(f"access denied checking oss://{path}")
        status = getattr(cause, "status", None)
        code = getattr(cause, "code", "") or type(cause).__name__
        return StorageError(f"cannot check oss://{path}: {code} (HTTP {status})")


class MeteringOSSPath(UPath):  # type: ignore[misc]
    """``UPath("meteringoss://bucket/prefix", endpoint=...)`` on :class:`MeteringOSSFileSystem`."""

    __slots__ = ()


def spec(config: MeteringConfig) -> BackendSpec:
    oss = config.oss
    endpoint = config.endpoint or (endpoint_for(config.region) if config.region else "")
    if not endpoint:
        from ..errors import ValidationError

        raise ValidationError("region-id", "or endpoint is required for oss storage")
    options: dict[str, Any] = {"endpoint": endpoint}
    if oss is not None:
        if oss.access_key or oss.secret_access_key:
            options["key"] = oss.access_key
            options["secret"] = oss.secret_access_key
        if oss.session_token:
            options["token"] = oss.session_token
        if oss.assume_role_arn:
            options["role_arn"] = oss.assume_role_arn
    return BackendSpec(PROTOCOL, join_root(config.bucket, config.prefix), options)
