"""pytest fixtures for the local cloud servers: OSS (adapter over moto),
Alibaba Cloud STS, and Azurite. Loaded by the root ``conftest.py``.
"""

from __future__ import annotations

import os
import urllib.parse
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from .alibaba_sts import AlibabaSTSServer
from .azurite import ACCOUNT_KEY, ACCOUNT_NAME, AzuriteServer, azurite_binary
from .oss import OSSServer

# Never ask a cloud metadata service: alibabacloud-credentials reads these
# once, when first imported.
os.environ.setdefault("ALIBABA_CLOUD_ECS_METADATA_DISABLED", "true")
os.environ.setdefault("ALIBABA_CLOUD_CLI_PROFILE_DISABLED", "true")

OSS_KEY = "LTAI5tLocalTestKey"
OSS_SECRET = "oss-secret-do-not-log"
OSS_REGION = "oss-cn-hangzhou"


@pytest.fixture(scope="session")
def oss_server() -> Iterator[OSSServer]:
    """The OSS-dialect server on 127.0.0.1 (shares moto's in-process S3 state)."""
    server = OSSServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def oss_bucket(oss_server: OSSServer) -> Iterator[str]:
    """A fresh, empty bucket on the OSS server; request log and rules reset."""
    import oss2

    from metering_fsspec.backends.oss import MeteringOSSFileSystem

    # fsspec caches instances per class: a cached one would carry the
    # credentials of an earlier test.
    MeteringOSSFileSystem.clear_instance_cache()
    oss_server.reset()
    bucket = f"oss-{uuid.uuid4().hex[:12]}"
    oss2.Bucket(
        oss2.Auth(OSS_KEY, OSS_SECRET), oss_server.endpoint, bucket
    ).create_bucket()
    yield bucket
    oss_server.reset()


@pytest.fixture
def oss_uri(oss_server: OSSServer, oss_bucket: str) -> str:
    """A Go-style URI with static keys for a prefix in a fresh OSS bucket."""
    return (
        f"oss://{oss_bucket}/tenant-a?region-id={OSS_REGION}"
        f"&endpoint={oss_server.endpoint}"
        f"&access-key={OSS_KEY}&secret-access-key={OSS_SECRET}"
    )


def use_alibaba_environment_keys(
    monkeypatch: pytest.MonkeyPatch, key: str, secret: str
) -> None:
    """Alibaba's default chain with ``key``/``secret`` in its environment
    provider (the library reads the environment once, at import).
    """
    from alibabacloud_credentials.utils import auth_util

    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", key)
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", secret)
    monkeypatch.setattr(auth_util, "environment_access_key_id", key)
    monkeypatch.setattr(auth_util, "environment_access_key_secret", secret)
    monkeypatch.setattr(auth_util, "environment_ecs_metadata_disabled", "true")
    monkeypatch.setattr(auth_util, "environment_cli_profile_disabled", "true")


@pytest.fixture(scope="session")
def alibaba_sts_server() -> Iterator[AlibabaSTSServer]:
    server = AlibabaSTSServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def alibaba_sts(
    alibaba_sts_server: AlibabaSTSServer, monkeypatch: pytest.MonkeyPatch
) -> Iterator[AlibabaSTSServer]:
    """The STS server, reset, trusting ``OSS_KEY``, and named by
    ``METERING_OSS_STS_ENDPOINT`` for the code under test.
    """
    alibaba_sts_server.reset()
    alibaba_sts_server.state.source_keys.add(OSS_KEY)
    monkeypatch.setenv("METERING_OSS_STS_ENDPOINT", alibaba_sts_server.endpoint)
    yield alibaba_sts_server
    alibaba_sts_server.reset()


@pytest.fixture(scope="session")
def azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AzuriteServer]:
    """Azurite's blob service on an ephemeral port; skipped without Node.js or
    without ``npm ci --prefix tests/servers``.
    """
    binary = azurite_binary()
    if binary is None:
        pytest.skip("azurite needs Node.js and `npm ci --prefix tests/servers`")
    location: Path = tmp_path_factory.mktemp("azurite")
    server = AzuriteServer(binary, location).start()
    try:
        yield server
    finally:
        server.stop()


def azure_connection_string(server: AzuriteServer) -> str:
    return (
        f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT_NAME};"
        f"AccountKey={ACCOUNT_KEY};BlobEndpoint={server.endpoint};"
    )


@pytest.fixture
def azure_container(azurite: AzuriteServer) -> Iterator[str]:
    """A fresh container on Azurite."""
    from azure.storage.blob import BlobServiceClient

    name = f"ctr-{uuid.uuid4().hex[:12]}"
    with BlobServiceClient.from_connection_string(
        azure_connection_string(azurite)
    ) as client:
        client.create_container(name)
        yield name
        client.delete_container(name)


@pytest.fixture
def azure_uri(azurite: AzuriteServer, azure_container: str) -> str:
    """A Go-style URI with the account key for a prefix in a fresh container."""
    key = urllib.parse.quote(ACCOUNT_KEY, safe="")
    return (
        f"azure://{azure_container}/tenant-a?account-name={ACCOUNT_NAME}"
        f"&account-key={key}&endpoint={azurite.endpoint}"
    )
