"""A minute of realistic metering data: used by ``metering-fsspec demo``."""

from __future__ import annotations

import random
import time
from collections import Counter
from typing import Any

import attrs

from .config import Config
from .reader import MetaReader, MeteringReader
from .schema import MetaData, MetaType, MeteringData, MeteringValue
from .storage import Storage, open_storage
from .writer import MetaWriter, MeteringWriter

__all__ = ["DemoSummary", "make_minute", "run_demo"]

COMPONENTS = {
    "tidb-server": ["tidbserver01", "tidbserver02"],
    "tikv": ["tikvserver01", "tikvserver02", "tikvserver03"],
    "tiflash": ["tiflash01"],
}
POOLS = ["pool-us-west-2a", "pool-us-west-2b"]


def make_minute(
    timestamp: int, clusters: int = 50, seed: int = 0
) -> list[MeteringData]:
    """One document per component for ``timestamp``, ``clusters`` entries each."""
    rng = random.Random(seed + timestamp)
    documents = []
    for category, self_ids in COMPONENTS.items():
        for number, self_id in enumerate(self_ids):
            entries: list[dict[str, Any]] = [
                {
                    "logical_cluster_id": f"lc-{n:04d}",
                    "compute_seconds": MeteringValue(rng.randint(0, 60), "seconds"),
                    "memory_mb": MeteringValue(
                        rng.choice([1024, 2048, 4096, 8192]), "MB"
                    ),
                    "storage_bytes": MeteringValue(rng.randint(0, 2**40), "bytes"),
                    "region": "us-west-2",
                }
                for n in range(clusters)
            ]
            documents.append(
                MeteringData(
                    timestamp=timestamp,
                    category=category,
                    self_id=self_id,
                    shared_pool_id=POOLS[number % len(POOLS)],
                    data=entries,
                )
            )
    return documents


@attrs.frozen
class DemoSummary:
    root: str
    timestamp: int
    files: int
    documents: int
    entries: int
    per_category: dict[str, int]
    compute_seconds: int
    meta: MetaData

    def render(self) -> str:
        lines = [
            f"metering root: {self.root}",
            f"minute: {self.timestamp} ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime(self.timestamp))})",
            f"files: {self.files}, documents: {self.documents}, entries: {self.entries}",
        ]
        lines += [
            f"  {cat}: {n} entries" for cat, n in sorted(self.per_category.items())
        ]
        lines.append(f"compute seconds in the minute: {self.compute_seconds}")
        lines.append(
            f"meta in force for {self.meta.cluster_id}: type={self.meta.type}, "
            f"modify_ts={self.meta.modify_ts}, name={self.meta.metadata.get('name')!r}"
        )
        return "\n".join(lines)


def run_demo(
    storage: Storage = "localfs://./metering-data", timestamp: int | None = None
) -> DemoSummary:
    """Write a minute of data and a cluster's meta, read both back, summarise.

    Re-running overwrites the same minute (the demo uses ``overwrite_existing``).
    """
    if isinstance(storage, str) and storage.startswith("localfs://./"):
        import os

        storage = "localfs://" + os.path.abspath(storage[len("localfs://") :])
    timestamp = timestamp or (int(time.time()) // 60) * 60
    config = Config(overwrite_existing=True)
    fs = open_storage(storage)
    documents = make_minute(timestamp)
    with MeteringWriter(fs, config) as writer:
        paths = [path for doc in documents for path in writer.write(doc)]
    meta = MetaData(
        cluster_id="lc-0000",
        type=MetaType.LOGIC,
        modify_ts=timestamp - 3600,
        metadata={"name": "demo-cluster", "plan": "dedicated", "region": "us-west-2"},
    )
    with MetaWriter(fs, config) as meta_writer:
        meta_writer.write(meta)

    reader = MeteringReader(fs)
    listed = reader.list_files_by_timestamp(timestamp)
    read_back = reader.read_files([p for files in listed.files.values() for p in files])
    per_category: Counter[str] = Counter()
    compute = 0
    for doc in read_back:
        per_category[doc.category] += len(doc.data)
        compute += sum(entry["compute_seconds"]["value"] for entry in doc.data)
    with MetaReader(fs) as meta_reader:
        in_force = meta_reader.read("lc-0000", timestamp)
    root = getattr(fs, "path", str(storage))
    return DemoSummary(
        root=root,
        timestamp=timestamp,
        files=len(paths),
        documents=len(read_back),
        entries=sum(per_category.values()),
        per_category=dict(per_category),
        compute_seconds=compute,
        meta=in_force,
    )
