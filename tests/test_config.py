"""Configuration: ``Config`` (attrs) and ``MeteringConfig`` (URIs, files, storage)."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

import attrs
import fsspec
import pytest

from metering_fsspec import (
    AWSConfig,
    AzureConfig,
    Config,
    LocalFSConfig,
    MeteringConfig,
    MeteringData,
    MeteringWriter,
    OSSConfig,
    ValidationError,
)

TS = 1755850380


# -- Config ----------------------------------------------------------------------


def test_config_defaults() -> None:
    c = Config()
    assert (c.logger, c.debug, c.overwrite_existing) == (None, False, False)
    assert (c.page_size_bytes, c.compression_level) == (0, 6)
    assert c.max_decompressed_bytes == 100 * 1024 * 1024


def test_config_is_frozen_and_changed_with_evolve() -> None:
    c = Config()
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        c.debug = True  # type: ignore[misc]
    d = attrs.evolve(c, overwrite_existing=True, page_size_bytes=1024)
    assert (d.overwrite_existing, d.page_size_bytes) == (True, 1024)
    assert (c.overwrite_existing, c.page_size_bytes) == (False, 0)


@pytest.mark.parametrize(
    "changes",
    [
        {"page_size_bytes": -1},
        {"compression_level": 10},
        {"compression_level": -1},
        {"max_decompressed_bytes": 0},
        {"codec": "bogus"},
    ],
)
def test_config_refuses_bad_values(changes: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=next(iter(changes))):
        Config(**changes)


# -- URIs ------------------------------------------------------------------------


def test_s3_uri_every_parameter() -> None:
    c = MeteringConfig.from_uri(
        "s3://bkt/some/prefix?region-id=us-west-2&endpoint=http://127.0.0.1:9000"
        "&shared-pool-id=pool-1&access-key=AKID&secret-access-key=SECRET"
        "&session-token=TOKEN&assume-role-arn=arn:aws:iam::1:role/r"
        "&s3-force-path-style=true"
    )
    assert (c.type, c.bucket, c.prefix) == ("s3", "bkt", "some/prefix")
    assert (c.region, c.endpoint, c.shared_pool_id) == (
        "us-west-2",
        "http://127.0.0.1:9000",
        "pool-1",
    )
    assert c.aws == AWSConfig(
        assume_role_arn="arn:aws:iam::1:role/r",
        s3_force_path_style=True,
        access_key="AKID",
        secret_access_key="SECRET",
        session_token="TOKEN",
    )


@pytest.mark.parametrize(
    ("query", "check"),
    [
        ("region=eu-1", lambda c: c.region == "eu-1"),
        ("region-id=eu-2", lambda c: c.region == "eu-2"),
        ("role-arn=arn:x", lambda c: c.aws.assume_role_arn == "arn:x"),
        ("force-path-style=true", lambda c: c.aws.s3_force_path_style is True),
        ("s3-force-path-style=false", lambda c: c.aws is None),  # all defaults
        ("prefix=from-query", lambda c: c.prefix == "from-query"),
    ],
)
def test_s3_uri_aliases(query: str, check: Any) -> None:
    assert check(MeteringConfig.from_uri(f"s3://bkt?{query}"))


def test_oss_uri() -> None:
    c = MeteringConfig.from_uri(
        "oss://b/p?region=oss-cn-hangzhou&endpoint=https://oss.example.com"
        "&access-key=AK&secret-access-key=SK&session-token=ST&role-arn=acs:ram::1:role/r"
    )
    assert (c.type, c.bucket, c.prefix, c.region) == (
        "oss",
        "b",
        "p",
        "oss-cn-hangzhou",
    )
    assert c.oss == OSSConfig(
        assume_role_arn="acs:ram::1:role/r",
        access_key="AK",
        secret_access_key="SK",
        session_token="ST",
    )


@pytest.mark.parametrize("scheme", ["azure", "azblob", "AZURE"])
def test_azure_uri_and_alias(scheme: str) -> None:
    c = MeteringConfig.from_uri(
        f"{scheme}://container/pre?account-name=acct&account-key=KEY&sas-token=SAS"
        "&endpoint=http://127.0.0.1:10000/acct"
    )
    assert (c.type, c.bucket, c.prefix) == ("azure", "container", "pre")
    assert c.endpoint == "http://127.0.0.1:10000/acct"
    assert c.azure == AzureConfig(
        account_name="acct", account_key="KEY", sas_token="SAS"
    )


@pytest.mark.parametrize(
    ("uri", "base"),
    [
        ("localfs:///data/logs", "/data/logs"),
        ("localfs://data/logs", "/data/logs"),
        ("file:///srv/metering", "/srv/metering"),
        ("localfs://data", "/data"),
    ],
)
def test_localfs_uri_base_path(uri: str, base: str) -> None:
    c = MeteringConfig.from_uri(uri)
    assert c.type == "localfs"
    assert c.localfs is not None and c.localfs.base_path == base


def test_localfs_uri_parameters() -> None:
    c = MeteringConfig.from_uri(
        "localfs:///data?create-dirs=false&permissions=0640&prefix=p&shared-pool-id=x"
    )
    assert c.localfs == LocalFSConfig(
        base_path="/data", create_dirs=False, permissions="0640"
    )
    assert c.localfs.mode == 0o640
    assert (c.prefix, c.shared_pool_id) == ("p", "x")


@pytest.mark.parametrize(
    ("uri", "field"),
    [
        ("gs://bucket/p", "uri"),
        ("http://host/p", "uri"),
        ("no-scheme", "uri"),
        ("s3://b?bogus=1", "bogus"),
        ("s3://b?account-key=k", "account-key"),
        ("localfs:///d?access-key=k", "access-key"),
        ("localfs:///d?create-dirs=maybe", "create-dirs"),
        ("localfs:///d?permissions=0999", "permissions"),
        ("s3://b?force-path-style=sure", "force-path-style"),
    ],
)
def test_bad_uris_are_refused_naming_the_field(uri: str, field: str) -> None:
    with pytest.raises(ValidationError) as info:
        MeteringConfig.from_uri(uri)
    assert info.value.field == field


@pytest.mark.parametrize(
    "uri",
    [
        "s3://bkt/a/b?region-id=r&endpoint=http://e:1&shared-pool-id=p"
        "&access-key=AK&secret-access-key=S%2Fx+y&session-token=T&assume-role-arn=arn"
        "&s3-force-path-style=true",
        "oss://b/p?region-id=r&access-key=a&secret-access-key=s&session-token=t"
        "&assume-role-arn=arn",
        "azure://c/p?account-name=n&account-key=k%3D%3D&sas-token=sv%3D1%26sig%3Dx",
        "localfs:///data/with space?create-dirs=false&permissions=0750&prefix=x",
        "file:///data",
        "s3://bkt",
    ],
)
def test_uri_round_trip(uri: str) -> None:
    c = MeteringConfig.from_uri(uri)
    assert MeteringConfig.from_uri(c.to_uri(redact=False)) == c


def test_to_uri_redacts_by_default() -> None:
    c = MeteringConfig.from_uri(
        "s3://b?access-key=AK&secret-access-key=SK&session-token=ST"
    )
    uri = c.to_uri()
    assert "AK" in uri and "SK" not in uri and "ST" not in uri
    assert "REDACTED" in uri


# -- files -----------------------------------------------------------------------

YAML = """\
type: localfs
shared-pool-id: pool-x
prefix: tenant
localfs:
  base-path: {base}
  create-dirs: false
  permissions: 0750
"""


@pytest.mark.parametrize("suffix", [".yaml", ".yml"])
def test_load_yaml_with_unquoted_octal_permissions(tmp_path: Path, suffix: str) -> None:
    file = tmp_path / f"metering{suffix}"
    file.write_text(YAML.format(base=tmp_path / "data"))
    c = MeteringConfig.load(file)
    assert c.type == "localfs" and c.shared_pool_id == "pool-x" and c.prefix == "tenant"
    assert c.localfs is not None
    assert c.localfs.base_path == str(tmp_path / "data")
    assert c.localfs.create_dirs is False
    # YAML 1.1 reads 0750 as the integer 488: that integer is the mode.
    assert c.localfs.mode == 0o750 == 488


def test_load_json(tmp_path: Path) -> None:
    file = tmp_path / "m.json"
    file.write_text(
        json.dumps(
            {
                "type": "s3",
                "region": "us-west-2",
                "bucket": "bkt",
                "prefix": "p",
                "endpoint": "http://127.0.0.1:1",
                "shared-pool-id": "pool",
                "aws": {
                    "access-key": "AK",
                    "secret-access-key": "SK",
                    "session-token": "ST",
                    "assume-role-arn": "arn",
                    "s3-force-path-style": True,
                },
            }
        )
    )
    c = MeteringConfig.load(file)
    assert c == MeteringConfig.from_uri(
        "s3://bkt/p?region=us-west-2&endpoint=http://127.0.0.1:1&shared-pool-id=pool"
        "&access-key=AK&secret-access-key=SK&session-token=ST&role-arn=arn"
        "&force-path-style=true"
    )


def test_load_toml(tmp_path: Path) -> None:
    file = tmp_path / "m.toml"
    file.write_text(
        'type = "azure"\nbucket = "cont"\n\n[azure]\naccount-name = "acct"\n'
        'account-key = "KEY"\nsas-token = "SAS"\n'
    )
    c = MeteringConfig.load(file)
    assert c.azure == AzureConfig(
        account_name="acct", account_key="KEY", sas_token="SAS"
    )
    assert (c.type, c.bucket) == ("azure", "cont")


def test_load_toml_localfs_octal_string(tmp_path: Path) -> None:
    file = tmp_path / "m.toml"
    file.write_text(
        'type = "localfs"\n[localfs]\nbase-path = "/d"\npermissions = "0640"\n'
    )
    local = MeteringConfig.load(file).localfs
    assert local is not None and local.mode == 0o640


@pytest.mark.parametrize(
    ("name", "text", "match"),
    [
        ("m.ini", "x", "unsupported"),
        ("m.json", "{", "not valid json"),
        ("m.json", '{"type": "s3", "unknown-key": 1}', "unknown-key"),
        ("m.yaml", "type: ftp\n", "type"),
    ],
)
def test_load_refuses_bad_files(
    tmp_path: Path, name: str, text: str, match: str
) -> None:
    file = tmp_path / name
    file.write_text(text)
    with pytest.raises(ValueError, match=match):
        MeteringConfig.load(file)


def test_dump_and_load_round_trip(tmp_path: Path) -> None:
    c = MeteringConfig.from_uri(
        "s3://b/p?region=r&access-key=AK&secret-access-key=SK&force-path-style=true"
    )
    for suffix in (".yaml", ".json", ".toml"):
        c.dump(tmp_path / f"c{suffix}")
        assert MeteringConfig.load(tmp_path / f"c{suffix}") == c


# -- filesystem() and localfs options --------------------------------------------


def test_filesystem_is_rooted_at_base_path_and_prefix(tmp_path: Path) -> None:
    c = MeteringConfig.from_uri(f"localfs://{tmp_path}/base?prefix=tenant")
    fs = c.filesystem()
    assert isinstance(fs, fsspec.AbstractFileSystem)
    fs.pipe_file("metering/x.txt", b"hello")
    assert (
        tmp_path / "base" / "tenant" / "metering" / "x.txt"
    ).read_bytes() == b"hello"
    assert fs.cat_file("metering/x.txt") == b"hello"


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize(("perm", "dir_mode"), [("0640", 0o750), ("0600", 0o700)])
def test_localfs_permissions_apply_to_files_and_dirs(
    tmp_path: Path, perm: str, dir_mode: int
) -> None:
    root = tmp_path / "root"
    uri = f"localfs://{root}?permissions={perm}"
    (path,) = MeteringWriter(uri).write(MeteringData(TS, "tidb", "s1", "pool"))
    file = root / path
    assert _mode(file) == int(perm, 8)
    folder = file.parent
    while folder != tmp_path:
        assert _mode(folder) == dir_mode, folder
        folder = folder.parent


def test_create_dirs_false_refuses_missing_folders(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    writer = MeteringWriter(f"localfs://{root}?create-dirs=false")
    with pytest.raises(OSError, match="create-dirs") as info:
        writer.write(MeteringData(TS, "tidb", "s1", "pool"))
    assert "metering/ru" in str(info.value)
    assert list(root.iterdir()) == []


def test_create_dirs_false_writes_into_existing_folders(tmp_path: Path) -> None:
    root = tmp_path / "root"
    folder = root / "metering" / "ru" / str(TS) / "tidb" / "pool"
    os.makedirs(folder)
    writer = MeteringWriter(f"localfs://{root}?create-dirs=false")
    (path,) = writer.write(MeteringData(TS, "tidb", "s1", "pool"))
    assert (root / path).is_file()
