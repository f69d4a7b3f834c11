"""Exports to Parquet, CSV and JSON Lines through fsspec."""

from __future__ import annotations

import io
import os
import uuid
from pathlib import Path
from typing import Any

import msgspec
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.dataset as pads
import pyarrow.parquet as pq
import pytest
from upath import UPath

from metering_fsspec import (
    MeteringData,
    MeteringFileExistsError,
    MeteringReader,
    MeteringValue,
    MeteringWriter,
    frames,
    open_storage,
)
from metering_fsspec.export import export

DAY1 = 1755820800  # 2025-08-22 00:00:00 UTC
T1 = DAY1 + 60
T2 = DAY1 + 86400 - 60  # last minute of 2025-08-22
T3 = DAY1 + 86400  # 2025-08-23 00:00
TOP = 2**64 - 1
BIG = 2**53 + 1


@pytest.fixture(params=["memory", "local", "s3"])
def backend_uri(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "memory":
        return f"memory://export-{uuid.uuid4().hex[:8]}"
    if request.param == "local":
        return f"localfs://{tmp_path}/root?create-dirs=true"
    return str(request.getfixturevalue("s3_uri"))


def sibling(uri: str, name: str) -> str:
    """The URI of a folder ``name`` inside the root ``uri`` points at."""
    head, sep, query = uri.partition("?")
    return f"{head.rstrip('/')}/{name}{sep}{query}"


def write_days(storage: str) -> None:
    writer = MeteringWriter(storage, shared_pool_id="pool")
    for ts, category, value in (
        (T1, "tidb", TOP),
        (T1, "tikv", 1),
        (T2, "tidb", BIG),
        (T3, "tidb", 2),
    ):
        writer.write(
            MeteringData(
                timestamp=ts,
                category=category,
                self_id="s1",
                data=[
                    {
                        "logical_cluster_id": "lc-1",
                        "region": "r",
                        "cpu": MeteringValue(value, "ms"),
                        "mem": MeteringValue(7, "MB"),
                    }
                ],
            )
        )


def seconds(table: pa.Table) -> pa.Table:
    """Parquet has no second unit: timestamps come back in milliseconds."""
    assert table.schema.field("timestamp").type == pa.timestamp("ms", tz="UTC")
    return table.set_column(
        0, "timestamp", table["timestamp"].cast(pa.timestamp("s", tz="UTC"))
    )


def expected(storage: str, start: int, end: int, category: str) -> pa.Table:
    table = MeteringReader(storage).to_arrow(start, end, category=category)
    return table.drop_columns(["category"])


def test_parquet_partitioned_by_day_and_category(backend_uri: str) -> None:
    write_days(backend_uri)
    target = sibling(backend_uri, "exports")
    paths = export(backend_uri, DAY1, T3 + 60, target)
    assert paths == [
        "day=2025-08-22/category=tidb/part-0.parquet",
        "day=2025-08-22/category=tikv/part-0.parquet",
        "day=2025-08-23/category=tidb/part-0.parquet",
    ]
    out = open_storage(target)
    for path, (start, end, category) in zip(
        paths,
        [(DAY1, T3, "tidb"), (DAY1, T3, "tikv"), (T3, T3 + 60, "tidb")],
        strict=True,
    ):
        got = seconds(pq.read_table(io.BytesIO(out.cat_file(path))))
        assert got.equals(expected(backend_uri, start, end, category))
    first = pq.read_table(io.BytesIO(out.cat_file(paths[0])))
    assert first["value"].to_pylist() == [TOP, 7, BIG, 7]
    assert first.schema.field("value").type == pa.uint64()


def test_parquet_dataset_restores_partition_columns(tmp_path: Path) -> None:
    source = f"localfs://{tmp_path}/src"
    write_days(source)
    target = tmp_path / "out"
    export(MeteringReader(source), DAY1, T3 + 60, str(target))
    dataset = pads.dataset(str(target), format="parquet", partitioning="hive")
    table = dataset.to_table().sort_by(
        [("timestamp", "ascending"), ("metric", "ascending")]
    )
    assert table.num_rows == 8
    assert sorted(set(table["category"].to_pylist())) == ["tidb", "tikv"]
    assert sorted({str(d) for d in table["day"].to_pylist()}) == [
        "2025-08-22",
        "2025-08-23",
    ]
    assert TOP in table["value"].to_pylist()
    # Stored in one step each: no temporary file left behind.
    assert not [p for p in target.rglob("*") if p.name.startswith(".")]


def test_csv_export_is_exact(backend_uri: str) -> None:
    write_days(backend_uri)
    target = sibling(backend_uri, "csv")
    paths = export(
        backend_uri, DAY1, T3, target, format="csv", partition_by=("category",)
    )
    assert paths == ["category=tidb/part-0.csv", "category=tikv/part-0.csv"]
    data = open_storage(target).cat_file(paths[0])
    table = pacsv.read_csv(
        io.BytesIO(data),
        convert_options=pacsv.ConvertOptions(column_types={"value": pa.uint64()}),
    )
    assert table["value"].to_pylist() == [TOP, 7, BIG, 7]
    assert table.column_names == expected(backend_uri, DAY1, T3, "tidb").column_names
    assert data.splitlines()[1].startswith(b"2025-08-22 00:01:00Z,")


def test_jsonl_export(backend_uri: str) -> None:
    write_days(backend_uri)
    target = (
        UPath(sibling(backend_uri, "jsonl"))
        if backend_uri.startswith("memory")
        else sibling(backend_uri, "jsonl")
    )
    paths = export(backend_uri, DAY1, T3 + 60, target, format="jsonl", partition_by=())
    assert paths == ["metering.jsonl"]
    lines = open_storage(target).cat_file("metering.jsonl").splitlines()
    rows: list[dict[str, Any]] = [msgspec.json.decode(line) for line in lines]
    assert len(rows) == 8
    assert rows[0] == {
        "timestamp": "2025-08-22T00:01:00Z",
        "category": "tidb",
        "shared_pool_id": "pool",
        "self_id": "s1",
        "part": 0,
        "logical_cluster_id": "lc-1",
        "region": "r",
        "metric": "cpu",
        "value": TOP,
        "unit": "ms",
    }
    assert [r["value"] for r in rows if r["metric"] == "cpu"] == [TOP, 1, BIG, 2]


def test_refuses_to_overwrite_unless_asked(backend_uri: str) -> None:
    write_days(backend_uri)
    target = sibling(backend_uri, "again")
    export(backend_uri, DAY1, T3, target, category="tikv")
    with pytest.raises(MeteringFileExistsError):
        export(backend_uri, DAY1, T3, target, category="tikv")
    assert export(backend_uri, DAY1, T3, target, category="tikv", overwrite=True) == [
        "day=2025-08-22/category=tikv/part-0.parquet"
    ]


def test_empty_range_and_bad_arguments(tmp_path: Path) -> None:
    source = f"localfs://{tmp_path}/src"
    write_days(source)
    assert export(source, T3 + 60, T3 + 120, str(tmp_path / "none")) == []
    single = export(source, T3 + 60, T3 + 120, str(tmp_path / "one"), partition_by=())
    table = seconds(pq.read_table(str(tmp_path / "one" / single[0])))
    assert table.num_rows == 0 and table.schema == frames.metering_schema()
    with pytest.raises(ValueError, match="format"):
        export(source, DAY1, T3, str(tmp_path / "x"), format="xlsx")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="partition_by"):
        export(source, DAY1, T3, str(tmp_path / "x"), partition_by=("hour",))  # type: ignore[arg-type]
    assert not os.path.exists(tmp_path / "x")


def test_category_names_are_escaped_in_folder_names(tmp_path: Path) -> None:
    source = f"localfs://{tmp_path}/src"
    MeteringWriter(source).write(
        MeteringData(
            timestamp=T1,
            category="a=b c",
            self_id="s",
            data=[{"m": MeteringValue(1, "u")}],
        )
    )
    paths = export(source, DAY1, T3, str(tmp_path / "out"))
    assert paths == ["day=2025-08-22/category=a%3Db%20c/part-0.parquet"]
    dataset = pads.dataset(str(tmp_path / "out"), format="parquet", partitioning="hive")
    assert dataset.to_table()["category"].to_pylist() == ["a=b c"]
