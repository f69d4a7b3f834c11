"""The ``metering-fsspec demo`` console script, run as a user would."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from metering_fsspec import MetaReader, MeteringReader

TS = 1755850380


def _script() -> str:
    beside = Path(sys.executable).with_name("metering-fsspec")
    found = str(beside) if beside.exists() else shutil.which("metering-fsspec")
    if not found:
        pytest.fail("the metering-fsspec console script is not installed")
    return found


def _run(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    return subprocess.run(
        [_script(), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_demo_writes_metering_data_and_prints_a_summary(tmp_path: Path) -> None:
    result = _run(tmp_path, "demo", "--timestamp", str(TS))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    root = tmp_path / "metering-data"
    assert f"metering root: {root}" in out
    assert "files: 6, documents: 6, entries: 300" in out
    assert "meta in force for lc-0000: type=logic" in out

    files = sorted(p for p in root.rglob("*") if p.is_file())
    assert len(files) == 7  # six metering pages and one meta file
    for file in files:
        json.loads(gzip.decompress(file.read_bytes()))  # stdlib reads every file
    reader = MeteringReader(str(root))
    assert reader.get_categories(TS) == ["tidb-server", "tiflash", "tikv"]
    docs = reader.read_files(reader.list(f"metering/ru/{TS}/"))
    assert sum(len(d.data) for d in docs) == 300
    compute = sum(e["compute_seconds"]["value"] for d in docs for e in d.data)
    assert f"compute seconds in the minute: {compute}" in out
    meta = MetaReader(str(root)).read("lc-0000", TS)
    assert meta.metadata["name"] == "demo-cluster"

    again = _run(tmp_path, "demo", "--timestamp", str(TS))  # re-running overwrites
    assert again.returncode == 0, again.stderr
    assert again.stdout == out


def test_demo_with_a_bad_timestamp_fails_clearly(tmp_path: Path) -> None:
    result = _run(tmp_path, "demo", "--timestamp", "61")
    assert result.returncode != 0
    assert "timestamp" in result.stderr
    assert "Traceback" not in result.stderr
    assert not any(p.is_file() for p in tmp_path.rglob("*"))
