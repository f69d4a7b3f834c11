"""The notebooks run top to bottom and draw their charts from the data they write."""

from __future__ import annotations

import datetime as dt
import json
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import matplotlib.image
import nbclient
import nbformat
import pytest

from conftest import S3_SECRET
from metering_fsspec import MeteringReader

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
KERNEL = "metering-fsspec-test"


def execute(name: str, workdir: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Run ``notebooks/name`` in a kernel of this interpreter; return it executed.

    The kernel spec lives in ``workdir`` so that the kernel is this Python
    (with this package installed), whatever kernels the machine has.
    """
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager

    spec_dir = workdir / "kernels" / KERNEL
    spec_dir.mkdir(parents=True)
    (spec_dir / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [
                    sys.executable,
                    "-m",
                    "ipykernel_launcher",
                    "-f",
                    "{connection_file}",
                ],
                "display_name": "metering-fsspec tests",
                "language": "python",
            }
        )
    )
    monkeypatch.setenv("METERING_NOTEBOOK_OUTPUT", str(workdir / "output"))
    specs = KernelSpecManager(kernel_dirs=[str(workdir / "kernels")])
    km = KernelManager(kernel_name=KERNEL, kernel_spec_manager=specs)
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    client = nbclient.NotebookClient(
        notebook,
        km=km,
        timeout=180,
        resources={"metadata": {"path": str(workdir)}},
    )
    started = time.monotonic()
    try:
        client.execute()
    finally:
        # nbclient leaves a kernel manager it was given running.
        if km.has_kernel:
            km.shutdown_kernel(now=True)
    print(f"{name} ran in {time.monotonic() - started:.1f} s")
    return notebook


def assert_drawn(png: Path) -> None:
    """The PNG exists and is a picture, not a blank canvas."""
    assert png.is_file(), png
    pixels = matplotlib.image.imread(png)
    height, width = pixels.shape[:2]
    assert width > 300 and height > 200
    colours = {tuple(row) for row in pixels.reshape(-1, pixels.shape[-1]).tolist()}
    assert len(colours) > 20, f"{png.name} has only {len(colours)} colours"


def outputs_text(notebook: Any) -> str:
    return json.dumps(
        [cell.get("outputs", []) for cell in notebook.cells if cell.cell_type == "code"]
    )


def test_assert_drawn_refuses_a_blank_chart(tmp_path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(6, 4))
    fig.savefig(tmp_path / "blank.png")
    plt.close(fig)
    with pytest.raises(AssertionError, match="colours"):
        assert_drawn(tmp_path / "blank.png")


@pytest.mark.slow
def test_explore_notebook(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, s3_uri: str
) -> None:
    # The S3 section runs too, against the local S3 server.
    monkeypatch.setenv("METERING_S3_URI", s3_uri)
    notebook = execute("explore.ipynb", tmp_path, monkeypatch)
    out = tmp_path / "output"
    assert_drawn(out / "usage_by_category.png")
    assert_drawn(out / "usage_by_cluster.png")

    # The plotted series, recomputed from the data the notebook wrote.
    start, minutes = 1755849600, 30
    by_category: Counter[str] = Counter()
    by_cluster: Counter[str] = Counter()
    reader = MeteringReader(f"localfs://{out / 'explore-data'}")
    for doc in reader.scan(start, start + 60 * minutes):
        for entry in doc.data:
            seconds = entry["compute_seconds"]["value"]
            by_category[doc.category] += seconds
            by_cluster[entry["logical_cluster_id"]] += seconds
    sidecar = json.loads((out / "explore.json").read_text())
    assert sidecar["points"] == minutes
    assert sidecar["usage_by_category"] == dict(by_category)
    assert sidecar["usage_by_cluster"] == dict(by_cluster)
    assert len(by_cluster) == 8 and sum(by_cluster.values()) > 0

    text = outputs_text(notebook)
    assert "'plan': 'dedicated'" in text  # the meta in force after the change
    s3 = json.loads((out / "explore-s3.json").read_text())
    s3_docs = list(MeteringReader(s3_uri).scan(start, start + 60))
    assert len(s3["files"]) == len(s3_docs) == 6
    assert s3["compute_seconds"] == sum(
        e["compute_seconds"]["value"] for d in s3_docs for e in d.data
    )
    assert "secret-access-key=REDACTED" in text
    assert S3_SECRET not in text


@pytest.mark.slow
def test_billing_notebook(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    notebook = execute("billing.ipynb", tmp_path, monkeypatch)
    out = tmp_path / "output"
    assert_drawn(out / "billing_daily.png")

    # Per logical cluster and metric per day, recomputed from the stored files.
    month_start = int(dt.datetime(2025, 8, 1, tzinfo=dt.UTC).timestamp())
    month_end = int(dt.datetime(2025, 9, 1, tzinfo=dt.UTC).timestamp())
    expected: dict[str, dict[str, dict[str, int]]] = defaultdict(
        lambda: defaultdict(lambda: defaultdict(int))
    )
    reader = MeteringReader(f"localfs://{out / 'billing-data'}")
    documents = 0
    for doc in reader.scan(month_start, month_end):
        documents += 1
        day = dt.datetime.fromtimestamp(doc.timestamp, dt.UTC).strftime("%Y-%m-%d")
        for entry in doc.data:
            for metric in ("request_units", "storage_bytes"):
                if metric in entry:
                    expected[day][entry["logical_cluster_id"]][metric] += entry[metric][
                        "value"
                    ]
    assert documents == 31 * 24 * 2
    sidecar = json.loads((out / "billing.json").read_text())
    assert sidecar["days"] == 31
    assert sidecar["daily"] == json.loads(json.dumps(expected))

    invoice = (out / "billing_invoice.csv").read_text().splitlines()
    assert invoice[0].startswith("logical_cluster_id,request_units")
    assert invoice[-1].startswith("total,")
    assert len(invoice) == 1 + 5 + 1
    assert "Figure" in outputs_text(notebook)
