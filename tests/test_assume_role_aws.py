"""``assume-role-arn`` on S3 against moto with IAM enforced: a user allowed
only ``sts:AssumeRole`` cannot write, the assumed ``ASIA...`` credentials can,
S3 requests are signed with them, and they are refreshed when the clock passes
their refresh window.
"""

from __future__ import annotations

import datetime
import json
import logging
import pickle
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import botocore.credentials
import botocore.session
import fsspec.asyn
import pytest

from conftest import S3_KEY, S3_REGION, S3_SECRET
from metering_fsspec import (
    Config,
    MeteringData,
    MeteringReader,
    MeteringValue,
    MeteringWriter,
    open_storage,
)
from metering_fsspec.backends import spec
from metering_fsspec.config import MeteringConfig
from metering_fsspec.credentials import AssumeRoleSession

TS = 1755850380
ACCOUNT = "123456789012"
USER = "metering-writer"
ROLE = "MeteringWriterRole"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/{ROLE}"
_CREDENTIAL = re.compile(r"Credential=([A-Z0-9]+)/")


def _data(value: int, self_id: str = "s1") -> MeteringData:
    return MeteringData(
        TS, "tidb", self_id, "pool", [{"cpu": MeteringValue(value, "seconds")}]
    )


def _client(endpoint: str, service: str, key: str, secret: str) -> Any:
    return botocore.session.get_session().create_client(
        service,
        region_name=S3_REGION,
        endpoint_url=endpoint,
        aws_access_key_id=key,
        aws_secret_access_key=secret,
    )


@pytest.fixture
def iam_user(
    s3_server: str, s3_bucket: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[str, str]]:
    """A user allowed only sts:AssumeRole on a role that may use S3; then IAM
    is enforced by moto until the test ends. Yields the user's keys.
    """
    from moto import settings
    from moto.core.authorization import ActionAuthenticatorMixin

    iam = _client(s3_server, "iam", S3_KEY, S3_SECRET)
    iam.create_user(UserName=USER)
    keys = iam.create_access_key(UserName=USER)["AccessKey"]
    iam.put_user_policy(
        UserName=USER,
        PolicyName="assume-only",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}
                ],
            }
        ),
    )
    iam.create_role(
        RoleName=ROLE,
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:user/{USER}"},
                        "Action": "sts:AssumeRole",
                    }
                ],
            }
        ),
    )
    iam.put_role_policy(
        RoleName=ROLE,
        PolicyName="s3",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}],
            }
        ),
    )
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", s3_server)
    monkeypatch.setattr(
        settings,
        "INITIAL_NO_AUTH_ACTION_COUNT",
        ActionAuthenticatorMixin.request_count,
    )
    yield keys["AccessKeyId"], keys["SecretAccessKey"]


def _uri(s3_server: str, bucket: str, key: str, secret: str, role: bool) -> str:
    uri = (
        f"s3://{bucket}/tenant-a?region-id={S3_REGION}&endpoint={s3_server}"
        f"&access-key={key}&secret-access-key={quote(secret, safe='')}"
        "&s3-force-path-style=true"
    )
    return uri + (f"&assume-role-arn={ROLE_ARN}" if role else "")


def _record_s3_keys(fs: Any) -> list[str]:
    """Access key ids of the S3 requests ``fs`` sends from now on."""
    seen: list[str] = []

    def before_send(request: Any, **_: Any) -> None:
        auth = request.headers.get("Authorization", b"")
        text = auth.decode() if isinstance(auth, bytes) else str(auth)
        match = _CREDENTIAL.search(text)
        seen.append(match.group(1) if match else "")

    fs.fs.session.register("before-send.s3", before_send)
    return seen


def test_spec_hands_s3fs_an_assume_role_session() -> None:
    got = spec(
        MeteringConfig.from_uri(
            f"s3://b/p?region-id=us-west-2&assume-role-arn={ROLE_ARN}"
            "&access-key=AK&secret-access-key=SK"
        )
    )
    session = got.options["session"]
    assert isinstance(session, AssumeRoleSession)
    assert session.role_arn == ROLE_ARN
    assert "key" not in got.options and "secret" not in got.options
    assert "SK" not in repr(session) and "SK" not in repr(got)
    copy = pickle.loads(pickle.dumps(session))
    assert isinstance(copy, AssumeRoleSession) and copy.role_arn == ROLE_ARN


def test_user_keys_alone_are_denied(
    s3_server: str, s3_bucket: str, iam_user: tuple[str, str]
) -> None:
    key, secret = iam_user
    with pytest.raises(Exception, match="(?i)access ?denied|forbidden|permission"):
        MeteringWriter(_uri(s3_server, s3_bucket, key, secret, role=False)).write(
            _data(1)
        )


def test_requests_sign_with_assumed_keys(
    s3_server: str, s3_bucket: str, iam_user: tuple[str, str]
) -> None:
    key, secret = iam_user
    uri = _uri(s3_server, s3_bucket, key, secret, role=True)
    fs = open_storage(uri)
    seen = _record_s3_keys(fs)
    writer = MeteringWriter(fs)
    paths = [writer.write(_data(i, f"s{i}"))[0] for i in range(3)]
    reader = MeteringReader(fs)
    assert [reader.read_file(p).data[0]["cpu"]["value"] for p in paths] == [0, 1, 2]
    assert len(seen) >= 6
    assert len(set(seen)) == 1, "one AssumeRole for all requests"
    assert seen[0].startswith("ASIA") and seen[0] != key


def test_refresh_when_the_clock_passes_expiry(
    s3_server: str,
    s3_bucket: str,
    iam_user: tuple[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    key, secret = iam_user
    fs = open_storage(_uri(s3_server, s3_bucket, key, secret, role=True))
    seen = _record_s3_keys(fs)
    writer = MeteringWriter(fs)
    writer.write(_data(1, "s1"))
    writer.write(_data(2, "s2"))
    first = set(seen)
    assert len(first) == 1
    # moto's credentials last an hour; botocore refreshes inside the last 15
    # (advisory) / 10 (mandatory) minutes.
    real_now = botocore.credentials._local_now
    monkeypatch.setattr(
        botocore.credentials,
        "_local_now",
        lambda: real_now() + datetime.timedelta(minutes=55),
    )
    seen.clear()
    writer.write(_data(3, "s3"))
    assert seen and seen[-1].startswith("ASIA")
    assert set(seen).isdisjoint(first), "the expired key was still used"
    assert (
        MeteringReader(fs)
        .read_file("metering/ru/1755850380/tidb/pool/s3-0.json.gz")
        .data[0]["cpu"]["value"]
        == 3
    )


def test_default_chain_is_the_source(
    s3_server: str, s3_bucket: str, iam_user: tuple[str, str], monkeypatch: Any
) -> None:
    key, secret = iam_user
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret)
    uri = (
        f"s3://{s3_bucket}/p?region-id={S3_REGION}&endpoint={s3_server}"
        f"&assume-role-arn={ROLE_ARN}"
    )
    fs = open_storage(uri)
    seen = _record_s3_keys(fs)
    [path] = MeteringWriter(fs).write(_data(5))
    assert MeteringReader(fs).read_file(path).data[0]["cpu"]["value"] == 5
    assert seen and all(k.startswith("ASIA") for k in seen)


def test_no_secret_or_token_in_any_log(
    s3_server: str,
    s3_bucket: str,
    iam_user: tuple[str, str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """At DEBUG on every logger (botocore logs the STS response and the signed
    requests), neither the source secret nor the assumed secret or session
    token appears in any record."""
    key, secret = iam_user
    caplog.set_level(logging.DEBUG)
    fs = open_storage(_uri(s3_server, s3_bucket, key, secret, role=True))
    config = Config(debug=True)
    [path] = MeteringWriter(fs, config).write(_data(1))
    MeteringReader(fs, config).read_file(path)

    async def frozen(session: Any) -> Any:
        credentials = await session.get_credentials()
        return await credentials.get_frozen_credentials()

    assumed = fsspec.asyn.sync(fs.fs.loop, frozen, fs.fs.session)
    assert assumed.access_key.startswith("ASIA")
    assert any(r.name.startswith("metering_fsspec") for r in caplog.records)
    assert any(r.name.startswith("botocore") for r in caplog.records)
    # moto's own records are the S3 server's side of the exchange, not ours.
    client_side = "\n".join(
        r.getMessage() for r in caplog.records if not r.name.startswith("moto")
    )
    for value in (secret, assumed.secret_key, assumed.token):
        assert value not in client_side
