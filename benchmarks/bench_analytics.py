"""Analytics benchmarks: metering files to tables, on one core and on Dask.

Run from the repository root::

    python benchmarks/bench_analytics.py            # about a minute on 2 cores
    python benchmarks/bench_analytics.py --quick    # smaller, for a smoke test

1. W1 (200 files x 1000 logical clusters, 3 metering values each) on a tmpfs:
   ``MeteringReader.to_arrow`` against ``read_files`` alone (the documents,
   no table). Target: the table costs at most 1.5 x the read.
2. 1,000 files: ``dask.read_metering`` on a ``LocalCluster`` of 2 worker
   processes against ``MeteringReader.to_pandas`` pinned to one core, for the
   whole frame and for a billing-style aggregation. The ratio is reported;
   on a 2-core machine there is no target.
"""

from __future__ import annotations

import argparse
import gc
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from metering_fsspec import (
    Config,
    MeteringData,
    MeteringReader,
    MeteringValue,
    MeteringWriter,
    frames,
)


def w1_entries(clusters: int) -> list[dict[str, Any]]:
    return [
        {
            "logical_cluster_id": f"lc-{i}",
            "compute_seconds": MeteringValue(3600, "seconds"),
            "memory_mb": MeteringValue(4096, "MB"),
            "storage_bytes": MeteringValue(i * 1000, "bytes"),
            "region": "us-west-2",
        }
        for i in range(clusters)
    ]


def write_files(storage: str, files: int, clusters: int) -> None:
    entries = w1_entries(clusters)
    with MeteringWriter(storage, Config(overwrite_existing=True)) as writer:
        for k in range(1, files + 1):
            writer.write(
                MeteringData(
                    timestamp=60 * k, category="tidb", self_id="tidb1", data=entries
                )
            )


def best(run: Callable[[], Any], repeat: int) -> tuple[float, float]:
    """Best and median wall time of ``repeat`` runs (GC as in normal use)."""
    times = []
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times), statistics.median(times)


@contextmanager
def one_core() -> Iterator[str]:
    """Pin this process (and its threads) to one CPU where the OS allows it."""
    if not hasattr(os, "sched_setaffinity"):
        yield "not pinned (no sched_setaffinity)"
        return
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {min(before)})
    try:
        yield f"pinned to CPU {min(before)}"
    finally:
        os.sched_setaffinity(0, before)


def scratch() -> str:
    base = "/dev/shm" if os.path.isdir("/dev/shm") else None
    return tempfile.mkdtemp(prefix="metering-bench-", dir=base)


def bench_w1(files: int, clusters: int, repeat: int) -> None:
    root = scratch()
    try:
        storage = f"localfs://{root}"
        write_files(storage, files, clusters)
        reader = MeteringReader(storage)
        end = 60 * (files + 1)
        paths = [info.path for info in reader.scan_files(0, end)]
        raw = sum(len(reader._inflate(reader._fetch(p), p)) for p in paths)
        read_best, read_med = best(lambda: reader.read_files(paths), repeat)
        table = reader.to_arrow(0, end)
        arrow_best, arrow_med = best(lambda: reader.to_arrow(0, end), repeat)
        docs = reader.read_files(paths)
        infos = list(reader.scan_files(0, end))
        flat_best, _ = best(lambda: frames.flatten(docs, infos), repeat)
        pandas_best, _ = best(lambda: frames.to_pandas(table), repeat)
        rows = table.num_rows
        print(
            f"W1: {files} files x {clusters} clusters, {raw / 1e6:.1f} MB of JSON, "
            f"{rows:,} rows, on {os.path.dirname(root)} (best / median of {repeat})"
        )
        print(
            f"  read_files (documents)   {read_best * 1e3:8.1f} / {read_med * 1e3:8.1f} ms"
            f"  {raw / read_best / 1e6:7.1f} MB/s"
        )
        print(
            f"  to_arrow (read + table)  {arrow_best * 1e3:8.1f} / {arrow_med * 1e3:8.1f} ms"
            f"  {raw / arrow_best / 1e6:7.1f} MB/s  {rows / arrow_best / 1e6:.2f} M rows/s"
        )
        print(
            f"  to_arrow / read_files    {arrow_best / read_best:8.2f} x (best)"
            f"   {arrow_med / read_med:.2f} x (median)   target <= 1.50 x"
        )
        print(f"  flatten alone (of read_files' documents)  {flat_best * 1e3:8.1f} ms")
        print(f"  Arrow -> pandas          {pandas_best * 1e3:8.1f} ms")
    finally:
        shutil.rmtree(root, ignore_errors=True)


def bench_dask(files: int, clusters: int) -> None:
    import distributed

    from metering_fsspec.dask import read_metering

    root = scratch()
    try:
        storage = f"localfs://{root}"
        write_files(storage, files, clusters)
        end = 60 * (files + 1)
        reader = MeteringReader(storage)

        def billing(frame: Any, **options: Any) -> Any:
            return frame.groupby(["category", "metric"])["value"].sum(**options)

        with one_core() as pinned:
            start = time.perf_counter()
            local = reader.to_pandas(0, end)
            pandas_frame = time.perf_counter() - start
            local_sum = billing(local)
            pandas_sum = time.perf_counter() - start

        start = time.perf_counter()
        cluster = distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        )
        client = distributed.Client(cluster)
        startup = time.perf_counter() - start
        try:
            frame = read_metering(storage, 0, end)
            client.compute(billing(frame, split_out=1)).result()  # warm up
            start = time.perf_counter()
            remote = client.compute(frame).result()
            dask_frame = time.perf_counter() - start
            start = time.perf_counter()
            remote_sum = client.compute(
                billing(read_metering(storage, 0, end), split_out=1)
            ).result()
            dask_sum = time.perf_counter() - start
        finally:
            client.close()
            cluster.close()
        assert len(remote) == len(local)
        assert remote_sum.to_dict() == local_sum.to_dict()
        print(
            f"Dask: {files} files x {clusters} clusters, {len(local):,} rows, "
            f"{frame.npartitions} partitions; pandas {pinned}"
        )
        print(
            f"  whole frame:  pandas 1 core {pandas_frame:6.2f} s   dask 2 workers "
            f"{dask_frame:6.2f} s   ratio (pandas / dask) {pandas_frame / dask_frame:.2f}"
        )
        print(
            f"  sum by category, metric:  pandas 1 core {pandas_sum:6.2f} s   dask 2 workers "
            f"{dask_sum:6.2f} s   ratio {pandas_sum / dask_sum:.2f}"
        )
        print(f"  cluster start-up (not counted): {startup:.2f} s")
    finally:
        shutil.rmtree(root, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller workloads")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
    if args.quick:
        bench_w1(files=20, clusters=1000, repeat=2)
        bench_dask(files=100, clusters=100)
    else:
        bench_w1(files=200, clusters=1000, repeat=5)
        bench_dask(files=1000, clusters=250)
    print(f"total {time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
