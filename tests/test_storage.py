"""Storage resolution: URIs, configs, UPaths and filesystems -> a metering root."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import fsspec
import pytest
from fsspec.implementations.memory import MemoryFileSystem
from upath import UPath

from metering_fsspec import (
    MeteringConfig,
    MeteringData,
    MeteringLocalFileSystem,
    MeteringReader,
    MeteringWriter,
    ValidationError,
    open_storage,
    to_upath,
)

TS = 1755850380
DOC = MeteringData(TS, "tidb", "s1", "pool", [{"n": 1}])
RELPATH = f"metering/ru/{TS}/tidb/pool/s1-0.json.gz"


def _roundtrip(storage: object) -> None:
    assert MeteringWriter(storage).write(DOC) == [RELPATH]
    assert MeteringReader(storage).read_file(RELPATH) == DOC


def test_go_style_local_uri(tmp_path: Path) -> None:
    _roundtrip(f"localfs://{tmp_path}/root")
    assert (tmp_path / "root" / RELPATH).is_file()


def test_file_uri_with_prefix(tmp_path: Path) -> None:
    _roundtrip(f"file://{tmp_path}/root?prefix=tenant")
    assert (tmp_path / "root" / "tenant" / RELPATH).is_file()


def test_plain_local_path(tmp_path: Path) -> None:
    _roundtrip(str(tmp_path / "plain"))
    _roundtrip(tmp_path / "pathlike")
    assert (tmp_path / "plain" / RELPATH).is_file()
    assert (tmp_path / "pathlike" / RELPATH).is_file()


def test_fsspec_memory_url() -> None:
    _roundtrip("memory://bucket/prefix")
    assert f"/bucket/prefix/{RELPATH}" in MemoryFileSystem.store


def test_metering_config(tmp_path: Path) -> None:
    config = MeteringConfig.from_uri(f"localfs://{tmp_path}/cfg")
    _roundtrip(config)
    assert (tmp_path / "cfg" / RELPATH).is_file()


def test_upath(tmp_path: Path) -> None:
    _roundtrip(UPath(tmp_path / "up"))
    _roundtrip(UPath("memory://up/root"))
    assert (tmp_path / "up" / RELPATH).is_file()
    assert f"/up/root/{RELPATH}" in MemoryFileSystem.store


def test_filesystem_is_used_as_is() -> None:
    fs = MemoryFileSystem()
    assert open_storage(fs) is fs
    _roundtrip(fs)
    assert f"/{RELPATH}" in MemoryFileSystem.store
    with pytest.raises(ValidationError, match="storage_options"):
        open_storage(fs, anon=True)


def test_unusable_storage_is_refused() -> None:
    with pytest.raises(ValidationError, match="storage"):
        open_storage(42)


def test_s3_uri_and_upath(s3_uri: str, s3_bucket: str) -> None:
    _roundtrip(s3_uri)
    root = to_upath(s3_uri)
    assert isinstance(root, UPath)
    assert str(root) == f"s3://{s3_bucket}/tenant-a"
    # The UPath carries the endpoint and keys: list and read through it.
    folder = root / "metering" / "ru" / str(TS) / "tidb" / "pool"
    assert [p.name for p in folder.iterdir()] == ["s1-0.json.gz"]
    doc = json.loads(gzip.decompress((folder / "s1-0.json.gz").read_bytes()))
    assert doc["data"] == [{"n": 1}]
    # ... and it is itself accepted as storage.
    assert MeteringReader(root).read_file(RELPATH) == DOC


def test_to_upath_local(tmp_path: Path) -> None:
    _roundtrip(f"localfs://{tmp_path}/root?prefix=p")
    for storage in (
        f"localfs://{tmp_path}/root?prefix=p",
        MeteringConfig.from_uri(f"localfs://{tmp_path}/root?prefix=p"),
        open_storage(f"localfs://{tmp_path}/root?prefix=p"),
    ):
        root = to_upath(storage)
        assert isinstance(root, UPath)
        assert root.path.rstrip("/") == str(tmp_path / "root" / "p")
        assert (root / RELPATH).exists()
    assert to_upath(tmp_path).path.rstrip("/") == str(tmp_path)


def test_localfs_protocol_is_registered(tmp_path: Path) -> None:
    fs = fsspec.filesystem("localfs")
    assert isinstance(fs, MeteringLocalFileSystem)
    root = UPath(f"localfs://{tmp_path}/m")
    assert isinstance(root.fs, MeteringLocalFileSystem)
    (root / "a" / "b.txt").write_bytes(b"x")
    assert (tmp_path / "m" / "a" / "b.txt").read_bytes() == b"x"
    assert [p.name for p in (root / "a").iterdir()] == ["b.txt"]
    _roundtrip(root)
    assert (tmp_path / "m" / RELPATH).is_file()


def test_localfs_protocol_relative_form_means_absolute(tmp_path: Path) -> None:
    relative = str(tmp_path).lstrip("/")
    fs = fsspec.filesystem("localfs")
    fs.pipe_file(f"localfs://{relative}/x.txt", b"y")
    assert (tmp_path / "x.txt").read_bytes() == b"y"
