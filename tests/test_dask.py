"""Dask: metering data read by worker processes equals the single-process read."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from conftest import S3_SECRET
from metering_fsspec import (
    MeteringConfig,
    MeteringData,
    MeteringReader,
    MeteringValue,
    MeteringWriter,
    PartialReadError,
)
from metering_fsspec.dask import read_metering

distributed = pytest.importorskip("distributed")

T0 = 1755850380
MINUTES = 4
BIG = 2**53 + 1
TOP = 2**64 - 1


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    """Two worker processes, one thread each; closed after the module."""
    cluster = distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
    )
    client = distributed.Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


@pytest.fixture(params=["local", "s3"])
def remote_uri(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Storage other processes can reach: local files and the S3 server."""
    if request.param == "local":
        return f"localfs://{tmp_path}/root"
    return str(request.getfixturevalue("s3_uri"))


def write_minutes(storage: str) -> int:
    """``MINUTES`` minutes x 2 categories x 2 components; returns the file count."""
    writer = MeteringWriter(storage, shared_pool_id="pool")
    files = 0
    for minute in range(MINUTES):
        for category in ("tidb", "tikv"):
            for self_id in ("a1", "a2"):
                files += len(
                    writer.write(
                        MeteringData(
                            timestamp=T0 + 60 * minute,
                            category=category,
                            self_id=self_id,
                            data=[
                                {
                                    "logical_cluster_id": f"lc-{n}",
                                    "region": "us-west-2",
                                    "cpu": MeteringValue(BIG + n + minute, "ms"),
                                    "bytes": MeteringValue(TOP - n, "B"),
                                }
                                for n in range(5)
                            ],
                        )
                    )
                )
    return files


def test_workers_read_the_same_frame_as_to_pandas(client: Any, remote_uri: str) -> None:
    files = write_minutes(remote_uri)
    end = T0 + 60 * MINUTES
    frame = read_metering(remote_uri, T0, end, files_per_partition=3)
    assert frame.npartitions == -(-files // 3)
    got = client.compute(frame).result().reset_index(drop=True)
    want = MeteringReader(remote_uri).to_pandas(T0, end)
    assert len(want) == files * 5 * 2
    pd.testing.assert_frame_equal(got, want)
    assert want["value"].max() == TOP and BIG in want["value"].tolist()
    # The schema was known before anything ran.
    assert list(frame.columns) == list(want.columns)
    assert dict(frame.dtypes) == dict(want.dtypes)


def test_filters_and_a_config_as_storage(client: Any, remote_uri: str) -> None:
    write_minutes(remote_uri)
    config = MeteringConfig.from_uri(remote_uri)
    end = T0 + 60 * MINUTES
    frame = read_metering(config, T0, end, category="tikv", self_id="a2")
    got = client.compute(frame).result().reset_index(drop=True)
    want = MeteringReader(remote_uri).to_pandas(T0, end, category="tikv", self_id="a2")
    pd.testing.assert_frame_equal(got, want)
    assert set(got["category"]) == {"tikv"} and len(got) == MINUTES * 10


def test_fields_decided_up_front(client: Any, tmp_path: Path) -> None:
    storage = f"localfs://{tmp_path}/root"
    writer = MeteringWriter(storage, shared_pool_id="pool")
    writer.write(
        MeteringData(T0, "c", "s1", data=[{"lc": "x", "m": MeteringValue(1, "u")}])
    )
    writer.write(
        MeteringData(
            T0 + 60,
            "c",
            "s1",
            data=[{"lc": "y", "zone": "z", "m": MeteringValue(2, "u")}],
        )
    )
    inferred = read_metering(storage, T0, T0 + 120, files_per_partition=1)
    assert "zone" not in inferred.columns
    with pytest.raises(ValueError, match="zone"):
        client.compute(inferred).result()
    chosen = read_metering(
        storage,
        T0,
        T0 + 120,
        files_per_partition=1,
        fields={"lc": "string", "zone": "string"},
    )
    got = client.compute(chosen).result().reset_index(drop=True)
    pd.testing.assert_frame_equal(got, MeteringReader(storage).to_pandas(T0, T0 + 120))


def test_empty_range_and_bad_arguments(tmp_path: Path) -> None:
    storage = f"localfs://{tmp_path}/root"
    frame = read_metering(storage, T0, T0 + 60)
    assert len(frame.compute(scheduler="sync")) == 0
    assert list(frame.columns)[:5] == [
        "timestamp", "category", "shared_pool_id", "self_id", "part",
    ]  # fmt: skip
    with pytest.raises(ValueError, match="files_per_partition"):
        read_metering(storage, T0, T0 + 60, files_per_partition=0)


def test_workers_open_the_storage_themselves(client: Any) -> None:
    """A memory filesystem lives in this process: the workers, which open the
    storage from its description, find nothing there."""
    storage = "memory://only-here"
    write_minutes(storage)
    frame = read_metering(storage, T0, T0 + 60)
    assert len(frame.compute(scheduler="sync")) == 4 * 5 * 2  # this process sees it
    with pytest.raises(PartialReadError) as info:
        client.compute(frame).result()
    assert all(isinstance(e, FileNotFoundError) for e in info.value.errors.values())


def test_partition_function_hides_credentials(s3_uri: str) -> None:
    write_minutes(s3_uri)
    frame = read_metering(s3_uri, T0, T0 + 60)
    assert S3_SECRET not in repr(frame)
    assert S3_SECRET not in str(frame.dask.keys())


def test_missing_dask_extra_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(__import__("sys").modules, "dask.dataframe", None)
    with pytest.raises(ImportError, match=r"metering-fsspec\[dask\]"):
        read_metering("memory://x", T0, T0 + 60)
