"""Interop with the Go library ``pingcap/metering_sdk``.

The fixtures (``shared/fixtures/go-sdk`` beside the repository) hold a storage
root written by the real Go writers (``written/``), the same files gunzipped
(``decompressed/``), what Go's readers answered for that root
(``go-reader-results.json``) and the inputs of every Go write
(``written/MANIFEST.json``).

Deliberate differences from Go (API.md wins; the fixture README lists them):
- file lists are ordered by part as a number (Go sorts strings: -0, -1, -10, -2);
- ``MetaReader.read`` sees typed layouts as well (Go's type-less read only sees
  the legacy layout and fails on this root);
- pages respect the limit including the envelope, so a paginated write gives
  more, smaller parts than Go; nil data with pagination writes one part-0 file
  and nil data is written as ``[]`` rather than ``null``;
- uint64 values stay exact (Go's reader decodes numbers as float64).
"""

from __future__ import annotations

import gzip
import json
import zlib
from pathlib import Path
from typing import Any

import msgspec
import pytest

from metering_fsspec import (
    Config,
    MetaData,
    MetaReader,
    MetaType,
    MetaWriter,
    MeteringData,
    MeteringFileExistsError,
    MeteringReader,
    MeteringValue,
    MeteringWriter,
    ValidationError,
)
from metering_fsspec.layout import parse_metering_path

FIXTURES = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "go-sdk"


@pytest.fixture(scope="module")
def go() -> Path:
    if not (FIXTURES / "written" / "MANIFEST.json").is_file():
        pytest.fail(
            f"Go fixtures missing: expected {FIXTURES} (the 'shared' folder beside"
            " the repository, with written/, decompressed/ and go-reader-results.json)"
        )
    return FIXTURES


@pytest.fixture(scope="module")
def results(go: Path) -> dict[str, Any]:
    return json.loads((go / "go-reader-results.json").read_text())  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def manifest(go: Path) -> dict[str, Any]:
    return json.loads((go / "written" / "MANIFEST.json").read_text())  # type: ignore[no-any-return]


def _go_files(go: Path) -> list[str]:
    written = go / "written"
    return sorted(
        str(p.relative_to(written)) for p in written.rglob("*.json.gz") if p.is_file()
    )


def _decompressed(go: Path, rel: str) -> Any:
    return json.loads((go / "decompressed" / rel[: -len(".gz")]).read_bytes())


def _root(go: Path, rel: str) -> tuple[str, str]:
    """The storage root holding ``rel`` and the path relative to it."""
    if rel.startswith("demo/"):
        return f"localfs://{go}/written/demo", rel[len("demo/") :]
    return f"localfs://{go}/written", rel


def _ours(value: Any) -> Any:
    return msgspec.to_builtins(value)


def _close(ours: Any, theirs: Any) -> bool:
    """Equal, except that integers beyond 2**53 compare as Go's float64."""
    if isinstance(ours, dict) and isinstance(theirs, dict):
        return ours.keys() == theirs.keys() and all(
            _close(ours[k], theirs[k]) for k in ours
        )
    if isinstance(ours, list) and isinstance(theirs, list):
        return len(ours) == len(theirs) and all(
            _close(a, b) for a, b in zip(ours, theirs, strict=True)
        )
    if isinstance(ours, int) and not isinstance(ours, bool) and abs(ours) > 2**53:
        return isinstance(theirs, int | float) and float(ours) == float(theirs)
    return type(ours) is type(theirs) and ours == theirs  # type: ignore[no-any-return]


def _metering_doc(doc: dict[str, Any]) -> dict[str, Any]:
    """A Go page as our MeteringData gives it: no ``part``, null data -> []."""
    out = {k: v for k, v in doc.items() if k != "part"}
    out["data"] = out.get("data") or []
    return out


def _meta_doc(doc: dict[str, Any]) -> dict[str, Any]:
    return {"category": "", **doc, "metadata": doc.get("metadata") or {}}


# -- reading what Go wrote -------------------------------------------------------


def test_every_go_file_decodes_like_decompressed(go: Path) -> None:
    files = _go_files(go)
    assert len(files) == 51
    metering = meta = 0
    for rel in files:
        root, path = _root(go, rel)
        expected = _decompressed(go, rel)
        if "/ru/" in f"/{path}":
            got = MeteringReader(root).read_file(path)
            assert _ours(got) == _metering_doc(expected), rel
            assert parse_metering_path(path).part == expected["part"]
            metering += 1
        else:
            got_meta = MetaReader(root).read_file(path)
            assert _ours(got_meta) == _meta_doc(expected), rel
            meta += 1
    assert (metering, meta) == (42, 9)


def test_uint64_values_from_go_stay_exact(go: Path) -> None:
    root, path = _root(
        go,
        "metering/ru/1755850380/tidb-server/production-pool-001/tidbserver01-0.json.gz",
    )
    special = MeteringReader(root).read_file(path).data[3]
    assert special["big_value"] == {"value": 2**64 - 1, "unit": "bytes"}
    assert special["uint_2p53_plus_1"] == 2**53 + 1


def test_metering_reader_matches_go(go: Path, results: dict[str, Any]) -> None:
    go_metering = results["metering"]
    reader = MeteringReader(f"localfs://{go}/written")
    assert reader.list("metering/ru/") == sorted(go_metering["raw_list"])
    checked = 0
    for entry in go_metering["timestamps"]:
        ts = entry["timestamp"]
        ours = reader.list_files_by_timestamp(ts)
        assert ours.timestamp == ts
        assert reader.get_categories(ts) == sorted(entry["categories"])
        assert ours.files.keys() == entry["list"]["files"].keys()
        for category, go_paths in entry["list"]["files"].items():
            ours_paths = ours.files[category]
            assert set(ours_paths) == set(go_paths)
            # our rule: pool, self_id, then part as a number
            by_rule = sorted(
                go_paths,
                key=lambda p: (
                    (i := parse_metering_path(p)).shared_pool_id,
                    i.self_id,
                    i.part,
                ),
            )
            assert ours_paths == by_rule
            assert reader.get_files_by_category(ts, category) == by_rule
        for item in entry["files"]:
            if item.get("error"):
                continue
            path = item["path"]
            info = reader.get_file_info(path)
            assert _ours(info) == item["info"]
            if "data" in item:
                assert _close(
                    _ours(reader.read_file(path)), _metering_doc(item["data"])
                )
                checked += 1
    assert checked == 41
    # Go's string order puts part 10 before part 2; ours does not.
    tikv = next(e for e in go_metering["timestamps"] if e["timestamp"] == 1755850380)
    go_order = tikv["list"]["files"]["tikv"]
    assert go_order[2].endswith("-10.json.gz")
    assert reader.get_files_by_category(1755850380, "tikv")[2].endswith("-2.json.gz")


def test_meta_reader_matches_go(go: Path, results: dict[str, Any]) -> None:
    go_meta = results["meta"]
    reader = MetaReader(f"localfs://{go}/written")
    assert reader.list("metering/meta/") == sorted(go_meta["raw_list"])
    for item in go_meta["files"]:
        assert _close(_ours(reader.read_file(item["path"])), _meta_doc(item["data"]))
    for group in go_meta["groups"]:
        kind, category = group["type"], group["category"]
        folder = "/".join(
            s for s in ("metering/meta", kind, category, group["cluster_id"]) if s
        )
        depth = folder.count("/") + 1
        listed = [p for p in reader.list(folder + "/") if p.count("/") == depth]
        stamps = sorted(int(p.rsplit("/", 1)[-1].split(".")[0]) for p in listed)
        assert stamps == group["modify_ts_values"]
    answered = failed = 0
    for q in go_meta["queries"]:
        assert q["method"] in ("ReadByType", "ReadByTypeWithCategory")

        def ask(q: dict[str, Any] = q) -> MetaData:
            return reader.read_by_type(
                q["cluster_id"], q["type"], q["timestamp"], category=q["category"]
            )

        if q.get("error"):
            with pytest.raises(FileNotFoundError):
                ask()
            failed += 1
        else:
            got = _ours(ask())
            assert _close(got, _meta_doc(q["result"])), q
            assert ask() == ask()  # asked again: the same answer
            answered += 1
    assert (answered, failed) == (16, 4)


def test_type_less_read_differs_from_go_by_design(
    go: Path, results: dict[str, Any]
) -> None:
    """Go's type-less read sees only the legacy layout and fails on this root;
    ours covers the typed layouts too, with logic winning a tie."""
    reader = MetaReader(f"localfs://{go}/written")
    for q in results["meta"]["legacy_queries"]:
        assert q["error"]
        got = reader.read(q["cluster_id"], q["timestamp"], category=q["category"])
        assert (got.type, got.modify_ts, got.category) == (
            MetaType.LOGIC,
            1755853600,
            q["category"],
        )
    assert reader.read("cluster001", 1755851800).metadata["name"] == "logic-nocat-v1"


def test_go_prefix_subtree_through_a_prefix_uri(go: Path) -> None:
    """Go's reader lists prefixed paths and then cannot read them; ours can."""
    storage = f"localfs://{go}/written?prefix=demo"
    listed = MeteringReader(storage).list_files_by_timestamp(1755850380).files
    (path,) = listed["tidb-server"]
    assert MeteringReader(storage).read_file(path).self_id == "tidbserver09"
    meta = MetaReader(storage).read_by_type("cluster002", "logic", 1755850000)
    assert meta.metadata == {"name": "demo-logic", "nested": {"k": [1, 2]}}


# -- writing what Go wrote -------------------------------------------------------


def _values(value: Any) -> Any:
    """Turn Go's marshalled ``common.MeteringValue`` objects back into ours."""
    if isinstance(value, dict):
        if (
            value.keys() == {"value", "unit"}
            and isinstance(value["value"], int)
            and value["value"] >= 0
            and isinstance(value["unit"], str)
        ):
            return MeteringValue(value["value"], value["unit"])
        return {k: _values(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_values(v) for v in value]
    return value


def _pairs(raw: bytes) -> Any:
    """JSON with the key order kept (objects as lists of pairs)."""
    return json.loads(raw, object_pairs_hook=list)


def _one_member(blob: bytes) -> bytes:
    inflater = zlib.decompressobj(31)
    raw = inflater.decompress(blob)
    assert inflater.eof and inflater.unused_data == b"", "not exactly one gzip member"
    return raw


def _replay(write: dict[str, Any], storage: str, config: Config) -> list[str]:
    """Give one MANIFEST write to our writer as Go's writer got it."""
    inp = write["input"]
    if write["kind"] == "meta":
        meta = MetaData(
            cluster_id=inp["cluster_id"],
            type=inp["type"],
            modify_ts=inp["modify_ts"],
            metadata=_values(inp["metadata"]),
            category=inp.get("category", ""),
        )
        return [MetaWriter(storage, config).write(meta)]
    if write["writer_ctor"] == "NewMeteringWriterWithSharedPool":
        writer = MeteringWriter(
            storage, config, shared_pool_id=write["ctor_shared_pool_id"]
        )
    else:
        writer = MeteringWriter(storage, config)
    # Go's nil data arrives as None: the writer takes it as no entries.
    data = MeteringData(
        timestamp=inp["timestamp"],
        category=inp["category"],
        self_id=inp["self_id"],
        shared_pool_id=inp["shared_pool_id"],
        data=_values(inp["data"]),
    )
    paths = writer.write(data)
    # Go fills the pool into the caller's object; we leave it untouched and
    # use the pool Go ended up with.
    assert data.shared_pool_id == inp["shared_pool_id"]
    after = write["input_after_write"]["shared_pool_id"]
    assert all(parse_metering_path(p).shared_pool_id == after for p in paths)
    return paths


ERROR_FIELDS = {
    "err-selfid-dash": "self_id",
    "err-selfid-empty": "self_id",
    "err-ts-not-minute": "timestamp",
    "err-ts-zero": "timestamp",
    "err-pool-empty": "shared_pool_id",
    "err-meta-type": "type",
}


def test_manifest_writes_reproduce_go_files(
    go: Path, manifest: dict[str, Any], tmp_path: Path
) -> None:
    base = tmp_path / "root"
    ours_first: dict[str, bytes] = {}
    compared = 0
    for write in manifest["writes"]:
        wid = write["id"]
        config = Config(
            overwrite_existing=write["config"]["OverwriteExisting"],
            page_size_bytes=write["config"]["PageSizeBytes"],
        )
        prefix = write["provider"]["prefix"]
        storage = f"localfs://{base}" + (f"?prefix={prefix}" if prefix else "")
        before = sorted(p for p in base.rglob("*") if p.is_file())
        if write["expect_error"]:
            if "exists" in wid:
                with pytest.raises(MeteringFileExistsError):
                    _replay(write, storage, config)
            else:
                with pytest.raises(ValidationError) as info:
                    _replay(write, storage, config)
                assert info.value.field == ERROR_FIELDS[wid], wid
            assert sorted(p for p in base.rglob("*") if p.is_file()) == before, wid
            continue

        paths = _replay(write, storage, config)
        full = [f"{prefix}/{p}" if prefix else p for p in paths]
        if wid == "f-nil-data-paged":  # Go writes nothing; we write one empty page
            assert paths == [
                "metering/ru/1755850500/tidb-server/production-pool-001/"
                "tidbserver05-0.json.gz"
            ]
            assert json.loads(_one_member((base / full[0]).read_bytes()))["data"] == []
            continue
        if wid == "b":  # our pages respect the limit, so there are more of them
            _check_paged_write(go, base, write, full)
            continue
        assert full == write["result_paths"], wid
        for rel in full:
            blob = (base / rel).read_bytes()
            raw = _one_member(blob)
            go_raw = (go / "decompressed" / rel[: -len(".gz")]).read_bytes()
            if wid == "f-nil-data":  # Go writes null for nil data, we write []
                go_raw = go_raw.replace(b'"data":null', b'"data":[]')
            assert _pairs(raw) == _pairs(go_raw), rel  # same values, same key order
            assert json.loads(gzip.decompress(blob)) == json.loads(go_raw)
            if wid == "a-rewrite":
                assert blob == ours_first[rel]  # a rewrite gives the same bytes
            ours_first.setdefault(rel, blob)
            compared += 1
    assert compared == 15


def _check_paged_write(
    go: Path, base: Path, write: dict[str, Any], full: list[str]
) -> None:
    limit = write["config"]["PageSizeBytes"]
    go_paths = write["result_paths"]
    folder = go_paths[0].rsplit("/", 1)[0]
    assert full == [f"{folder}/tikvserver7-{n}.json.gz" for n in range(len(full))]
    assert len(full) >= len(go_paths)
    ours_entries: list[Any] = []
    for rel in full:
        raw = _one_member((base / rel).read_bytes())
        page = _pairs(raw)
        entries = dict(page)["data"]
        assert len(raw) <= limit or len(entries) == 1
        assert [k for k, _ in page] == [
            "timestamp",
            "category",
            "self_id",
            "shared_pool_id",
            "part",
            "data",
        ]
        ours_entries += entries
    go_entries: list[Any] = []
    for rel in sorted(go_paths, key=lambda p: parse_metering_path(p).part):
        go_entries += dict(
            _pairs((go / "decompressed" / rel[: -len(".gz")]).read_bytes())
        )["data"]
    assert ours_entries == go_entries
