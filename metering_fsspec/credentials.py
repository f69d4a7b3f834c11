"""Assume-role credentials that refresh by themselves.

- AWS: :class:`AssumeRoleSession`, an aiobotocore session whose credentials
  come from STS ``AssumeRole`` through aiobotocore's own assume-role fetcher
  and deferred refreshable credentials (fetched on first use, refreshed before
  expiry). s3fs takes it as its ``session``.
- Alibaba Cloud: :func:`oss_role_provider`, an ``oss2`` credentials provider
  over ``alibabacloud-credentials``' ``RamRoleArnCredentialsProvider``
  (cached, refreshed 15 minutes before expiry), asked on every OSS request.

No secret is ever logged, and the reprs here show the role and access key id
only.
"""

from __future__ import annotations

import datetime
import logging
import os
from typing import Any

import botocore.credentials
from aiobotocore.credentials import (
    AioAssumeRoleCredentialFetcher,
    AioCredentialResolver,
    AioCredentials,
    AioDeferredRefreshableCredentials,
)
from aiobotocore.session import AioSession
from oss2.credentials import Credentials as OSSCredentials
from oss2.credentials import CredentialsProvider as OSSCredentialsProvider

from .config import LOGGER_NAME
from .errors import UnsupportedBackendError

__all__ = [
    "ALIBABA_STS_ENDPOINT_ENV",
    "AssumeRoleSession",
    "AlibabaCredentialsAdapter",
    "oss_default_provider",
    "oss_role_provider",
]

_log = logging.getLogger(LOGGER_NAME)

#: Environment variable naming the Alibaba Cloud STS endpoint for ``role-arn``
#: on OSS (``sts.aliyuncs.com`` or, with ``ALIBABA_CLOUD_STS_REGION``, the
#: regional one, by default). An ``http://`` URL is used as given.
ALIBABA_STS_ENDPOINT_ENV = "METERING_OSS_STS_ENDPOINT"

_SESSION_NAME = "metering-fsspec"


def _now() -> datetime.datetime:
    # Looked up at call time: the refresher and the fetcher's expiry check then
    # read the same clock, botocore's.
    return botocore.credentials._local_now()  # type: ignore[no-any-return]


# -- AWS -----------------------------------------------------------------------


class _AssumeRoleProvider:
    """A credential provider for the session's resolver: deferred assumed-role
    credentials from static source keys or the default chain.
    """

    METHOD = "assume-role"
    CANONICAL_NAME = "metering-fsspec-assume-role"

    def __init__(self, session: AssumeRoleSession) -> None:
        self._session = session

    async def load(self) -> AioDeferredRefreshableCredentials:
        params = self._session._params
        if params["access_key"]:
            source: Any = AioCredentials(
                params["access_key"],
                params["secret_key"],
                params["session_token"] or None,
            )
        else:
            source = await AioSession().get_credentials()
            if source is None:
                raise UnsupportedBackendError(
                    "assume-role-arn: no source credentials found in the AWS"
                    " default chain (environment, profile, instance role...)"
                )
        extra: dict[str, Any] = {"RoleSessionName": params["session_name"]}
        if params["duration_seconds"]:
            extra["DurationSeconds"] = params["duration_seconds"]
        fetcher = AioAssumeRoleCredentialFetcher(
            client_creator=self._session._sts_client,
            source_credentials=source,
            role_arn=params["role_arn"],
            extra_args=extra,
        )
        _log.debug(
            "assume-role: %s from %s",
            params["role_arn"],
            params["access_key"] or "the default credential chain",
        )
        return AioDeferredRefreshableCredentials(
            refresh_using=fetcher.fetch_credentials,
            method=self.METHOD,
            time_fetcher=_now,
        )


class AssumeRoleSession(AioSession):  # type: ignore[misc]
    """An aiobotocore session that signs with credentials from STS AssumeRole.

    The role is assumed on the first request and again shortly before the
    credentials expire (botocore's refresh windows). Picklable: a copy
    rebuilds itself from its parameters and assumes the role anew.

    Parameters
    ----------
    role_arn:
        ``arn:aws:iam::ACCOUNT:role/NAME``.
    access_key, secret_key, session_token:
        Source credentials; when empty, the default AWS credential chain.
    region:
        Region of the STS client (its regional endpoint).
    sts_endpoint:
        STS endpoint URL; default: botocore's choice, which honours
        ``AWS_ENDPOINT_URL_STS``.
    session_name, duration_seconds:
        ``RoleSessionName`` and ``DurationSeconds`` of the AssumeRole call.
    """

    def __init__(
        self,
        role_arn: str,
        *,
        access_key: str = "",
        secret_key: str = "",
        session_token: str = "",
        region: str = "",
        sts_endpoint: str = "",
        session_name: str = _SESSION_NAME,
        duration_seconds: int = 0,
    ) -> None:
        super().__init__()
        self._params: dict[str, Any] = {
            "role_arn": role_arn,
            "access_key": access_key,
            "secret_key": secret_key,
            "session_token": session_token,
            "region": region,
            "sts_endpoint": sts_endpoint,
            "session_name": session_name,
            "duration_seconds": duration_seconds,
        }
        self.register_component(
            "credential_provider", AioCredentialResolver([_AssumeRoleProvider(self)])
        )

    @property
    def role_arn(self) -> str:
        return str(self._params["role_arn"])

    def _sts_client(self, service_name: str, **kwargs: Any) -> Any:
        # A plain session for STS: its credentials are the source keys given
        # here, never this session's own (which would recurse).
        options: dict[str, Any] = {}
        if self._params["region"]:
            options["region_name"] = self._params["region"]
        if self._params["sts_endpoint"]:
            options["endpoint_url"] = self._params["sts_endpoint"]
        return AioSession().create_client(service_name, **options, **kwargs)

    def __reduce__(self) -> tuple[Any, ...]:
        params = dict(self._params)
        return (_rebuild_session, (params.pop("role_arn"), params))

    def __repr__(self) -> str:
        source = self._params["access_key"] or "default chain"
        return f"AssumeRoleSession(role_arn={self.role_arn!r}, source={source!r})"


def _rebuild_session(role_arn: str, params: dict[str, Any]) -> AssumeRoleSession:
    return AssumeRoleSession(role_arn, **params)


# -- Alibaba Cloud -------------------------------------------------------------


class AlibabaCredentialsAdapter(OSSCredentialsProvider):  # type: ignore[misc]
    """An ``oss2`` credentials provider that asks an ``alibabacloud-credentials``
    provider for the current credentials on every request.

    The wrapped provider does the caching and refreshing; this only adapts
    its answer to ``oss2.credentials.Credentials``.
    """

    def __init__(self, provider: Any, description: str) -> None:
        self._provider = provider
        self.description = description

    def get_credentials(self) -> OSSCredentials:
        current = self._provider.get_credentials()
        return OSSCredentials(
            current.get_access_key_id(),
            current.get_access_key_secret(),
            current.get_security_token() or "",
        )

    def __repr__(self) -> str:
        return f"AlibabaCredentialsAdapter({self.description})"


def _alibaba_providers() -> Any:
    try:
        from alibabacloud_credentials import provider
    except ImportError:
        raise UnsupportedBackendError(
            "oss with role-arn or without access-key needs alibabacloud-credentials:"
            " pip install 'metering-fsspec[oss-role]'"
        ) from None
    return provider


def oss_default_provider() -> AlibabaCredentialsAdapter:
    """Credentials for OSS from Alibaba Cloud's default credential chain
    (environment, profiles, ECS/ACK role...), as the Go library without keys.
    """
    providers = _alibaba_providers()
    return AlibabaCredentialsAdapter(
        providers.DefaultCredentialsProvider(), "default credential chain"
    )


def oss_role_provider(
    role_arn: str,
    *,
    access_key: str = "",
    secret_key: str = "",
    session_token: str = "",
    sts_endpoint: str = "",
    session_name: str = _SESSION_NAME,
    duration_seconds: int = 3600,
) -> AlibabaCredentialsAdapter:
    """Credentials for OSS from RAM ``AssumeRole`` on ``role_arn``.

    Source credentials are ``access_key``/``secret_key`` (and
    ``session_token``) when given, else Alibaba Cloud's default credential
    chain. ``sts_endpoint`` defaults to ``$METERING_OSS_STS_ENDPOINT``, then to
    the library's default (``sts.aliyuncs.com``).
    """
    providers = _alibaba_providers()
    options: dict[str, Any] = {
        "role_arn": role_arn,
        "role_session_name": session_name,
        "duration_seconds": duration_seconds,
    }
    endpoint = sts_endpoint or os.environ.get(ALIBABA_STS_ENDPOINT_ENV, "")
    if endpoint:
        options["sts_endpoint"] = endpoint
    if access_key:
        options["access_key_id"] = access_key
        options["access_key_secret"] = secret_key
        if session_token:
            options["security_token"] = session_token
    else:
        options["credentials_provider"] = providers.DefaultCredentialsProvider()
    _log.debug(
        "oss assume-role: %s from %s",
        role_arn,
        access_key or "the default credential chain",
    )
    return AlibabaCredentialsAdapter(
        providers.RamRoleArnCredentialsProvider(**options), f"role_arn={role_arn!r}"
    )
