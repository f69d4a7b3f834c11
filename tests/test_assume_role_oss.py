"""``role-arn`` on OSS: RAM AssumeRole through alibabacloud-credentials against
the local STS server; the OSS server only accepts the issued key with its own
token, so a request signed with anything else fails.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Mapping
from types import SimpleNamespace
from typing import Any

import pytest

from metering_fsspec import (
    Config,
    MeteringData,
    MeteringReader,
    MeteringValue,
    MeteringWriter,
    UnsupportedBackendError,
)
from metering_fsspec.credentials import oss_role_provider
from tests.servers.alibaba_sts import AlibabaSTSServer
from tests.servers.fixtures import (
    OSS_KEY,
    OSS_REGION,
    OSS_SECRET,
    use_alibaba_environment_keys,
)
from tests.servers.oss import OSSServer

TS = 1755850380
ROLE = "acs:ram::123456789012:role/MeteringWriterRole"


class IssuedOnly(Mapping[str, str]):
    """Credentials the OSS server accepts: exactly those the STS server issued."""

    def __init__(self, sts: AlibabaSTSServer) -> None:
        self._sts = sts

    def _table(self) -> dict[str, str]:
        return {c.access_key_id: c.security_token for c in self._sts.issued}

    def __getitem__(self, key: str) -> str:
        return self._table()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._table())

    def __len__(self) -> int:
        return len(self._table())


def _data(value: int, self_id: str = "s1") -> MeteringData:
    return MeteringData(
        TS, "tidb", self_id, "pool", [{"cpu": MeteringValue(value, "seconds")}]
    )


@pytest.fixture
def role_uri(
    oss_server: OSSServer, oss_bucket: str, alibaba_sts: AlibabaSTSServer
) -> str:
    oss_server.dialect.credentials = IssuedOnly(alibaba_sts)
    oss_server.dialect.requests.clear()
    return (
        f"oss://{oss_bucket}/logs?region-id={OSS_REGION}"
        f"&endpoint={oss_server.endpoint}&access-key={OSS_KEY}"
        f"&secret-access-key={OSS_SECRET}&role-arn={ROLE}"
    )


def _shift_credentials_clock(monkeypatch: pytest.MonkeyPatch, seconds: float) -> None:
    """Move the clock alibabacloud-credentials' cache reads by ``seconds``."""
    from alibabacloud_credentials.provider import refreshable

    real = time

    def mktime(value: Any) -> float:
        return real.mktime(value) + seconds

    monkeypatch.setattr(
        refreshable,
        "time",
        SimpleNamespace(
            mktime=mktime, localtime=real.localtime, time=lambda: real.time() + seconds
        ),
    )


def test_requests_sign_with_the_assumed_credentials(
    role_uri: str, oss_server: OSSServer, alibaba_sts: AlibabaSTSServer
) -> None:
    writer = MeteringWriter(role_uri)
    paths = [writer.write(_data(i, f"s{i}"))[0] for i in range(3)]
    reader = MeteringReader(role_uri)
    assert [reader.read_file(p).data[0]["cpu"]["value"] for p in paths] == [0, 1, 2]
    [issued] = alibaba_sts.issued  # cached: one AssumeRole for every request
    assert issued.role_arn == ROLE and issued.source_access_key_id == OSS_KEY
    seen = oss_server.dialect.requests
    assert len(seen) >= 6
    assert {(r.access_key_id, r.security_token) for r in seen} == {
        (issued.access_key_id, issued.security_token)
    }


def test_expiry_triggers_a_refresh(
    role_uri: str,
    oss_server: OSSServer,
    alibaba_sts: AlibabaSTSServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    writer = MeteringWriter(role_uri)
    writer.write(_data(1, "s1"))
    assert len(alibaba_sts.issued) == 1
    # Credentials last 3600 s and go stale 15 minutes before expiry.
    _shift_credentials_clock(monkeypatch, 50 * 60)
    alibaba_sts.state.clock_offset = 50 * 60
    oss_server.dialect.requests.clear()
    writer.write(_data(2, "s2"))
    assert len(alibaba_sts.issued) == 2
    second = alibaba_sts.issued[1]
    assert {
        (r.access_key_id, r.security_token) for r in oss_server.dialect.requests
    } == {(second.access_key_id, second.security_token)}
    # And the refreshed credentials are cached again.
    writer.write(_data(3, "s3"))
    assert len(alibaba_sts.issued) == 2


def test_role_from_default_chain(
    oss_server: OSSServer,
    oss_bucket: str,
    alibaba_sts: AlibabaSTSServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    use_alibaba_environment_keys(monkeypatch, OSS_KEY, OSS_SECRET)
    oss_server.dialect.credentials = IssuedOnly(alibaba_sts)
    uri = (
        f"oss://{oss_bucket}/logs?region-id={OSS_REGION}"
        f"&endpoint={oss_server.endpoint}&role-arn={ROLE}"
    )
    [path] = MeteringWriter(uri).write(_data(7))
    assert MeteringReader(uri).read_file(path).data[0]["cpu"]["value"] == 7
    assert [c.source_access_key_id for c in alibaba_sts.issued] == [OSS_KEY]


def test_unknown_source_key_fails_clearly(
    role_uri: str, alibaba_sts: AlibabaSTSServer
) -> None:
    alibaba_sts.state.source_keys.clear()
    with pytest.raises(Exception, match="InvalidAccessKeyId|ram_role_arn"):
        MeteringWriter(role_uri).write(_data(1))


def test_provider_repr_hides_secrets() -> None:
    provider = oss_role_provider(
        ROLE, access_key=OSS_KEY, secret_key=OSS_SECRET, session_token="tok-secret"
    )
    text = repr(provider)
    assert ROLE in text and OSS_SECRET not in text and "tok-secret" not in text


def test_missing_extra_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    import builtins

    real_import = builtins.__import__

    def fake_import(name: str, *args: Any, **kwargs: Any) -> Any:
        if name.startswith("alibabacloud_credentials"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    with pytest.raises(UnsupportedBackendError, match="oss-role"):
        oss_role_provider(ROLE, access_key="a", secret_key="b")


def test_no_secret_or_token_in_logs(
    role_uri: str, alibaba_sts: AlibabaSTSServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    config = Config(debug=True)
    [path] = MeteringWriter(role_uri, config).write(_data(1))
    MeteringReader(role_uri, config).read_file(path)
    assert caplog.records
    secrets = [OSS_SECRET]
    for issued in alibaba_sts.issued:
        secrets += [issued.access_key_secret, issued.security_token]
    for secret in secrets:
        assert secret not in caplog.text
