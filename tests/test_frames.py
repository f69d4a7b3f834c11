"""Metering and meta documents as Arrow, pandas and polars tables."""

from __future__ import annotations

import gzip
import subprocess
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import attrs
import msgspec
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from metering_fsspec import (
    Config,
    CorruptFileError,
    MetaData,
    MetaReader,
    MetaType,
    MetaWriter,
    MeteringData,
    MeteringReader,
    MeteringValue,
    MeteringWriter,
    PartialReadError,
    frames,
    open_storage,
)
from metering_fsspec.reader import MeteringWarning

T1 = 1755850380  # 2025-08-22 08:13:00 UTC
T2 = T1 + 60
BIG = 2**53 + 1  # not exact as a float64
TOP = 2**64 - 1


@pytest.fixture(params=["memory", "local", "s3"])
def backend_uri(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """memory, local and S3 only: for tests that need no other backend."""
    if request.param == "memory":
        return f"memory://frames-{uuid.uuid4().hex[:8]}"
    if request.param == "local":
        return f"localfs://{tmp_path}/root?create-dirs=true"
    return str(request.getfixturevalue("s3_uri"))


def write_sample(storage: Any) -> None:
    """Two minutes; the first document split into two parts (one entry each)."""
    paged = MeteringWriter(storage, Config(page_size_bytes=1), shared_pool_id="pool-a")
    paged.write(
        MeteringData(
            timestamp=T1,
            category="tidb",
            self_id="s1",
            data=[
                {
                    "logical_cluster_id": "lc-1",
                    "region": "us-west-2",
                    "cpu": MeteringValue(BIG, "ms"),
                    "bytes": MeteringValue(TOP, "B"),
                    "nested": {"a": 1},
                    "tags": ["x"],
                },
                {
                    "logical_cluster_id": "lc-2",
                    "cpu": MeteringValue(7, "ms"),
                    "ratio": 0.5,
                    "active": True,
                    "note": None,
                },
            ],
        )
    )
    MeteringWriter(storage, shared_pool_id="pool-b").write(
        MeteringData(
            timestamp=T2,
            category="tikv",
            self_id="s2",
            data=[
                {
                    "logical_cluster_id": "lc-3",
                    "region": "eu",
                    "bytes": MeteringValue(0, "B"),
                    "count": 3,
                }
            ],
        )
    )


def _row(ts: int, cat: str, pool: str, self_id: str, part: int, **rest: Any) -> Any:
    row = {
        "timestamp": datetime.fromtimestamp(ts, UTC),
        "category": cat,
        "shared_pool_id": pool,
        "self_id": self_id,
        "part": part,
        "active": None,
        "count": None,
        "logical_cluster_id": None,
        "note": None,
        "ratio": None,
        "region": None,
    }
    row.update(rest)
    return row


# Worked out by hand from write_sample: one row per (document, entry, metric),
# an entry's metrics in name order; "nested" and "tags" are not columns.
EXPECTED = [
    _row(T1, "tidb", "pool-a", "s1", 0, logical_cluster_id="lc-1", region="us-west-2",
         metric="bytes", value=TOP, unit="B"),
    _row(T1, "tidb", "pool-a", "s1", 0, logical_cluster_id="lc-1", region="us-west-2",
         metric="cpu", value=BIG, unit="ms"),
    _row(T1, "tidb", "pool-a", "s1", 1, logical_cluster_id="lc-2", active=True,
         ratio=0.5, metric="cpu", value=7, unit="ms"),
    _row(T2, "tikv", "pool-b", "s2", 0, logical_cluster_id="lc-3", region="eu",
         count=3, metric="bytes", value=0, unit="B"),
]  # fmt: skip

EXPECTED_SCHEMA = pa.schema(
    [
        ("timestamp", pa.timestamp("s", tz="UTC")),
        ("category", pa.string()),
        ("shared_pool_id", pa.string()),
        ("self_id", pa.string()),
        ("part", pa.int64()),
        ("active", pa.bool_()),
        ("count", pa.int64()),
        ("logical_cluster_id", pa.string()),
        ("note", pa.null()),
        ("ratio", pa.float64()),
        ("region", pa.string()),
        ("metric", pa.string()),
        ("value", pa.uint64()),
        ("unit", pa.string()),
    ]
)


def test_to_arrow_matches_hand_computed_rows(storage_uri: str) -> None:
    write_sample(storage_uri)
    table = MeteringReader(storage_uri).to_arrow(T1, T2 + 60)
    assert table.schema == EXPECTED_SCHEMA
    assert table.to_pylist() == EXPECTED
    # uint64 end to end: no float64 on the way (2**53 + 1 would round).
    assert table["value"].to_pylist()[:2] == [TOP, BIG]


def test_filters_and_half_open_range(backend_uri: str) -> None:
    write_sample(backend_uri)
    reader = MeteringReader(backend_uri)
    assert reader.to_arrow(T1, T2).to_pylist() == [
        {k: v for k, v in row.items() if k != "count"} for row in EXPECTED[:3]
    ]
    assert reader.to_arrow(T1, T2 + 60, category="tikv")["value"].to_pylist() == [0]
    assert reader.to_arrow(T1, T2 + 60, shared_pool_id="pool-a").num_rows == 3
    assert reader.to_arrow(T1, T2 + 60, self_id="s2")["metric"].to_pylist() == ["bytes"]
    empty = reader.to_arrow(T2 + 60, T2 + 600)
    assert empty.num_rows == 0
    assert empty.schema == frames.metering_schema()


def test_to_pandas_and_polars_keep_uint64_exact(backend_uri: str) -> None:
    write_sample(backend_uri)
    reader = MeteringReader(backend_uri)
    df = reader.to_pandas(T1, T2 + 60)
    assert list(df.columns) == EXPECTED_SCHEMA.names
    assert str(df["value"].dtype) == "uint64[pyarrow]"
    assert df["value"].tolist() == [TOP, BIG, 7, 0]
    assert str(df["timestamp"].dtype) == "timestamp[s, tz=UTC][pyarrow]"
    assert df["count"].tolist()[3] == 3 and str(df["count"].dtype) == "int64[pyarrow]"

    nullable = frames.to_pandas(
        reader.to_arrow(T1, T2 + 60), dtype_backend="numpy_nullable"
    )
    assert str(nullable["value"].dtype) == "UInt64"
    assert nullable["value"].tolist() == [TOP, BIG, 7, 0]
    with pytest.raises(ValueError, match="dtype_backend"):
        frames.to_pandas(reader.to_arrow(T1, T2), dtype_backend="bogus")  # type: ignore[arg-type]

    pl = pytest.importorskip("polars")
    frame = reader.to_polars(T1, T2 + 60)
    assert frame.schema["value"] == pl.UInt64
    assert frame["value"].to_list() == [TOP, BIG, 7, 0]
    assert frame.columns == EXPECTED_SCHEMA.names


def test_scalar_column_types_and_reserved_names() -> None:
    docs = [
        MeteringData(
            timestamp=T1,
            category="c",
            self_id="s",
            shared_pool_id="p",
            data=[
                {"mixed": "a", "num": 1, "huge": 2**63, "timestamp": "x",
                 "m": {"value": 1, "unit": "u"}},
                {"mixed": 2, "num": 1.5, "huge": 1, "m": {"value": 2, "unit": "u"}},
                {"mixed": True, "m": {"value": 3, "unit": "v"}},
            ],
        )
    ]  # fmt: skip
    table = frames.flatten(docs)
    assert table.schema.field("mixed").type == pa.string()
    assert table["mixed"].to_pylist() == ["a", "2", "true"]
    assert table.schema.field("num").type == pa.float64()
    assert table.schema.field("huge").type == pa.uint64()
    assert table["huge"].to_pylist() == [2**63, 1, None]
    assert table["entry_timestamp"].to_pylist() == ["x", None, None]
    assert table["unit"].to_pylist() == ["u", "u", "v"]
    assert table["part"].to_pylist() == [None, None, None]


def test_what_is_and_is_not_a_metering_value() -> None:
    entry = {
        "ok": {"value": 0, "unit": "s"},
        "negative": {"value": -1, "unit": "s"},
        "extra_key": {"value": 1, "unit": "s", "x": 1},
        "float_value": {"value": 1.0, "unit": "s"},
        "bool_value": {"value": True, "unit": "s"},
        "no_unit": {"value": 1},
        "int_unit": {"value": 1, "unit": 5},
        "list": [1],
    }
    table = frames.flatten(
        [MeteringData(timestamp=T1, category="c", self_id="s", data=[entry])]
    )
    assert table["metric"].to_pylist() == ["ok"]
    assert table.column_names == [*frames.FIXED_COLUMNS, *frames.METRIC_COLUMNS]


def test_metric_in_some_entries_only_and_mixed_with_scalars() -> None:
    data = [
        {"a": {"value": 1, "unit": "u"}, "b": "x"},
        {"b": {"value": 2, "unit": "u"}},
        {"a": 5, "c": {"value": 3, "unit": "w"}},
    ]
    table = frames.flatten(
        [MeteringData(timestamp=T1, category="c", self_id="s", data=data)]
    )
    rows = [
        (r["a"], r["b"], r["metric"], r["value"], r["unit"]) for r in table.to_pylist()
    ]
    assert rows == [
        (None, "x", "a", 1, "u"),
        (None, None, "b", 2, "u"),
        (5, None, "c", 3, "w"),
    ]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.lists(
            st.dictionaries(
                st.sampled_from(["a", "b", "c", "lc", "part", "value"]),
                st.one_of(
                    st.builds(
                        lambda v, u: {"value": v, "unit": u},
                        st.integers(-2, 2**64 - 1),
                        st.sampled_from(["s", "B"]),
                    ),
                    st.none(),
                    st.booleans(),
                    st.integers(-(2**63), 2**63 - 1),
                    st.floats(allow_nan=False),
                    st.text(max_size=3),
                    st.just([1]),
                    st.just({"n": 1}),
                ),
                max_size=4,
            ),
            max_size=4,
        ),
        min_size=1,
        max_size=3,
    )
)
def test_fast_decoder_and_plain_documents_give_the_same_table(
    pages: list[list[dict[str, Any]]],
) -> None:
    """``to_arrow`` decodes pages with its own fast decoder; flattening the
    documents ``read_files`` returns must give exactly the same table."""
    storage = f"memory://prop-{uuid.uuid4().hex[:8]}"
    writer = MeteringWriter(storage, shared_pool_id="p")
    for index, data in enumerate(pages):
        writer.write(
            MeteringData(
                timestamp=T1 + 60 * index, category="c", self_id="s", data=data
            )
        )
    reader = MeteringReader(storage)
    infos = list(reader.scan_files(T1, T1 + 60 * len(pages)))
    plain = frames.flatten(reader.read_files([i.path for i in infos]), infos)
    assert reader.to_arrow(T1, T1 + 60 * len(pages)).equals(plain)
    expected_rows = sum(
        1
        for data in pages
        for entry in data
        for v in entry.values()
        if isinstance(v, dict) and set(v) == {"value", "unit"} and v["value"] >= 0
    )
    assert plain.num_rows == expected_rows


def test_explicit_fields_fix_the_columns() -> None:
    docs = [
        MeteringData(
            timestamp=T1,
            category="c",
            self_id="s",
            data=[{"lc": "x", "n": 1, "drop": "y", "m": {"value": 1, "unit": "u"}}],
        )
    ]
    table = frames.flatten(
        docs, fields={"lc": "string", "n": "float64", "gone": "int64"}
    )
    assert table.schema == frames.metering_schema(
        {"lc": pa.string(), "n": pa.float64(), "gone": pa.int64()}
    )
    assert table.to_pylist()[0]["n"] == 1.0 and table.to_pylist()[0]["gone"] is None
    with pytest.raises(ValueError, match="fields"):
        frames.flatten(docs, fields={"lc": "decimal"})
    with pytest.raises(ValueError, match="lc"):
        frames.flatten(docs, fields={"lc": "int64"})


def _put_raw(storage: str, path: str, document: bytes) -> None:
    open_storage(storage).pipe_file(path, gzip.compress(document))


def test_value_past_uint64_names_the_file(backend_uri: str) -> None:
    path = f"metering/ru/{T1}/c/p/s-0.json.gz"
    _put_raw(
        backend_uri,
        path,
        b'{"timestamp":%d,"category":"c","self_id":"s","shared_pool_id":"p","part":0,'
        b'"data":[{"m":{"value":18446744073709551616,"unit":"u"}}]}' % T1,
    )
    with pytest.raises(CorruptFileError, match=r"s-0\.json\.gz.*'m'.*uint64"):
        MeteringReader(backend_uri).to_arrow(T1, T1 + 60)


def test_corrupt_file_in_range_is_a_partial_read(backend_uri: str) -> None:
    write_sample(backend_uri)
    bad = f"metering/ru/{T2}/tikv/pool-b/s9-0.json.gz"
    open_storage(backend_uri).pipe_file(bad, b"not gzip")
    with pytest.raises(PartialReadError) as info:
        MeteringReader(backend_uri).to_arrow(T1, T2 + 60)
    assert list(info.value.errors) == [bad]


def test_size_limit_of_the_reader_applies(backend_uri: str) -> None:
    write_sample(backend_uri)
    reader = MeteringReader(
        backend_uri, attrs.evolve(Config(), max_decompressed_bytes=50)
    )
    with pytest.raises(PartialReadError):
        reader.to_arrow(T1, T2 + 60)


@pytest.mark.parametrize(
    ("module", "extra", "call"),
    [
        ("pyarrow", "arrow", lambda r: r.to_arrow(T1, T2)),
        ("pandas", "pandas", lambda r: r.to_pandas(T1, T2)),
        ("polars", "polars", lambda r: r.to_polars(T1, T2)),
        ("pyarrow", "arrow", lambda r: MetaReader(r.fs).to_arrow()),
    ],
)
def test_missing_extra_names_it(
    monkeypatch: pytest.MonkeyPatch, module: str, extra: str, call: Any
) -> None:
    reader = MeteringReader("memory://missing")
    monkeypatch.setitem(sys.modules, module, None)
    with pytest.raises(ImportError, match=rf"metering-fsspec\[{extra}\]") as info:
        call(reader)
    assert isinstance(info.value, frames.MissingExtraError)
    assert info.value.extra == extra


def test_importing_the_readers_does_not_import_the_extras() -> None:
    code = (
        "import sys, metering_fsspec, metering_fsspec.frames, metering_fsspec.dask;"
        "print(sorted(m for m in ('pyarrow','pandas','polars','dask','numpy')"
        " if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"


# -- meta ---------------------------------------------------------------------


def write_meta(storage: str) -> None:
    writer = MetaWriter(storage)
    writer.write(MetaData("lc-1", MetaType.LOGIC, 100, {"b": 2, "a": [1]}))
    writer.write(MetaData("lc-1", MetaType.LOGIC, 200, {"plan": "x"}))
    writer.write(MetaData("lc-1", MetaType.SHAREDPOOL, 100, {}, category="tidb"))
    writer.write(MetaData("lc-2", MetaType.LOGIC, 150, {"n": 2**64 - 1}))
    # Legacy files: no type folder; the first one has the same key as a typed file.
    fs = open_storage(storage)
    fs.pipe_file(
        "metering/meta/lc-1/100.json.gz",
        gzip.compress(
            b'{"cluster_id":"lc-1","type":"logic","modify_ts":100,"metadata":{"legacy":1}}'
        ),
    )
    fs.pipe_file(
        "metering/meta/tidb/lc-3/50.json.gz",
        gzip.compress(b'{"cluster_id":"lc-3","modify_ts":50,"metadata":{"old":true}}'),
    )  # fmt: skip


def test_meta_table(storage_uri: str) -> None:
    write_meta(storage_uri)
    table = MetaReader(storage_uri).to_arrow()
    assert table.column_names == [
        "cluster_id", "type", "category", "modify_ts", "metadata", "path",
    ]  # fmt: skip
    assert table.drop_columns(["path"]).to_pylist() == [
        {"cluster_id": "lc-1", "type": "logic", "category": "", "modify_ts": 100,
         "metadata": '{"a":[1],"b":2}'},
        {"cluster_id": "lc-1", "type": "logic", "category": "", "modify_ts": 200,
         "metadata": '{"plan":"x"}'},
        {"cluster_id": "lc-1", "type": "sharedpool", "category": "tidb",
         "modify_ts": 100, "metadata": "{}"},
        {"cluster_id": "lc-2", "type": "logic", "category": "", "modify_ts": 150,
         "metadata": '{"n":18446744073709551615}'},
        {"cluster_id": "lc-3", "type": None, "category": "tidb", "modify_ts": 50,
         "metadata": '{"old":true}'},
    ]  # fmt: skip
    # The typed file wins over the legacy one with the same key.
    assert table["path"][0].as_py() == "metering/meta/logic/lc-1/100.json.gz"
    assert msgspec.json.decode(table["metadata"][3].as_py())["n"] == 2**64 - 1


def test_meta_table_filters_and_pandas(backend_uri: str) -> None:
    write_meta(backend_uri)
    reader = MetaReader(backend_uri)
    assert reader.to_arrow(cluster_id="lc-1")["modify_ts"].to_pylist() == [
        100,
        200,
        100,
    ]
    assert reader.to_arrow(meta_type="sharedpool")["cluster_id"].to_pylist() == ["lc-1"]
    assert reader.to_arrow(category="tidb")["cluster_id"].to_pylist() == [
        "lc-1",
        "lc-3",
    ]
    assert reader.to_arrow(meta_type=MetaType.LOGIC, cluster_id="lc-1")[
        "path"
    ].to_pylist() == [
        "metering/meta/logic/lc-1/100.json.gz",
        "metering/meta/logic/lc-1/200.json.gz",
    ]
    df = reader.to_pandas(cluster_id="lc-2")
    assert df["metadata"].tolist() == ['{"n":18446744073709551615}']
    with pytest.raises(ValueError, match="type"):
        reader.to_arrow(meta_type="bogus")


def test_meta_table_skips_files_outside_the_layout() -> None:
    storage = "memory://meta-skip"
    write_meta(storage)
    open_storage(storage).pipe_file("metering/meta/logic/lc-1/notes.txt", b"x")
    with pytest.warns(MeteringWarning, match="notes.txt"):
        table = MetaReader(storage).to_arrow()
    assert table.num_rows == 5
