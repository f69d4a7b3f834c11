"""Shared test fixtures: a clean memory filesystem, a local S3 server (moto),
and ``storage_uri`` parametrised over every backend for behavioural tests.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import fsspec
import pytest
from fsspec.implementations.memory import MemoryFileSystem

# Tests never talk to a real cloud: no credentials or config from the machine.
for _name in ("AWS_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
    os.environ.pop(_name, None)
os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")

pytest_plugins = ["tests.servers.fixtures"]

S3_KEY = "testing-access-key"
S3_SECRET = "testing-secret-key-do-not-log"
S3_REGION = "us-east-1"


def _clear_instance_caches() -> None:
    # fsspec keeps one instance cache per class: clear every subclass's.
    pending: list[type[fsspec.AbstractFileSystem]] = [fsspec.AbstractFileSystem]
    while pending:
        cls = pending.pop()
        cls.clear_instance_cache()
        pending.extend(cls.__subclasses__())


@pytest.fixture(autouse=True)
def _clean_fsspec() -> Iterator[None]:
    """A clean memory filesystem and no cached filesystem instances per test."""
    MemoryFileSystem.store.clear()
    MemoryFileSystem.pseudo_dirs.clear()
    MemoryFileSystem.pseudo_dirs.append("")
    _clear_instance_caches()
    yield
    MemoryFileSystem.store.clear()
    _clear_instance_caches()


@pytest.fixture(scope="session")
def s3_server() -> Iterator[str]:
    """A moto S3 server on 127.0.0.1 with an ephemeral port; yields its endpoint."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def _botocore_client(endpoint: str, service: str = "s3"):  # type: ignore[no-untyped-def]
    import botocore.session

    session = botocore.session.get_session()
    return session.create_client(
        service,
        region_name=S3_REGION,
        endpoint_url=endpoint,
        aws_access_key_id=S3_KEY,
        aws_secret_access_key=S3_SECRET,
    )


@pytest.fixture
def s3_bucket(s3_server: str) -> Iterator[str]:
    """A fresh, empty bucket on the S3 server (moto reset before each test)."""
    import urllib.request

    urllib.request.urlopen(
        urllib.request.Request(f"{s3_server}/moto-api/reset", method="POST")
    ).read()
    bucket = f"bkt-{uuid.uuid4().hex[:12]}"
    _botocore_client(s3_server).create_bucket(Bucket=bucket)
    yield bucket


@pytest.fixture
def s3_uri(s3_server: str, s3_bucket: str) -> str:
    """A Go-style URI for a prefix in a fresh bucket on the local S3 server."""
    return (
        f"s3://{s3_bucket}/tenant-a?region-id={S3_REGION}&endpoint={s3_server}"
        f"&access-key={S3_KEY}&secret-access-key={S3_SECRET}&s3-force-path-style=true"
    )


@pytest.fixture(params=["memory", "local", "s3", "oss", "azure"])
def storage_uri(request: pytest.FixtureRequest, tmp_path: os.PathLike[str]) -> str:
    """The same test body on every backend: memory, local files, S3 (moto), OSS
    (an OSS-dialect adapter over moto) and Azure (Azurite).
    """
    if request.param == "memory":
        return f"memory://metering-{uuid.uuid4().hex[:8]}"
    if request.param == "local":
        return f"localfs://{tmp_path}/root?create-dirs=true"
    return str(request.getfixturevalue(f"{request.param}_uri"))
