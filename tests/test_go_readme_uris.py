"""The URIs of the Go library's README each open, write and read.

The README's URIs are taken verbatim; only what must point at the local test
servers is replaced: the bucket, the endpoint (added where the README relies
on the public one) and, for local files, the base path. Credentials without
keys in the URI come from the environment (the default chains), as in Go.
"""

from __future__ import annotations

import urllib.parse
from pathlib import Path

import pytest

from metering_fsspec import (
    MetaData,
    MetaReader,
    MetaType,
    MetaWriter,
    MeteringConfig,
    MeteringData,
    MeteringReader,
    MeteringValue,
    MeteringWriter,
)
from metering_fsspec.backends import spec
from tests.servers.alibaba_sts import AlibabaSTSServer
from tests.servers.azurite import ACCOUNT_KEY, ACCOUNT_NAME, AzuriteServer
from tests.servers.fixtures import use_alibaba_environment_keys
from tests.servers.oss import OSSServer

TS = 1755850380

README = {
    "s3-keys": "s3://my-bucket/data?region-id=us-east-1&access-key=AKIAIOSFODNN7EXAMPLE"
    "&secret-access-key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "s3-keys-endpoint": "s3://my-bucket/data?region-id=us-west-2&access-key=AKSKEXAMPLE"
    "&secret-access-key=SECRET&endpoint=https://s3.example.com",
    "s3-assume-role": "s3://my-bucket/logs?region-id=us-east-1"
    "&assume-role-arn=arn:aws:iam::123456789012:role/MeteringRole",
    "minio": "s3://my-bucket/data?region-id=us-east-1"
    "&endpoint=https://minio.example.com:9000&s3-force-path-style=true"
    "&access-key=minioadmin&secret-access-key=minioadmin",
    "oss-keys": "oss://my-oss-bucket/data?region-id=oss-ap-southeast-1"
    "&access-key=LTAI5tExample&secret-access-key=ExampleKey",
    "oss-keys-role": "oss://my-bucket/logs?region-id=oss-ap-southeast-1"
    "&access-key=LTAI5tExample&secret-access-key=ExampleSecretKey"
    "&role-arn=acs:ram::123456789012:role/TestRole",
    "oss-role": "oss://my-oss-bucket/logs?region-id=oss-cn-hangzhou"
    "&role-arn=acs:ram::123456789012:role/TestRole",
    "localfs": "localfs:///data/metering?create-dirs=true&permissions=0755",
    "azure": "azure://my-container/prefix?account-name=myaccount"
    "&account-key=ExampleAccountKey&endpoint=https://myaccount.blob.core.windows.net",
}


def _localise(uri: str, bucket: str, endpoint: str, **replace: str) -> str:
    """``uri`` with its bucket and endpoint (and any ``replace``d parameter)
    pointing at a local server.
    """
    parts = urllib.parse.urlsplit(uri)
    params = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
    params = [(k, replace.pop(k, v)) for k, v in params if k != "endpoint"]
    params += [("endpoint", endpoint), *replace.items()]
    query = urllib.parse.urlencode(params, safe=":/")
    return urllib.parse.urlunsplit((parts.scheme, bucket, parts.path, query, ""))


def _write_and_read(uri: str) -> None:
    data = MeteringData(
        TS,
        "tidb-server",
        "tidbserver01",
        data=[
            {
                "logical_cluster_id": "lc-prod-001",
                "compute_seconds": MeteringValue(3600, "seconds"),
            }
        ],
    )
    with MeteringWriter(uri) as writer:
        [path] = writer.write(data)
    got = MeteringReader(uri).read_file(path)
    assert got.data == [
        {
            "logical_cluster_id": "lc-prod-001",
            "compute_seconds": {"value": 3600, "unit": "seconds"},
        }
    ]
    meta = MetaData("cluster001", MetaType.LOGIC, 1755850419, {"env": "production"})
    with MetaWriter(uri) as meta_writer:
        meta_writer.write(meta)
    assert MetaReader(uri).read("cluster001", 1755850419).metadata == {
        "env": "production"
    }


def test_readme_uris_parse_to_public_endpoints() -> None:
    oss = spec(MeteringConfig.from_uri(README["oss-keys"]))
    assert oss.options["endpoint"] == "https://oss-ap-southeast-1.aliyuncs.com"
    minio = spec(MeteringConfig.from_uri(README["minio"])).options["config_kwargs"]
    assert minio["s3"] == {"addressing_style": "path"}
    azure = spec(MeteringConfig.from_uri(README["azure"]))
    assert (
        "BlobEndpoint=https://myaccount.blob.core.windows.net"
        in (azure.options["connection_string"])
    )


@pytest.mark.parametrize("name", ["s3-keys", "s3-keys-endpoint", "minio"])
def test_s3_with_keys(name: str, s3_server: str, s3_bucket: str) -> None:
    _write_and_read(_localise(README[name], s3_bucket, s3_server))


def test_s3_assume_role(
    s3_server: str, s3_bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The default chain: environment keys, as the README's AWS_PROFILE would.
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE")
    monkeypatch.setenv(
        "AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    )
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", s3_server)
    _write_and_read(_localise(README["s3-assume-role"], s3_bucket, s3_server))


def test_oss_with_keys(oss_server: OSSServer, oss_bucket: str) -> None:
    oss_server.dialect.requests.clear()  # the fixture's CreateBucket
    _write_and_read(_localise(README["oss-keys"], oss_bucket, oss_server.endpoint))
    assert {r.access_key_id for r in oss_server.dialect.requests} == {"LTAI5tExample"}


def test_oss_with_keys_and_role(
    oss_server: OSSServer, oss_bucket: str, alibaba_sts: AlibabaSTSServer
) -> None:
    alibaba_sts.state.source_keys.add("LTAI5tExample")
    oss_server.dialect.requests.clear()
    _write_and_read(_localise(README["oss-keys-role"], oss_bucket, oss_server.endpoint))
    [issued] = alibaba_sts.issued
    assert issued.role_arn == "acs:ram::123456789012:role/TestRole"
    assert {r.security_token for r in oss_server.dialect.requests} == {
        issued.security_token
    }


def test_oss_with_role_from_default_chain(
    oss_server: OSSServer,
    oss_bucket: str,
    alibaba_sts: AlibabaSTSServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    use_alibaba_environment_keys(monkeypatch, "LTAI5tFromEnv", "env-secret")
    alibaba_sts.state.source_keys.add("LTAI5tFromEnv")
    oss_server.dialect.requests.clear()
    _write_and_read(_localise(README["oss-role"], oss_bucket, oss_server.endpoint))
    assert [c.source_access_key_id for c in alibaba_sts.issued] == ["LTAI5tFromEnv"]
    assert {r.access_key_id for r in oss_server.dialect.requests} == {
        alibaba_sts.issued[0].access_key_id
    }


def test_localfs(tmp_path: Path) -> None:
    uri = README["localfs"].replace("/data/metering", f"{tmp_path}/data/metering")
    _write_and_read(uri)
    written = [p for p in (tmp_path / "data" / "metering").rglob("*") if p.is_file()]
    assert written and all(p.stat().st_mode & 0o777 == 0o755 for p in written)


def test_azure(azurite: AzuriteServer, azure_container: str) -> None:
    _write_and_read(
        _localise(
            README["azure"],
            azure_container,
            azurite.endpoint,
            **{"account-name": ACCOUNT_NAME, "account-key": ACCOUNT_KEY},
        )
    )
