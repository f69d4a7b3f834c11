"""Start Azurite's blob service (from ``npm ci --prefix tests/servers``) on an
ephemeral port of 127.0.0.1 and read the chosen port from its output.
"""

from __future__ import annotations

import os
import queue
import re
import shutil
import subprocess
import threading
from pathlib import Path

__all__ = [
    "ACCOUNT_KEY",
    "ACCOUNT_NAME",
    "AzuriteServer",
    "azurite_binary",
]

# Azurite's well-known development account (public, documented by Microsoft).
ACCOUNT_NAME = "devstoreaccount1"
ACCOUNT_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="

_LISTENING = re.compile(r"listens on http://127\.0\.0\.1:(\d+)")


def azurite_binary() -> Path | None:
    """``azurite-blob`` installed under ``tests/servers``, if Node.js is present."""
    if shutil.which("node") is None:
        return None
    name = "azurite-blob.cmd" if os.name == "nt" else "azurite-blob"
    path = Path(__file__).resolve().parent / "node_modules" / ".bin" / name
    return path if path.exists() else None


class AzuriteServer:
    """An Azurite blob service storing its data under ``location``."""

    def __init__(self, binary: Path, location: Path) -> None:
        self._binary = binary
        self._location = location
        self._process: subprocess.Popen[str] | None = None
        self.port = 0

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}/{ACCOUNT_NAME}"

    def start(self, timeout: float = 60.0) -> AzuriteServer:
        self._process = subprocess.Popen(
            [
                str(self._binary),
                "--blobHost",
                "127.0.0.1",
                "--blobPort",
                "0",
                "--location",
                str(self._location),
                "--skipApiVersionCheck",
                "--loose",
                "--disableTelemetry",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
        )
        lines: queue.Queue[str | None] = queue.Queue()

        def pump() -> None:
            assert self._process is not None and self._process.stdout is not None
            for line in self._process.stdout:
                lines.put(line)
            lines.put(None)

        # Keep draining its output so that the pipe never fills up.
        threading.Thread(target=pump, name="azurite-output", daemon=True).start()
        seen: list[str] = []
        while True:
            try:
                line = lines.get(timeout=timeout)
            except queue.Empty:
                self.stop()
                raise RuntimeError(
                    f"azurite did not start in {timeout}s: {seen}"
                ) from None
            if line is None:
                self.stop()
                raise RuntimeError(f"azurite exited: {''.join(seen)}")
            seen.append(line)
            match = _LISTENING.search(line)
            if match:
                self.port = int(match.group(1))
                return self

    def stop(self) -> None:
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait(timeout=15)
        self._process = None
