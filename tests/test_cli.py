"""The ``metering-fsspec`` command line, driven as a real subprocess."""

from __future__ import annotations

import gzip
import json
import os
import pty
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import msgspec
import pytest

from conftest import S3_SECRET
from metering_fsspec import (
    MetaData,
    MetaReader,
    MetaType,
    MetaWriter,
    MeteringData,
    MeteringReader,
    MeteringWriter,
)
from metering_fsspec.demo import make_minute

T0 = 1755850380  # 2025-08-22 08:13 UTC
T1 = T0 + 60
T2 = T0 + 120


def run(
    *args: str, stdin: str | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "metering_fsspec.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
    )


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    """The error line of a failed command; never a traceback."""
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error")]
    assert len(errors) == 1, result.stderr
    return errors[0]


@pytest.fixture
def root(tmp_path: Path) -> tuple[str, Path]:
    """Three minutes of demo data (T0, T1 and T2) and a few meta versions."""
    base = tmp_path / "root"
    uri = f"localfs://{base}"
    with MeteringWriter(uri) as writer:
        for ts in (T0, T1, T2):
            for doc in make_minute(ts, clusters=3):
                writer.write(doc)
    with MetaWriter(uri) as meta:
        for modify_ts, plan in ((T0 - 600, "basic"), (T1, "gold")):
            meta.write(MetaData("lc-0001", MetaType.LOGIC, modify_ts, {"plan": plan}))
        meta.write(
            MetaData("lc-0001", MetaType.SHAREDPOOL, T0, {"pool": "p"}, category="tikv")
        )
    return uri, base


# -- the installed script and demo ------------------------------------------------


def test_installed_script_runs_demo(tmp_path: Path) -> None:
    script = shutil.which("metering-fsspec", path=str(Path(sys.executable).parent))
    assert script is not None, "the console script is not installed next to python"
    result = subprocess.run(
        [script, "demo", "--timestamp", str(T0)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert f"metering root: {tmp_path / 'metering-data'}" in result.stdout
    assert "files: 6, documents: 6, entries: 300" in result.stdout
    assert "meta in force for lc-0000: type=logic" in result.stdout
    files = MeteringReader(
        f"localfs://{tmp_path}/metering-data"
    ).list_files_by_timestamp(T0)
    assert sum(len(v) for v in files.files.values()) == 6


def test_help_and_version() -> None:
    result = run("--help")
    assert result.returncode == 0
    for command in ("ls", "cat", "meta", "write", "export", "validate", "demo"):
        assert f"  {command} " in result.stdout
    version = run("--version")
    assert version.returncode == 0 and "0.1.0" in version.stdout


# -- ls ------------------------------------------------------------------------------


def test_ls_groups_minutes_and_categories(root: tuple[str, Path]) -> None:
    uri, _ = root
    result = run("ls", uri, "--at", str(T1))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == f"storage: {uri}"
    assert lines[1] == f"{T1}  2025-08-22 08:14:00 UTC"
    assert "  tikv  (3 files)" in lines
    assert "  tiflash  (1 file)" in lines
    paths = [line.strip() for line in lines if line.startswith("    ")]
    expected = MeteringReader(uri).list_files_by_timestamp(T1).files
    assert paths == [p for cat in sorted(expected) for p in expected[cat]]
    assert lines[-1] == "6 file(s) in 1 minute(s)"


def test_ls_json_filters_and_ranges(root: tuple[str, Path]) -> None:
    uri, base = root
    everything = json.loads(run("ls", uri, "--json").stdout)
    assert everything["storage"] == uri
    assert {f["timestamp"] for f in everything["files"]} == {T0, T1, T2}
    assert len(everything["files"]) == 18

    ranged = json.loads(
        run(
            "ls", uri, "--from", str(T1), "--to", "2025-08-22T08:15:00Z", "--json"
        ).stdout
    )
    assert {f["timestamp"] for f in ranged["files"]} == {T1}

    filtered = json.loads(
        run(
            "ls", uri, "--category", "tikv", "--pool", "pool-us-west-2b", "--json"
        ).stdout
    )["files"]
    assert {(f["category"], f["shared_pool_id"], f["self_id"]) for f in filtered} == {
        ("tikv", "pool-us-west-2b", "tikvserver02")
    }
    assert len(filtered) == 3  # one per minute
    assert "size" not in filtered[0]

    long = json.loads(run("ls", uri, "--at", str(T0), "--long", "--json").stdout)
    for row in long["files"]:
        assert row["size"] == (base / row["path"]).stat().st_size
        assert row["part"] == 0


def test_ls_long_shows_size_and_part(root: tuple[str, Path]) -> None:
    uri, base = root
    result = run("ls", uri, "--at", str(T0), "--category", "tiflash", "-l")
    assert result.returncode == 0
    path = "metering/ru/1755850380/tiflash/pool-us-west-2a/tiflash01-0.json.gz"
    size = (base / path).stat().st_size
    assert f"    {size:>10}  part 0   {path}" in result.stdout.splitlines()


def test_ls_warns_once_about_files_outside_the_layout(root: tuple[str, Path]) -> None:
    uri, base = root
    stray = "metering/ru/1755850380/tikv/pool-us-west-2a/bad-name.json.gz"
    (base / stray).write_bytes(b"x")
    result = run("ls", uri, "--at", str(T0), "--json")
    assert result.returncode == 0
    assert len(json.loads(result.stdout)["files"]) == 6
    warnings = [line for line in result.stderr.splitlines() if stray in line]
    assert len(warnings) == 1 and warnings[0].startswith("warning: ")


def test_ls_empty_root(tmp_path: Path) -> None:
    result = run("ls", f"localfs://{tmp_path}")
    assert result.returncode == 0
    assert "no metering files found" in result.stdout


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["ls"], "missing argument 'URI'"),
        (["ls", "bogus://x"], "Protocol not known: bogus"),
        (["ls", "s3://b/p?nonsense=1"], "unknown URI parameter"),
        (["ls", "localfs:///x", "--at", "yesterday"], "neither unix seconds"),
        (["ls", "localfs:///x", "--at", "60", "--from", "0"], "cannot be combined"),
        (["ls", "localfs:///x", "--from", "120", "--to", "60"], "must be after"),
        (["cat", "localfs:///x"], "missing argument 'PATH'"),
        (["meta", "localfs:///x"], "missing argument 'CLUSTER'"),
        (["ls", "--config", "missing.yaml"], "does not exist"),
        (["nonsense"], "No such command"),
    ],
)
def test_usage_errors_exit_2(args: list[str], expected: str) -> None:
    result = run(*args)
    assert result.returncode == 2, result
    assert expected in one_line_error(result)


# -- cat ----------------------------------------------------------------------------


def test_cat_pretty_and_raw(root: tuple[str, Path]) -> None:
    uri, base = root
    path = "metering/ru/1755850380/tikv/pool-us-west-2a/tikvserver01-0.json.gz"
    stored = gzip.decompress((base / path).read_bytes())

    raw = subprocess.run(
        [sys.executable, "-m", "metering_fsspec.cli", "cat", uri, path, "--raw"],
        capture_output=True,
        timeout=120,
    )
    assert raw.returncode == 0
    assert raw.stdout == stored

    pretty = run("cat", uri, path)
    assert pretty.returncode == 0
    assert pretty.stdout.startswith(
        '{\n  "timestamp": 1755850380,\n  "category": "tikv"'
    )
    assert json.loads(pretty.stdout) == json.loads(stored)
    # Field order as stored (Go's order), not sorted.
    assert list(json.loads(pretty.stdout)) == [
        "timestamp",
        "category",
        "self_id",
        "shared_pool_id",
        "part",
        "data",
    ]

    meta = run("cat", uri, "/metering/meta/logic/lc-0001/1755850440.json.gz")
    assert meta.returncode == 0
    assert json.loads(meta.stdout)["metadata"] == {"plan": "gold"}


def test_cat_missing_and_corrupt_files_exit_1(root: tuple[str, Path]) -> None:
    uri, base = root
    missing = run("cat", uri, "metering/ru/60/x/y/z-0.json.gz")
    assert missing.returncode == 1
    assert (
        one_line_error(missing)
        == "error: file not found: metering/ru/60/x/y/z-0.json.gz"
    )

    bad = base / "metering/ru/1755850380/tikv/pool-us-west-2a/tikvserver01-0.json.gz"
    bad.write_bytes(b"not gzip at all")
    corrupt = run("cat", uri, str(bad.relative_to(base)))
    assert corrupt.returncode == 1
    assert "not a gzip file" in one_line_error(corrupt)
    assert str(bad.relative_to(base)) in corrupt.stderr

    traced = run("--debug", "cat", uri, str(bad.relative_to(base)))
    assert traced.returncode == 1
    assert "Traceback" in traced.stderr and "CorruptFileError" in traced.stderr


# -- meta ------------------------------------------------------------------------------


def test_meta_in_force(root: tuple[str, Path]) -> None:
    uri, _ = root
    before = json.loads(run("meta", uri, "lc-0001", "--at", str(T0), "--json").stdout)
    assert before == {
        "cluster_id": "lc-0001",
        "type": "logic",
        "category": "",
        "modify_ts": T0 - 600,
        "metadata": {"plan": "basic"},
    }
    after = json.loads(run("meta", uri, "lc-0001", "--at", str(T2), "--json").stdout)
    assert after["metadata"] == {"plan": "gold"} and after["modify_ts"] == T1

    pool = run(
        "meta",
        uri,
        "lc-0001",
        "--type",
        "sharedpool",
        "--category",
        "tikv",
        "--at",
        "2025-08-22T09:00Z",
    )
    assert pool.returncode == 0
    assert "type:      sharedpool" in pool.stdout
    assert "category:  tikv" in pool.stdout
    assert f"modify_ts: {T0}  2025-08-22 08:13:00 UTC" in pool.stdout
    assert '"pool": "p"' in pool.stdout


def test_meta_not_found_exit_1(root: tuple[str, Path]) -> None:
    uri, _ = root
    result = run("meta", uri, "lc-0001", "--at", str(T0 - 3600))
    assert result.returncode == 1
    assert "no meta file with modify_ts <= 1755846780" in one_line_error(result)
    bad = run("meta", uri, "../etc")
    assert bad.returncode == 2
    assert "cluster_id" in one_line_error(bad)


# -- write ------------------------------------------------------------------------------


def _jsonl(docs: list[MeteringData]) -> str:
    return "".join(msgspec.json.encode(doc).decode() + "\n" for doc in docs)


def test_write_from_file_and_stdin(tmp_path: Path) -> None:
    uri = f"localfs://{tmp_path}/out"
    docs = make_minute(T0, clusters=4)
    docs[0].shared_pool_id = ""  # filled from --pool
    source = tmp_path / "docs.jsonl"
    source.write_text(_jsonl(docs[:3]) + "\n")  # a blank line is skipped

    result = run("write", uri, str(source), "--pool", "pool-x")
    assert result.returncode == 0, result.stderr
    written = result.stdout.split()
    assert (
        written[0] == "metering/ru/1755850380/tidb-server/pool-x/tidbserver01-0.json.gz"
    )
    assert len(written) == 3
    assert f"wrote 3 metering file(s) from 3 document(s) to {uri}" in result.stderr

    piped = run("write", uri, "-", "--page-size", "400", stdin=_jsonl(docs[3:]))
    assert piped.returncode == 0, piped.stderr
    paged = piped.stdout.split()
    assert len(paged) > 3  # pages of at most 400 bytes: several parts per document
    reader = MeteringReader(uri)
    for doc in docs[3:]:
        parts = reader.get_files_by_category(T0, doc.category)
        mine = [p for p in parts if f"/{doc.self_id}-" in p]
        entries = [e for d in reader.read_files(mine) for e in d.data]
        assert entries == msgspec.json.decode(msgspec.json.encode(doc.data))
        for path in mine:
            assert len(gzip.decompress((tmp_path / "out" / path).read_bytes())) <= 400


def test_write_refuses_existing_and_overwrites(tmp_path: Path) -> None:
    uri = f"localfs://{tmp_path}/out"
    line = _jsonl(make_minute(T0, clusters=1)[:1])
    assert run("write", uri, stdin=line).returncode == 0
    again = run("write", uri, stdin=line)
    assert again.returncode == 1
    assert one_line_error(again) == (
        "error: -:1: file already exists: "
        "metering/ru/1755850380/tidb-server/pool-us-west-2a/tidbserver01-0.json.gz"
    )
    assert run("write", uri, "--overwrite", stdin=line).returncode == 0


def test_write_checks_every_line_before_writing(tmp_path: Path) -> None:
    uri = f"localfs://{tmp_path}/out"
    good = _jsonl(make_minute(T0, clusters=1)[:2])
    bad_ts = '{"timestamp": 61, "category": "x", "self_id": "a"}\n'
    result = run("write", uri, stdin=good + bad_ts)
    assert result.returncode == 1
    assert (
        one_line_error(result)
        == "error: -:3: timestamp: must be divisible by 60, got 61"
    )
    assert not (tmp_path / "out" / "metering").exists()  # nothing written

    not_json = run("write", uri, stdin='{"timestamp": "soon"}\n')
    assert not_json.returncode == 1
    assert "-:1: Expected `int`, got `str` - at `$.timestamp`" in one_line_error(
        not_json
    )

    escape = run(
        "write", uri, stdin='{"timestamp": 60, "category": "..", "self_id": "a"}'
    )
    assert escape.returncode == 1
    assert "category" in one_line_error(escape)
    assert not (tmp_path / "out" / "metering").exists()

    missing = run("write", uri, str(tmp_path / "nope.jsonl"))
    assert missing.returncode == 2
    assert "cannot read" in one_line_error(missing)


def test_write_meta(tmp_path: Path) -> None:
    uri = f"localfs://{tmp_path}/out"
    lines = (
        '{"cluster_id": "lc-9", "type": "logic", "modify_ts": 100, "metadata": {"a": 1}}\n'
        '{"cluster_id": "lc-9", "type": "sharedpool", "category": "tikv",'
        ' "modify_ts": 200, "metadata": {}}\n'
    )
    result = run("write", uri, "--meta", stdin=lines)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "metering/meta/logic/lc-9/100.json.gz",
        "metering/meta/sharedpool/tikv/lc-9/200.json.gz",
    ]
    assert MetaReader(uri).read("lc-9", 150).metadata == {"a": 1}
    bad = run(
        "write",
        uri,
        "--meta",
        stdin='{"cluster_id": "x", "type": "other", "modify_ts": 1}',
    )
    assert bad.returncode == 1
    assert "-:1:" in one_line_error(bad) and "type" in bad.stderr


# -- validate ------------------------------------------------------------------------


def test_validate_clean_root(root: tuple[str, Path]) -> None:
    uri, _ = root
    result = run("validate", uri)
    assert result.returncode == 0, result.stdout
    assert result.stdout.splitlines()[-1] == "checked 21 file(s): no problems"


def test_validate_reports_each_problem_with_its_path(root: tuple[str, Path]) -> None:
    uri, base = root
    folder = base / "metering/ru/1755850440/tikv/pool-us-west-2a"
    (folder / "tikvserver01-0.json.gz").write_bytes(b"garbage")
    (folder / "bad-name.json.gz").write_bytes(gzip.compress(b"{}"))
    # A part 2 without a part 1; its document claims another self_id.
    page = {
        "timestamp": T1,
        "category": "tikv",
        "self_id": "other",
        "shared_pool_id": "pool-us-west-2a",
        "part": 2,
        "data": [{"v": {"value": -5, "unit": "b"}}],
    }
    (folder / "tikvserver03-2.json.gz").write_bytes(
        gzip.compress(json.dumps(page).encode())
    )
    (base / "metering/stray.txt").write_text("x")
    meta = base / "metering/meta/logic/lc-0001/1755850470.json.gz"
    meta.write_bytes(
        gzip.compress(
            json.dumps(
                {
                    "cluster_id": "lc-0002",
                    "type": "logic",
                    "modify_ts": 1755850470,
                    "metadata": {},
                }
            ).encode()
        )
    )

    result = run("validate", uri)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    prefix = "metering/ru/1755850440/tikv/pool-us-west-2a/"
    expected = {
        f"{prefix}tikvserver01-0.json.gz: not a gzip file (bad magic bytes)",
        f"{prefix}bad-name.json.gz: not in the metering layout: "
        "file name is not {self_id}-{part}.json.gz",
        f"{prefix}tikvserver03-1.json.gz: missing part 1 (found parts 0, 2)",
        f"{prefix}tikvserver03-2.json.gz: self_id is 'other' but the path says "
        "'tikvserver03'",
        f"{prefix}tikvserver03-2.json.gz: data[0].v.value must be an integer in "
        "[0, 2**64), got -5",
        "metering/stray.txt: not in the metering or meta layout",
        "metering/meta/logic/lc-0001/1755850470.json.gz: cluster_id is 'lc-0002' "
        "but the path says 'lc-0001'",
    }
    lines = result.stdout.splitlines()
    assert set(lines[1:-1]) == expected
    assert lines[-1] == "checked 25 file(s): 7 problem(s) in 6 path(s)"

    # A range holding only healthy minutes (and no meta in range) is clean.
    clean = run("validate", uri, "--from", str(T2), "--to", str(T2 + 60), "--json")
    assert clean.returncode == 0
    assert json.loads(clean.stdout) == {"storage": uri, "checked": 6, "problems": []}
    in_range = json.loads(
        run("validate", uri, "--from", str(T1), "--to", str(T2), "--json").stdout
    )
    assert {p["path"].rsplit("/", 1)[-1] for p in in_range["problems"]} == {
        "tikvserver01-0.json.gz",
        "bad-name.json.gz",
        "tikvserver03-1.json.gz",
        "tikvserver03-2.json.gz",
        "1755850470.json.gz",
    }


# -- config files ---------------------------------------------------------------------


def test_config_file_instead_of_uri(root: tuple[str, Path], tmp_path: Path) -> None:
    uri, base = root
    config = tmp_path / "metering.yaml"
    config.write_text(f"type: localfs\nlocalfs:\n  base-path: {base}\n")
    listed = json.loads(run("ls", "--config", str(config), "--json").stdout)
    assert listed["storage"] == uri and len(listed["files"]) == 18

    path = listed["files"][0]["path"]
    shown = run("cat", "--config", str(config), path)
    assert shown.returncode == 0 and json.loads(shown.stdout)["timestamp"] == T0

    meta = run("meta", "--config", str(config), "lc-0001", "--at", str(T2), "--json")
    assert json.loads(meta.stdout)["metadata"] == {"plan": "gold"}

    both = run("cat", uri, path, "--config", str(config))
    assert both.returncode == 2
    assert "either URI or --config" in one_line_error(both)

    broken = tmp_path / "broken.toml"
    broken.write_text("type = 'nowhere'\n")
    refused = run("ls", "--config", str(broken))
    assert refused.returncode == 2
    assert "unknown storage type" in one_line_error(refused)


# -- export ----------------------------------------------------------------------------


def test_export_formats(root: tuple[str, Path], tmp_path: Path) -> None:
    uri, _ = root
    out = tmp_path / "export"
    result = run(
        "export",
        uri,
        "--from",
        str(T0),
        "--to",
        str(T2),
        "--format",
        "jsonl",
        "--out",
        str(out),
        "--partition-by",
        "none",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["metering.jsonl"]
    rows = [
        json.loads(line) for line in (out / "metering.jsonl").read_text().splitlines()
    ]
    # Two minutes x 6 documents x 3 clusters x 3 metrics.
    assert len(rows) == 2 * 6 * 3 * 3
    compute = sum(r["value"] for r in rows if r["metric"] == "compute_seconds")
    docs = list(MeteringReader(uri).scan(T0, T2))
    assert compute == sum(e["compute_seconds"]["value"] for d in docs for e in d.data)

    parquet = run(
        "export",
        uri,
        "--from",
        "2025-08-22",
        "--to",
        "2025-08-23",
        "--format",
        "parquet",
        "--out",
        str(tmp_path / "pq"),
    )
    assert parquet.returncode == 0, parquet.stderr
    assert sorted(parquet.stdout.split()) == [
        f"day=2025-08-22/category={c}/part-0.parquet"
        for c in ("tidb-server", "tiflash", "tikv")
    ]
    again = run(
        "export",
        uri,
        "--from",
        "2025-08-22",
        "--to",
        "2025-08-23",
        "--format",
        "parquet",
        "--out",
        str(tmp_path / "pq"),
    )
    assert again.returncode == 1
    assert "already exists" in one_line_error(again)

    bad = run(
        "export",
        uri,
        "--from",
        str(T0),
        "--to",
        str(T2),
        "--format",
        "xml",
        "--out",
        str(out),
    )
    assert bad.returncode == 2


# -- S3 ----------------------------------------------------------------------------


def test_s3_round_trip_never_prints_secrets(s3_uri: str, tmp_path: Path) -> None:
    docs = make_minute(T0, clusters=2)
    outputs: list[subprocess.CompletedProcess[str]] = []

    def check(result: subprocess.CompletedProcess[str], code: int = 0) -> Any:
        outputs.append(result)
        assert result.returncode == code, result.stderr
        return result

    check(run("write", s3_uri, stdin=_jsonl(docs)))
    listed = json.loads(check(run("ls", s3_uri, "--json")).stdout)
    assert len(listed["files"]) == 6
    assert "secret-access-key=REDACTED" in listed["storage"]
    assert "access-key=testing-access-key" in listed["storage"]
    plain = check(run("ls", s3_uri, "--long"))
    assert "secret-access-key=REDACTED" in plain.stdout.splitlines()[0]

    path = listed["files"][0]["path"]
    shown = json.loads(check(run("cat", s3_uri, path)).stdout)
    assert shown["timestamp"] == T0 and len(shown["data"]) == 2

    meta_line = '{"cluster_id": "lc-0000", "type": "logic", "modify_ts": 1, "metadata": {"n": 1}}'
    check(run("write", s3_uri, "--meta", stdin=meta_line))
    assert json.loads(check(run("meta", s3_uri, "lc-0000", "--json")).stdout)[
        "metadata"
    ] == {"n": 1}
    assert check(run("validate", s3_uri)).stdout.splitlines()[-1] == (
        "checked 7 file(s): no problems"
    )
    check(run("cat", s3_uri, "metering/ru/60/a/b/c-0.json.gz"), code=1)
    traced = check(run("--debug", "cat", s3_uri, "metering/nothing.json.gz"), code=1)
    assert "Traceback" in traced.stderr
    check(run("write", s3_uri, stdin=_jsonl(docs[:1])), code=1)  # exists already

    for result in outputs:
        assert S3_SECRET not in result.stdout
        assert S3_SECRET not in result.stderr


def test_secret_never_printed_on_errors(s3_server: str) -> None:
    secret = "very-secret-value-123"
    uri = (
        f"s3://no-such-bucket/p?region-id=us-east-1&endpoint={s3_server}"
        f"&access-key=AK&secret-access-key={secret}&s3-force-path-style=true"
    )
    for args, code in (
        (["--debug", "cat", uri, "metering/meta/logic/x/1.json.gz"], 1),
        (["--debug", "write", uri], 1),
        (["ls", uri + "&bogus=1"], 2),
    ):
        result = run(*args, stdin='{"timestamp": 60, "category": "c", "self_id": "s"}')
        assert result.returncode == code, result.stderr
        assert result.stderr.strip()
        assert secret not in result.stdout + result.stderr
    assert "secret-access-key=REDACTED" in run("ls", uri).stdout


# -- progress -------------------------------------------------------------------------


def test_progress_bar_only_on_a_terminal(root: tuple[str, Path]) -> None:
    uri, _ = root
    piped = run("validate", uri)
    assert piped.returncode == 0
    assert piped.stderr == ""

    master, slave = pty.openpty()
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "metering_fsspec.cli", "validate", uri],
            stdout=subprocess.PIPE,
            stderr=slave,
            timeout=120,
        )
        os.close(slave)
        chunks = []
        for _ in range(1000):  # bounded: the pty is drained once the child exited
            try:
                chunk = os.read(master, 4096)
            except OSError:
                break
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(master)
    assert proc.returncode == 0
    terminal = b"".join(chunks).decode()
    assert "validating" in terminal and "21/21" in terminal
    assert b"no problems" in proc.stdout
