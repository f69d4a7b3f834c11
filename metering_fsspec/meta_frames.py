"""Meta files as a table: one row per (cluster_id, type, category, modify_ts).

pyarrow is an optional extra imported on first use.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

import msgspec

from . import layout
from .extras import _pa
from .schema import MetaType
from .storage import Storage

if TYPE_CHECKING:
    import pyarrow as pa

    from .reader import MetaReader

__all__ = ["meta_table"]

_meta_json = msgspec.json.Encoder(order="deterministic")


def meta_table(
    source: MetaReader | Storage,
    *,
    cluster_id: str | None = None,
    meta_type: MetaType | str | None = None,
    category: str | None = None,
) -> pa.Table:
    """Every meta file under ``metering/meta`` as a table.

    One row per (cluster_id, type, category, modify_ts), all four from the
    path as the readers do (a legacy file's type from its content, else
    null); a typed file wins over a legacy one with the same key. Columns:
    ``cluster_id``, ``type``, ``category`` (``""`` when none), ``modify_ts``,
    ``metadata`` (a JSON string) and ``path``. Sorted by the key.
    """
    from .reader import MetaReader, MeteringWarning

    pa = _pa()
    reader = source if isinstance(source, MetaReader) else MetaReader(source)
    wanted_type = None if meta_type is None else layout.check_meta_type(meta_type)
    infos = []
    for path in reader.list(layout.META_ROOT + "/"):
        if path.rsplit("/", 1)[-1].startswith("."):
            continue  # a write in progress or a hidden file
        try:
            info = layout.parse_meta_path(path)
        except ValueError as exc:
            warnings.warn(f"skipping {path}: {exc}", MeteringWarning, stacklevel=2)
            continue
        if (
            (cluster_id is None or info.cluster_id == cluster_id)
            and (category is None or info.category == category)
            and (wanted_type is None or info.type in (wanted_type, None))
        ):
            infos.append(info)
    documents = reader.read_files([info.path for info in infos]) if infos else []
    rows: dict[tuple[str, str, str, int], tuple[bool, str, str]] = {}
    for info, doc in zip(infos, documents, strict=True):
        kind = info.type if info.type is not None else doc.type
        if wanted_type is not None and kind != wanted_type:
            continue
        key = (
            info.cluster_id,
            kind.value if kind else "",
            info.category,
            info.modify_ts,
        )
        typed = info.type is not None
        if key in rows and rows[key][0] and not typed:
            continue
        rows[key] = (typed, _meta_json.encode(doc.metadata).decode(), info.path)
    keys = sorted(rows)
    return pa.table(
        {
            "cluster_id": pa.array([k[0] for k in keys], pa.string()),
            "type": pa.array([k[1] or None for k in keys], pa.string()),
            "category": pa.array([k[2] for k in keys], pa.string()),
            "modify_ts": pa.array([k[3] for k in keys], pa.int64()),
            "metadata": pa.array([rows[k][1] for k in keys], pa.string()),
            "path": pa.array([rows[k][2] for k in keys], pa.string()),
        }
    )
