"""Throughput benchmarks against the physical floor, side by side in one run.

Run ``python -m benchmarks`` (or ``python benchmarks/bench.py``); ``--help``
lists the options. See ``benchmarks/README.md`` for what each line means.

Workload W1 (the Go library's benchmark): 200 writes x 1000 logical clusters,
timestamps ``60 * k``, local files, overwrite on; then every file read back.
The floor is measured in the same process on the same payloads: JSON encoding
of the page objects plus gzip at the same level with the same engine (write),
gunzip plus JSON decoding to dicts (read). Each figure is the best of
``--repeat`` rounds, the floor and the library alternating in every round so
that both see the same machine load.
"""

from __future__ import annotations

import argparse
import gc
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import msgspec

from metering_fsspec import (
    Config,
    MeteringData,
    MeteringReader,
    MeteringValue,
    MeteringWriter,
    codec,
)
from metering_fsspec.codec import gc_paused
from metering_fsspec.deflate import available, get_deflate
from metering_fsspec.schema import MeteringPageWire

# The Go library on this machine kind (shared fixtures, go-benchmark.txt):
# MB/s of JSON, median of 3.
GO_MBS = {
    ("write", 0): 57.2,
    ("read", 0): 66.8,
    ("write", 65536): 28.6,
    ("read", 65536): 46.9,
}
FILES = 200
CLUSTERS = 1000
PAGE = 64 * 1024
CATEGORY, SELF_ID, POOL = "tidb", "tidbserver", "default-shared-pool"
S3_FILES = 500
S3_MINUTES = 5
S3_KEY, S3_SECRET = "bench-access-key", "bench-secret-key"

_encoder = msgspec.json.Encoder(order="deterministic")  # as the codec encodes
_decoder = msgspec.json.Decoder()  # to plain dicts
_page_decoder = msgspec.json.Decoder(MeteringPageWire)


# -- workload -------------------------------------------------------------------


def w1_entries(count: int = CLUSTERS) -> list[dict[str, Any]]:
    """The W1 entries, exactly as the Go benchmark builds them."""
    return [
        {
            "logical_cluster_id": f"lc-{i}",
            "compute_seconds": MeteringValue(3600, "seconds"),
            "memory_mb": MeteringValue(4096, "MB"),
            "storage_bytes": MeteringValue(i * 1000, "bytes"),
            "region": "us-west-2",
        }
        for i in range(count)
    ]


def w1_documents(files: int = FILES) -> list[MeteringData]:
    return [
        MeteringData(
            timestamp=60 * k,
            category=CATEGORY,
            self_id=SELF_ID,
            shared_pool_id=POOL,
            data=w1_entries(),
        )
        for k in range(1, files + 1)
    ]


# -- timing ---------------------------------------------------------------------


@dataclass
class Best:
    """Best (lowest) wall-clock and CPU seconds over the rounds."""

    wall: float = math.inf
    cpu: float = math.inf
    walls: list[float] = field(default_factory=list)

    def add(self, wall: float, cpu: float) -> None:
        self.wall = min(self.wall, wall)
        self.cpu = min(self.cpu, cpu)
        self.walls.append(wall)


def timed(fn: Callable[[], object]) -> tuple[float, float]:
    """Wall and process-CPU seconds of ``fn()``; its result lives until the
    clock stops (as a reader's results do), then is dropped untimed.
    """
    gc.collect()
    cpu0, wall0 = time.process_time(), time.perf_counter()
    result = fn()
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    del result
    gc.collect()
    return wall, cpu


def rounds(ops: dict[str, Callable[[], object]], repeat: int) -> dict[str, Best]:
    best = {name: Best() for name in ops}
    for _ in range(repeat):
        for name, op in ops.items():
            best[name].add(*timed(op))
    return best


# -- W1 -------------------------------------------------------------------------


@dataclass
class W1Result:
    engine: str
    page: int
    json_bytes: int
    entries: int
    files: int
    compressed: int
    best: dict[str, Best]


def _page_objects(
    docs: list[MeteringData], pages: list[list[bytes]]
) -> list[MeteringPageWire]:
    """The page objects behind the library's pages (same entries, same split)."""
    objects = []
    for doc, doc_pages in zip(docs, pages, strict=True):
        start = 0
        for raw in doc_pages:
            page = _page_decoder.decode(raw)
            count = len(page.data or [])
            objects.append(
                MeteringPageWire(
                    timestamp=doc.timestamp,
                    category=doc.category,
                    self_id=doc.self_id,
                    shared_pool_id=doc.shared_pool_id,
                    part=page.part,
                    data=doc.data[start : start + count],
                )
            )
            start += count
    return objects


def bench_w1(
    engine: str,
    page: int,
    docs: list[MeteringData],
    tmpfs: str,
    disk: str,
    repeat: int,
    level: int,
) -> W1Result:
    deflate = get_deflate(engine)
    module, zlevel = deflate.module, deflate.map_level(level)
    config = Config(
        overwrite_existing=True,
        page_size_bytes=page,
        codec=engine,
        compression_level=level,
    )
    roots = {
        "tmpfs": tempfile.mkdtemp(prefix="metering-bench-", dir=tmpfs),
        "disk": tempfile.mkdtemp(prefix="metering-bench-", dir=disk),
    }
    try:
        writers = {
            k: MeteringWriter(f"localfs://{v}", config) for k, v in roots.items()
        }
        readers = {
            k: MeteringReader(f"localfs://{v}", config) for k, v in roots.items()
        }
        paths = [p for doc in docs for p in writers["tmpfs"].write(doc)]
        for doc in docs:
            writers["disk"].write(doc)
        blobs = [readers["tmpfs"].fs.cat_file(p) for p in paths]
        pages = [list(codec.encode_metering_pages(doc, page)) for doc in docs]
        objects = _page_objects(docs, pages)
        json_bytes = sum(len(raw) for doc_pages in pages for raw in doc_pages)
        del pages

        def write_floor() -> object:
            return [
                module.compress(_encoder.encode(o), zlevel, wbits=31) for o in objects
            ]

        def read_floor() -> object:
            # Without the cyclic collector, as the library decodes.
            with gc_paused():
                return [_decoder.decode(module.decompress(b, wbits=31)) for b in blobs]

        def write(where: str) -> Callable[[], object]:
            writer = writers[where]
            return lambda: [writer.write(doc) for doc in docs]

        def read_files(where: str) -> Callable[[], object]:
            return lambda: readers[where].read_files(paths)

        def read_seq() -> object:
            reader = readers["tmpfs"]
            return [reader.read_file(p) for p in paths]

        ops: dict[str, Callable[[], object]] = {
            "write floor": write_floor,
            "write": write("tmpfs"),
            "read floor": read_floor,
            "read_files": read_files("tmpfs"),
            "read_file": read_seq,
            "write disk": write("disk"),
            "read_files disk": read_files("disk"),
        }
        best = rounds(ops, repeat)
        return W1Result(
            engine=engine,
            page=page,
            json_bytes=json_bytes,
            entries=sum(len(d.data) for d in docs),
            files=len(paths),
            compressed=sum(len(b) for b in blobs),
            best=best,
        )
    finally:
        for root in roots.values():
            shutil.rmtree(root, ignore_errors=True)


# -- memory ---------------------------------------------------------------------


def big_document(target: int) -> MeteringData:
    """A document of about ``target`` bytes of JSON, made of W1 entries."""
    sample = w1_entries(1000)[-1]
    sample["logical_cluster_id"] = f"lc-{target // 200}"  # digits as in the middle
    sample["storage_bytes"] = MeteringValue(target * 5, "bytes")
    per_entry = len(_encoder.encode(sample)) + 1  # and a comma
    seconds, memory = MeteringValue(3600, "seconds"), MeteringValue(4096, "MB")
    entries = [
        {
            "logical_cluster_id": f"lc-{i}",
            "compute_seconds": seconds,
            "memory_mb": memory,
            "storage_bytes": MeteringValue(i * 1000, "bytes"),
            "region": "us-west-2",
        }
        for i in range(target // per_entry)
    ]
    return MeteringData(
        timestamp=60,
        category=CATEGORY,
        self_id=SELF_ID,
        shared_pool_id=POOL,
        data=entries,
    )


def peak_write_memory(
    engine: str, doc: MeteringData, tmpfs: str, level: int, page: int = 0
) -> tuple[int, int, float]:
    """(JSON bytes, peak extra bytes traced by tracemalloc, seconds) of one write."""
    root = tempfile.mkdtemp(prefix="metering-bench-mem-", dir=tmpfs)
    try:
        config = Config(codec=engine, compression_level=level, page_size_bytes=page)
        writer = MeteringWriter(f"localfs://{root}", config)
        json_bytes = len(_encoder.encode(doc.data))
        gc.collect()
        tracemalloc.start()
        try:
            base = tracemalloc.get_traced_memory()[0]
            tracemalloc.reset_peak()
            start = time.perf_counter()
            writer.write(doc)
            seconds = time.perf_counter() - start
            peak = tracemalloc.get_traced_memory()[1] - base
        finally:
            tracemalloc.stop()
        return json_bytes, peak, seconds
    finally:
        shutil.rmtree(root, ignore_errors=True)


# -- S3 -------------------------------------------------------------------------

_MOTO_CHILD = """
import logging, sys, threading, time
from moto.moto_server import threaded_moto_server as tms

logging.getLogger("werkzeug").setLevel(logging.ERROR)
latency = float(sys.argv[1])
lock = threading.Lock()
state = {"now": 0, "peak": 0}


class App(tms.DomainDispatcherApplication):
    # Simulated network round trip, and the peak of requests in flight.
    def __call__(self, environ, start_response):
        with lock:
            state["now"] += 1
            state["peak"] = max(state["peak"], state["now"])
        try:
            if latency:
                time.sleep(latency)
            return super().__call__(environ, start_response)
        finally:
            with lock:
                state["now"] -= 1


tms.DomainDispatcherApplication = App
server = tms.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
server.start()
print(server.get_host_and_port()[1], flush=True)
for line in sys.stdin:  # "peak": report and reset the peak of requests in flight
    print(state["peak"], flush=True)
    state["peak"] = 0
server.stop()
"""


class MotoServer:
    """A moto S3 server in a child process on 127.0.0.1 (ephemeral port).

    In a child process, as a real server would be: in this process it would
    share the client's interpreter lock. ``latency`` seconds are added to
    every request, as a network round trip would.
    """

    def __init__(self, latency: float = 0.0) -> None:
        self.child = subprocess.Popen(
            [sys.executable, "-c", _MOTO_CHILD, str(latency)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.child.stdout is not None
        self.endpoint = f"http://127.0.0.1:{int(self.child.stdout.readline())}"

    def peak_in_flight(self) -> int:
        """Most requests served at once since the last call."""
        assert self.child.stdin is not None and self.child.stdout is not None
        self.child.stdin.write("peak\n")
        self.child.stdin.flush()
        return int(self.child.stdout.readline())

    def cpu_seconds(self) -> float:
        """CPU time the server has used so far (Linux; NaN elsewhere)."""
        try:
            with open(f"/proc/{self.child.pid}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, ValueError, IndexError):
            return math.nan

    def close(self) -> None:
        if self.child.stdin is not None:
            self.child.stdin.close()
        try:
            self.child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.child.kill()
            self.child.wait()


@dataclass
class S3Result:
    latency: float
    files: int
    best: dict[str, Best]
    server_cpu: dict[str, float]
    peak: dict[str, int]
    batch_calls: int
    async_fs: bool


def bench_s3(repeat: int, latency: float) -> S3Result:
    """500 small files on moto: one by one, ``read_files`` and ``scan``."""
    import botocore.session

    os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")
    server = MotoServer(latency)
    try:
        bucket = "metering-bench"
        botocore.session.get_session().create_client(
            "s3",
            region_name="us-east-1",
            endpoint_url=server.endpoint,
            aws_access_key_id=S3_KEY,
            aws_secret_access_key=S3_SECRET,
        ).create_bucket(Bucket=bucket)
        uri = (
            f"s3://{bucket}/bench?region-id=us-east-1&endpoint={server.endpoint}"
            f"&access-key={S3_KEY}&secret-access-key={S3_SECRET}"
            "&s3-force-path-style=true"
        )
        config = Config(codec="zlib")
        writer = MeteringWriter(uri, config)
        per_minute = S3_FILES // S3_MINUTES
        blobs: dict[str, bytes] = {}
        for minute in range(1, S3_MINUTES + 1):
            for n in range(per_minute):
                doc = MeteringData(
                    timestamp=60 * minute,
                    category=CATEGORY,
                    self_id=f"node{n}",
                    shared_pool_id=POOL,
                    data=w1_entries(10),
                )
                _, doc_paths, doc_blobs = writer.prepare(doc)
                blobs.update(zip(doc_paths, doc_blobs, strict=True))
        writer.fs.pipe(blobs)  # one concurrent batch: setup, not measured
        paths = sorted(blobs)
        reader = MeteringReader(uri, config)

        calls = 0
        batch_cat = reader.fs.cat

        def counting_cat(*args: Any, **kwargs: Any) -> Any:
            nonlocal calls
            calls += 1
            return batch_cat(*args, **kwargs)

        reader.fs.cat = counting_cat
        ops: dict[str, Callable[[], object]] = {
            "one by one": lambda: [reader.read_file(p) for p in paths],
            "read_files": lambda: reader.read_files(paths),
            "scan": lambda: list(reader.scan(60, 60 * (S3_MINUTES + 1))),
        }
        best = {name: Best() for name in ops}
        server_cpu = dict.fromkeys(ops, math.inf)
        peak = dict.fromkeys(ops, 0)
        server.peak_in_flight()  # reset
        for _ in range(repeat):
            for name, op in ops.items():
                before = server.cpu_seconds()
                best[name].add(*timed(op))
                server_cpu[name] = min(server_cpu[name], server.cpu_seconds() - before)
                peak[name] = max(peak[name], server.peak_in_flight())
        calls = 0
        count = len(reader.read_files(paths))
        return S3Result(
            latency=latency,
            files=count,
            best=best,
            server_cpu=server_cpu,
            peak=peak,
            batch_calls=calls,
            async_fs=bool(getattr(reader, "_async", False)),
        )
    finally:
        server.close()


# -- report ---------------------------------------------------------------------


def _mbs(nbytes: int, seconds: float) -> float:
    return nbytes / seconds / 1e6


def report_w1(results: list[W1Result]) -> list[str]:
    lines = []
    head = (
        f"{'W1 case':<30}{'engine':<9}{'MB/s':>8}{'entries/s':>12}"
        f"{'x floor':>9}{'(cpu)':>7}{'x Go':>7}"
    )
    for page in sorted({r.page for r in results}):
        subset = [r for r in results if r.page == page]
        first = subset[0]
        title = "no pagination" if page == 0 else f"{page // 1024} KiB pages"
        lines += [
            "",
            f"W1, {title}: {first.files} files, {first.json_bytes / 1e6:.1f} MB JSON, "
            f"{first.entries} entries",
            head,
            "-" * len(head),
        ]
        for kind, cases in (
            ("write", ("write floor", "write", "write disk")),
            ("read", ("read floor", "read_files", "read_file", "read_files disk")),
        ):
            for case in cases:
                for r in subset:
                    floor = r.best[f"{kind} floor"]
                    b = r.best[case]
                    mbs = _mbs(r.json_bytes, b.wall)
                    go = GO_MBS[(kind, page)]
                    label = {
                        "write floor": "write floor (encode+gzip)",
                        "write": "write, tmpfs",
                        "write disk": "write, disk",
                        "read floor": "read floor (gunzip+decode)",
                        "read_files": "read_files, tmpfs",
                        "read_file": "read_file one by one, tmpfs",
                        "read_files disk": "read_files, disk",
                    }[case]
                    lines.append(
                        f"{label:<30}{r.engine:<9}{mbs:>8.0f}"
                        f"{r.entries / b.wall:>12,.0f}"
                        f"{floor.wall / b.wall:>9.2f}{floor.cpu / b.cpu:>7.2f}"
                        f"{mbs / go:>7.1f}"
                    )
        lines.append(
            f"(Go: write {GO_MBS[('write', page)]} MB/s, read {GO_MBS[('read', page)]}"
            " MB/s; x floor = floor time / library time, wall clock and CPU)"
        )
    return lines


def report_paging(results: list[W1Result]) -> list[str]:
    lines = ["", "Paginated / unpaginated cost (library time, tmpfs; target <= 1.25)"]
    by_key = {(r.engine, r.page): r for r in results}
    for engine in dict.fromkeys(r.engine for r in results):
        plain, paged = by_key.get((engine, 0)), by_key.get((engine, PAGE))
        if plain is None or paged is None:
            continue
        parts = []
        for case in ("write floor", "write", "read_files", "read_file"):
            wall = paged.best[case].wall / plain.best[case].wall
            cpu = paged.best[case].cpu / plain.best[case].cpu
            parts.append(f"{case} {wall:.2f} (cpu {cpu:.2f})")
        lines.append(f"  {engine:<8} " + ", ".join(parts))
    lines.append("  (Go: write 2.01, read 1.43)")
    return lines


def report_memory(rows: list[tuple[str, int, int, int, float]]) -> list[str]:
    lines = ["", "One big write: peak extra memory (tracemalloc; target <= 2 x JSON)"]
    for engine, page, json_bytes, peak, seconds in rows:
        where = "no pagination" if page == 0 else f"{page // 1024} KiB pages"
        lines.append(
            f"  {engine:<8} {where:<14} JSON {json_bytes / 1e6:6.1f} MB  "
            f"peak +{peak / 1e6:6.1f} MB = {peak / json_bytes:4.2f} x JSON  "
            f"({seconds:.2f} s under tracemalloc)"
        )
    return lines


def report_s3(results: list[S3Result]) -> list[str]:
    lines = [
        "",
        f"S3: {S3_FILES} small files in {S3_MINUTES} minutes on moto (child process, "
        "127.0.0.1); target >= 5 x one by one",
    ]
    for result in results:
        seq = result.best["one by one"].wall
        rtt = f"+{result.latency * 1000:.0f} ms per request" if result.latency else ""
        lines.append(
            f"  moto {rtt or 'as is'}: async filesystem {result.async_fs}, "
            f"read_files = {result.batch_calls} batch cat call(s)"
        )
        for case in ("one by one", "read_files", "scan"):
            b = result.best[case]
            lines.append(
                f"    {case:<11}{b.wall:6.2f} s {result.files / b.wall:5.0f} files/s "
                f"{seq / b.wall:5.1f} x   CPU: client {b.cpu:5.2f} s, server "
                f"{result.server_cpu[case]:5.2f} s   in flight <= {result.peak[case]}"
            )
    return lines


def _verdict(wall: float, cpu: float, ok: Callable[[float], bool]) -> str:
    if ok(wall):
        return "ok"
    return "ok by CPU time" if ok(cpu) else "MISSED"


def report_targets(
    results: list[W1Result],
    memory: list[tuple[str, int, int, int, float]],
    s3: list[S3Result],
) -> list[str]:
    lines = [
        "",
        "Targets (wall clock; CPU time beside it, as other jobs share the CPUs)",
    ]

    def add(name: str, wall: float, cpu: float, ok: Callable[[float], bool]) -> None:
        beside = "" if math.isnan(cpu) else f"(cpu {cpu:5.2f})"
        lines.append(f"  {name:<48}{wall:7.2f} {beside:<12} {_verdict(wall, cpu, ok)}")

    by_key = {(r.engine, r.page): r for r in results}
    for r in results:
        if r.page:
            continue
        for kind, case in (("write", "write"), ("read", "read_files")):
            floor, b = r.best[f"{kind} floor"], r.best[case]
            add(
                f"{r.engine}: W1 {case} >= 0.85 x floor",
                floor.wall / b.wall,
                floor.cpu / b.cpu,
                lambda x: x >= 0.85,
            )
        paged = by_key.get((r.engine, PAGE))
        if paged is not None:
            add(
                f"{r.engine}: paged write <= 1.25 x unpaged",
                paged.best["write"].wall / r.best["write"].wall,
                paged.best["write"].cpu / r.best["write"].cpu,
                lambda x: x <= 1.25,
            )
        if r.engine != "zlib":
            go = GO_MBS[("write", 0)]
            add(
                f"{r.engine}: W1 write >= 10 x Go ({10 * go:.0f} MB/s), x Go",
                _mbs(r.json_bytes, r.best["write"].wall) / go,
                _mbs(r.json_bytes, r.best["write"].cpu) / go,
                lambda x: x >= 10,
            )
    for engine, page, json_bytes, peak, _ in memory:
        if page == 0:
            ratio = peak / json_bytes
            add(
                f"{engine}: {json_bytes / 1e6:.0f} MB write peak <= 2 x JSON, x JSON",
                ratio,
                ratio,
                lambda x: x <= 2,
            )
    for result in s3:
        seq = result.best["one by one"]
        rtt = f"+{result.latency * 1000:.0f} ms" if result.latency else "as is"
        for case in ("read_files", "scan"):
            b = result.best[case]
            add(
                f"S3 (moto {rtt}): {case} >= 5 x one by one",
                seq.wall / b.wall,
                math.nan,  # concurrency saves waiting, not CPU
                lambda x: x >= 5,
            )
    return lines


# -- main -----------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    fast = [e for e in available() if e != "zlib"][:1]
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument(
        "--engines",
        default=",".join(["zlib", *fast]),
        help="deflate engines, comma-separated (default: zlib and the fastest one)",
    )
    parser.add_argument(
        "--tmpfs",
        default=os.environ.get("METERING_BENCH_TMPFS", "/dev/shm"),
        help="a tmpfs folder for the local runs (env METERING_BENCH_TMPFS; /dev/shm)",
    )
    parser.add_argument(
        "--disk",
        default=os.environ.get("METERING_BENCH_DISK", tempfile.gettempdir()),
        help="a folder on the normal disk (env METERING_BENCH_DISK; the temp dir)",
    )
    parser.add_argument("--repeat", type=int, default=3, help="rounds per figure")
    parser.add_argument("--level", type=int, default=6, help="gzip level (default 6)")
    parser.add_argument(
        "--memory-mb", type=int, default=50, help="JSON size of the big write (MB)"
    )
    parser.add_argument("--no-s3", action="store_true", help="skip the S3 workload")
    parser.add_argument(
        "--s3-latency",
        type=float,
        default=20.0,
        help="simulated round trip (ms) added by moto in the second S3 run (0: skip)",
    )
    parser.add_argument("--no-paging", action="store_true", help="skip 64 KiB pages")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    for engine in engines:
        get_deflate(engine)  # fail early, with the install hint, if missing
    started = time.perf_counter()

    def progress(message: str) -> None:
        print(f"[{time.perf_counter() - started:6.1f} s] {message}", file=sys.stderr)

    docs = w1_documents()
    results: list[W1Result] = []
    for page in (0,) if args.no_paging else (0, PAGE):
        for engine in engines:
            progress(f"W1 {engine}, page_size_bytes={page}")
            results.append(
                bench_w1(
                    engine, page, docs, args.tmpfs, args.disk, args.repeat, args.level
                )
            )
    del docs

    progress(f"one {args.memory_mb} MB write")
    big = big_document(args.memory_mb * 1_000_000)
    memory = [
        (engine, page, *peak_write_memory(engine, big, args.tmpfs, args.level, page))
        for engine in engines
        for page in (0, PAGE)
    ]
    del big

    s3: list[S3Result] = []
    if not args.no_s3:
        for latency in dict.fromkeys([0.0, args.s3_latency / 1000]):
            progress(f"S3: {S3_FILES} files, +{latency * 1000:.0f} ms per request")
            # One round with latency: its waits vary little, and take long.
            s3.append(bench_s3(1 if latency else max(1, args.repeat - 1), latency))

    lines = [
        f"metering-fsspec benchmarks: python {sys.version.split()[0]}, "
        f"{os.cpu_count()} CPUs, level {args.level}, best of {args.repeat} rounds, "
        f"tmpfs={args.tmpfs} disk={args.disk}",
        *report_w1(results),
        *report_paging(results),
        *report_memory(memory),
        *(report_s3(s3) if s3 else []),
        *report_targets(results, memory, s3),
        "",
        f"total {time.perf_counter() - started:.1f} s",
    ]
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
