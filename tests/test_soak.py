"""Soak: 8 writer threads x 500 writes while 2 readers scan, on local files and
S3, with and without injected faults. Afterwards every record is read back
exactly once; during the run no reader fails and every scan holds every
record whose write had returned before the scan began.
"""

from __future__ import annotations

import random
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import S3_KEY, S3_REGION, S3_SECRET, _botocore_client
from metering_fsspec import (
    Config,
    MeteringData,
    MeteringReader,
    MeteringValue,
    MeteringWriter,
    RetryPolicy,
    open_storage,
)
from tests.faulty import FaultyFileSystem

WRITERS = 8
PER_WRITER = 500
READERS = 2
MINUTES = 10
T0 = 1_700_000_040
BUDGET = 100.0  # seconds for one soak run, the writes included
# Completed writes between two scans of one reader (S3 requests cost more).
SCAN_EVERY = {"local": 20, "local-faults": 20, "s3": 100}


def record(writer: int, index: int) -> MeteringData:
    return MeteringData(
        timestamp=T0 + 60 * (index % MINUTES),
        category=f"cat{writer % 2}",
        shared_pool_id=f"pool{writer}",
        self_id=f"s{index}",
        data=[{"w": writer, "i": index, "ru": MeteringValue(index, "RU")}],
    )


def keys(docs: Any) -> Counter[tuple[int, int]]:
    return Counter((e["w"], e["i"]) for d in docs for e in d.data)


_MOTO = (
    "import sys; from moto.server import ThreadedMotoServer as Server;"
    " server = Server(ip_address='127.0.0.1', port=0, verbose=False);"
    " server.start(); print(server.get_host_and_port()[1], flush=True);"
    " sys.stdin.read()"
)


@pytest.fixture(scope="module")
def soak_s3_uri() -> Iterator[str]:
    """A bucket on a moto server in its own process, so that the server does
    not share the test's interpreter lock with 10 client threads."""
    proc = subprocess.Popen(
        [sys.executable, "-c", _MOTO],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        endpoint = f"http://127.0.0.1:{int(proc.stdout.readline())}"
        _botocore_client(endpoint).create_bucket(Bucket="soak")
        yield (
            f"s3://soak/run?region-id={S3_REGION}&endpoint={endpoint}"
            f"&access-key={S3_KEY}&secret-access-key={S3_SECRET}"
            "&s3-force-path-style=true"
        )
    finally:
        proc.kill()
        proc.wait(30)


def storage_for(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> tuple[Any, FaultyFileSystem | None]:
    if backend.startswith("local"):
        inner = open_storage(f"localfs://{tmp_path}/root")
    else:
        # One GET per file: s3fs's default (max_concurrency=10) sends a HEAD
        # first to decide whether to split the download.
        inner = open_storage(
            str(request.getfixturevalue("soak_s3_uri")), max_concurrency=1
        )
    if not backend.endswith("faults"):
        return inner, None
    faulty = FaultyFileSystem(
        inner,
        rate=0.03,
        seed=11,
        random_ops=("pipe_file", "cat_file", "find", "ls"),
        random_modes=("before", "after", "torn"),
    )
    return faulty, faulty


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["local", "local-faults", "s3"])
def test_soak(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    fs, faulty = storage_for(backend, tmp_path, request)
    scan_every = SCAN_EVERY[backend]
    # Fault runs retry more: 3 % of calls fail, and nothing may be lost.
    retry = RetryPolicy(attempts=8, initial_delay=0.001, max_delay=0.02)
    config = Config(retry=retry)
    writer = MeteringWriter(fs, config)  # one writer shared by every thread
    started = time.monotonic()
    deadline = started + BUDGET
    done: list[list[int]] = [[] for _ in range(WRITERS)]
    writer_errors: list[BaseException] = []
    reader_errors: list[BaseException] = []
    scans = Counter[str]()
    writing = threading.Event()
    writing.set()
    progress = threading.Condition()
    completed = [0]

    def write_all(w: int) -> None:
        try:
            for i in range(PER_WRITER):
                if time.monotonic() > deadline:
                    raise TimeoutError(f"writer {w} over budget at {i}")
                writer.write(record(w, i))
                done[w].append(i)  # appended only after the write returned
                with progress:
                    completed[0] += 1
                    progress.notify_all()
        except BaseException as exc:
            writer_errors.append(exc)

    def scan_all(seed: int) -> None:
        reader = MeteringReader(fs, config)
        rng = random.Random(seed)
        last = 0
        while writing.is_set() and time.monotonic() < deadline:
            # Scan again once another SCAN_EVERY writes have completed, so
            # that scans follow the writes instead of starving them.
            with progress:
                progress.wait_for(
                    lambda last=last: (
                        completed[0] >= last + scan_every or not writing.is_set()
                    ),
                    timeout=BUDGET,
                )
                last = completed[0]
            # One writer's records in one minute or two: a scan per moment
            # small enough that readers do not starve the writers.
            start = T0 + 60 * rng.randrange(MINUTES)
            end = start + 60 * rng.randint(1, 2)
            w = rng.randrange(WRITERS)
            before = {
                (w, i) for i in done[w][:] if start <= record(w, i).timestamp < end
            }
            try:
                seen = keys(
                    reader.scan(
                        start, end, category=f"cat{w % 2}", shared_pool_id=f"pool{w}"
                    )
                )
            except BaseException as exc:
                reader_errors.append(exc)
                return
            if any(n != 1 for n in seen.values()):
                reader_errors.append(AssertionError("a scan saw a record twice"))
            missing = before - set(seen)
            if missing:
                reader_errors.append(
                    AssertionError(
                        f"scan [{start}, {end}) missed {sorted(missing)[:5]}"
                    )
                )
            scans["scans"] += 1
            scans["records"] += sum(seen.values())

    threads = [threading.Thread(target=write_all, args=(w,)) for w in range(WRITERS)]
    readers = [threading.Thread(target=scan_all, args=(r,)) for r in range(READERS)]
    for thread in [*readers, *threads]:
        thread.start()
    for thread in threads:
        thread.join(BUDGET + 30)
    writing.clear()
    with progress:
        progress.notify_all()
    for thread in readers:
        thread.join(60)
    assert not writer_errors, writer_errors[:3]
    assert not reader_errors, reader_errors[:3]

    writes_done = time.monotonic() - started
    final = keys(MeteringReader(fs, config).scan(T0, T0 + 60 * MINUTES))
    expected = {(w, i) for w in range(WRITERS) for i in range(PER_WRITER)}
    lost = expected - set(final)
    duplicated = [k for k, n in final.items() if n > 1]
    assert not lost, sorted(lost)[:10]
    assert not duplicated, duplicated[:10]
    assert set(final) == expected
    files = sum(
        len(MeteringReader(fs).list(f"metering/ru/{T0 + 60 * m}/"))
        for m in range(MINUTES)
    )
    assert files >= len(expected)
    assert scans["scans"] > 0
    elapsed = time.monotonic() - started
    injected = faulty.faults_injected if faulty else 0
    attempts = faulty.calls["pipe_file"] if faulty else WRITERS * PER_WRITER
    print(
        f"\nsoak[{backend}]: writes {WRITERS * PER_WRITER} (storage write attempts"
        f" {attempts}), faults injected {injected}"
        f" {dict(faulty.injected) if faulty else ''}, records verified {len(final)},"
        f" lost {len(lost)}, duplicated {len(duplicated)}, reader scans"
        f" {scans['scans']} ({scans['records']} records), reader errors"
        f" {len(reader_errors)}, {writes_done:.1f} s + final check"
        f" {elapsed - writes_done:.1f} s"
    )
    assert elapsed < BUDGET
