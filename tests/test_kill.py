"""A writer process killed with SIGKILL in the middle of a write leaves either
the complete file or nothing at the final path, on local files and on S3.

The child is this module run in a fresh interpreter (:func:`child_main`). To
kill it while a file is half written rather than at some random moment:
locally it is stopped after writing half of the temporary file; on S3 its
upload goes through a proxy that stops forwarding half-way through the body.
"""

from __future__ import annotations

import contextlib
import os
import random
import selectors
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from metering_fsspec import Config, MeteringData, MeteringReader, MeteringWriter

ROOT = Path(__file__).resolve().parents[1]
TS = 1_700_000_040
CONFIG = Config(compression_level=1)


def make_doc(index: int, size: int) -> MeteringData:
    """Document ``index``: ``size`` random bytes (hex) that compress poorly."""
    rng = random.Random(index)
    entries = [
        {"seq": index, "blob": rng.randbytes(1024).hex()} for _ in range(size // 1024)
    ]
    return MeteringData(
        timestamp=TS,
        category="kill",
        self_id=f"w{index}",
        shared_pool_id="pool",
        data=entries,
    )


def child_main() -> None:
    """``python -c 'from tests.test_kill import child_main; child_main()' MODE URI SIZE``."""
    mode, uri, size = sys.argv[1], sys.argv[2], int(sys.argv[3])
    writer = MeteringWriter(uri, CONFIG)
    if mode == "stop-half-way":
        from metering_fsspec import localfs

        real_write_all = localfs._write_all

        def half_then_stop(fd: int, data: bytes | bytearray | memoryview) -> None:
            real_write_all(fd, bytes(data)[: len(data) // 2])
            print("HALF", flush=True)
            sys.stdin.read()  # blocks until killed
            raise AssertionError("not killed")

        localfs._write_all = half_then_stop  # type: ignore[assignment]
        writer.write(make_doc(0, size))
    elif mode == "stream":
        for index in range(int(sys.argv[4]), 10_000):
            writer.write(make_doc(index, size), resume=True)
            print(f"DONE {index}", flush=True)
    else:
        writer.write(make_doc(0, size))
        print("DONE 0", flush=True)


def spawn(mode: str, uri: str, size: int, start: int = 0) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from tests.test_kill import child_main; child_main()",
            mode,
            uri,
            str(size),
            str(start),
        ],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def read_line(proc: subprocess.Popen[str], timeout: float = 60) -> str:
    """The child's next line of output, failing after ``timeout`` seconds."""
    assert proc.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(proc.stdout, selectors.EVENT_READ)
        if not selector.select(timeout):
            proc.kill()
            pytest.fail(f"child silent for {timeout} s")
    line = proc.stdout.readline()
    if not line:
        proc.wait(10)
        assert proc.stderr is not None
        pytest.fail(f"child exited early: {proc.stderr.read()[-2000:]}")
    return line.strip()


def kill(proc: subprocess.Popen[str]) -> None:
    os.kill(proc.pid, signal.SIGKILL)
    assert proc.wait(30) == -signal.SIGKILL


def assert_complete_or_absent(uri: str, size: int, done: set[int]) -> int:
    """Every visible file is complete; every file reported done is there."""
    reader = MeteringReader(uri)
    paths = reader.list_files_by_timestamp(TS).files.get("kill", [])
    seen = set()
    for path in paths:
        doc = reader.read_file(path)
        index = int(doc.self_id[1:])
        assert doc == make_doc(index, size)
        seen.add(index)
    assert done <= seen
    return len(paths)


# -- local files ---------------------------------------------------------------------------


def test_local_writer_killed_half_way(tmp_path: Path) -> None:
    uri = f"localfs://{tmp_path}/root"
    size = 2 << 20
    proc = spawn("stop-half-way", uri, size)
    assert read_line(proc) == "HALF"
    kill(proc)
    folder = tmp_path / "root/metering/ru" / str(TS) / "kill/pool"
    # The kill came mid-write: half a temporary file, nothing at the final name.
    [temp] = list(folder.iterdir())
    assert temp.name.startswith(".w0-0.json.gz.") and temp.name.endswith(".tmp")
    assert temp.stat().st_size > 0
    assert not (folder / "w0-0.json.gz").exists()
    assert assert_complete_or_absent(uri, size, set()) == 0
    # The same write then succeeds and reads back whole.
    MeteringWriter(uri, CONFIG).write(make_doc(0, size))
    assert assert_complete_or_absent(uri, size, {0}) == 1


@pytest.mark.parametrize("backend", ["local", "s3"])
def test_writer_killed_at_random_moments(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """Kill a writer streaming files at random points; each restart resumes
    after the last file it reported."""
    uri = (
        f"localfs://{tmp_path}/root"
        if backend == "local"
        else str(request.getfixturevalue("s3_uri"))
    )
    size = 256 << 10
    rng = random.Random(5)
    done: set[int] = set()
    start = 0
    for _ in range(3):
        proc = spawn("stream", uri, size, start)
        target = start + rng.randint(0, 3)
        index = -1
        while index < target:
            index = int(read_line(proc).split()[1])
            done.add(index)
        kill(proc)
        assert_complete_or_absent(uri, size, done)
        start = index + 1  # the file in flight is redone with resume=True
    files = assert_complete_or_absent(uri, size, done)
    print(f"\nkilled 3 writers ({backend}): {files} complete files, none partial")


# -- S3 ---------------------------------------------------------------------------------


class CuttingProxy:
    """A TCP proxy that stops forwarding a request after ``cut_after`` bytes.

    ``cut`` is set once a connection has forwarded that much; the rest of the
    request is held back until :meth:`close`, which drops every connection.
    """

    def __init__(self, target: tuple[str, int], cut_after: int) -> None:
        self.target = target
        self.cut_after = cut_after
        self.cut = threading.Event()
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.sockets: list[socket.socket] = [self.server]
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            with self.lock:
                self.sockets += [client, upstream]
            threading.Thread(
                target=self._up, args=(client, upstream), daemon=True
            ).start()
            threading.Thread(
                target=self._down, args=(upstream, client), daemon=True
            ).start()

    def _up(self, client: socket.socket, upstream: socket.socket) -> None:
        sent = 0
        try:
            while chunk := client.recv(65536):
                room = self.cut_after - sent
                if len(chunk) >= room:
                    upstream.sendall(chunk[:room])
                    self.cut.set()
                    return
                upstream.sendall(chunk)
                sent += len(chunk)
        except OSError:
            return

    def _down(self, upstream: socket.socket, client: socket.socket) -> None:
        try:
            while chunk := upstream.recv(65536):
                client.sendall(chunk)
        except OSError:
            return

    def close(self) -> None:
        with self.lock:
            for sock in self.sockets:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()


def test_s3_writer_killed_half_way_through_the_upload(
    s3_server: str, s3_uri: str
) -> None:
    size = 4 << 20
    host, port = s3_server.removeprefix("http://").split(":")
    proxy = CuttingProxy((host, int(port)), cut_after=size // 2)  # half the body
    try:
        proc = spawn(
            "one", s3_uri.replace(s3_server, f"http://127.0.0.1:{proxy.port}"), size
        )
        assert proxy.cut.wait(60), "the upload never reached the cut"
        kill(proc)
    finally:
        proxy.close()
    assert assert_complete_or_absent(s3_uri, size, set()) == 0
    MeteringWriter(s3_uri, CONFIG).write(make_doc(0, size))
    assert assert_complete_or_absent(s3_uri, size, {0}) == 1
