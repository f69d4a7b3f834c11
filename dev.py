#!/usr/bin/env python3
"""Set up and run the project with nothing but Python 3.11+ and pip.

    python3 dev.py demo    # write and read a minute of metering data in ./metering-data
    python3 dev.py test    # lint, type-check and run the whole test suite
    python3 dev.py bench   # the benchmark suite (not part of the tests)

Each command creates ``.venv`` and installs what it needs on first use.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / "python"


def run(*args: str | os.PathLike[str], **kwargs: object) -> None:
    print("+", " ".join(str(a) for a in args), flush=True)
    subprocess.run([str(a) for a in args], check=True, cwd=ROOT, **kwargs)  # type: ignore[call-overload]


def ensure_venv(extras: str) -> None:
    """Create .venv and install the package with ``extras`` unless already done."""
    if sys.version_info < (3, 11):  # noqa: UP036 - run by any python3
        sys.exit("metering-fsspec needs Python 3.11 or newer")
    if not PYTHON.exists():
        venv.EnvBuilder(with_pip=True).create(VENV)
    spec = f".[{extras}]" if extras else "."
    pins = ROOT / "constraints.txt"  # the versions the test suite last passed with
    digest = hashlib.sha256(
        (ROOT / "pyproject.toml").read_bytes() + pins.read_bytes() + spec.encode()
    ).hexdigest()
    stamp = VENV / f".installed-{extras or 'core'}"
    if stamp.exists() and stamp.read_text() == digest:
        return
    run(PYTHON, "-m", "pip", "install", "--quiet", "-c", pins, "-e", spec)
    stamp.write_text(digest)


def ensure_azurite() -> None:
    """Install the Azure storage emulator used by the Azure tests (needs npm)."""
    servers = ROOT / "tests" / "servers"
    npm = shutil.which("npm")
    if npm is None or not (servers / "package.json").exists():
        print("npm not found: the Azure tests will be skipped", flush=True)
        return
    if not (servers / "node_modules" / ".bin" / "azurite-blob").exists():
        run(npm, "ci", "--prefix", servers, "--no-audit", "--no-fund")


def demo() -> int:
    ensure_venv("")
    return subprocess.call(
        [str(BIN / "metering-fsspec"), "demo", *sys.argv[2:]], cwd=os.getcwd()
    )


def test() -> int:
    ensure_venv("all,test")
    ensure_azurite()
    run(
        BIN / "ruff",
        "check",
        "metering_fsspec",
        "tests",
        "benchmarks",
        "conftest.py",
        "dev.py",
    )
    run(
        BIN / "ruff",
        "format",
        "--check",
        "metering_fsspec",
        "tests",
        "benchmarks",
        "conftest.py",
        "dev.py",
    )
    run(BIN / "mypy")
    return subprocess.call([str(PYTHON), "-m", "pytest", *sys.argv[2:]], cwd=ROOT)


def bench() -> int:
    ensure_venv("all,test")
    return subprocess.call([str(PYTHON), "-m", "benchmarks", *sys.argv[2:]], cwd=ROOT)


COMMANDS = {"demo": demo, "test": test, "bench": bench}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        sys.exit(__doc__)
    sys.exit(COMMANDS[sys.argv[1]]())
