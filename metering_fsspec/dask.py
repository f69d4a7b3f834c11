"""Metering data as a Dask DataFrame, read in parallel by the workers.

The client lists the files (one listing per minute folder) and builds one
partition per group of files with :func:`dask.dataframe.from_map`. Each
worker opens the storage itself from a picklable description (a URI, a
:class:`MeteringConfig`, a ``UPath`` or an fsspec filesystem, with any storage
options), reads its files through the same codec and flattens them as
:func:`metering_fsspec.frames.flatten` does. Nothing assumes a local path:
on S3, OSS or Azure the workers fetch the objects themselves, so the same
call runs on a ``LocalCluster`` or a cluster of many machines. The
credentials in the description travel with the task graph; on a shared
cluster prefer credentials the workers find in their own environment (an
instance role, environment variables).

Needs the ``dask`` extra.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from . import frames
from .config import Config
from .errors import ValidationError
from .schema import MeteringFileInfo
from .storage import Storage

__all__ = ["read_metering"]


class _ReadPartition:
    """Reads one partition's files on a worker.

    Pickled into the task graph: it carries the storage description, never
    an open filesystem or reader, and its repr shows no credentials.
    """

    def __init__(
        self,
        storage: Storage,
        storage_options: Mapping[str, Any],
        config: Config | None,
        fields: Mapping[str, Any],
        dtype_backend: frames.DtypeBackend,
    ) -> None:
        self.storage = storage
        self.storage_options = dict(storage_options)
        self.config = config
        self.fields = dict(fields)
        self.dtype_backend = dtype_backend
        self._reader: Any = None

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_reader"] = None
        return state

    def __repr__(self) -> str:
        return "read-metering"

    def reader(self) -> Any:
        if self._reader is None:
            from .reader import MeteringReader
            from .storage import open_storage

            fs = open_storage(self.storage, **self.storage_options)
            self._reader = MeteringReader(fs, self.config)
        return self._reader

    def __call__(self, infos: Sequence[MeteringFileInfo]) -> Any:
        table = frames.read_infos(self.reader(), infos)
        where = infos[0].path if len(infos) == 1 else f"{infos[0].path} (and others)"
        table = frames.conform(table, frames.metering_schema(self.fields), where=where)
        return frames.to_pandas(table, dtype_backend=self.dtype_backend)


def _infer_fields(reader: Any, infos: Sequence[MeteringFileInfo]) -> dict[str, Any]:
    """The scalar fields, and their types, of the first file."""
    table = frames.read_infos(reader, infos[:1])
    skip = set(frames.FIXED_COLUMNS) | set(frames.METRIC_COLUMNS)
    return {field.name: field.type for field in table.schema if field.name not in skip}


def read_metering(
    storage: Storage,
    start: int,
    end: int,
    *,
    category: str | None = None,
    shared_pool_id: str | None = None,
    self_id: str | None = None,
    files_per_partition: int = 32,
    fields: Mapping[str, Any] | None = None,
    config: Config | None = None,
    dtype_backend: frames.DtypeBackend = "pyarrow",
    **storage_options: Any,
) -> Any:
    """Metering data of ``[start, end)`` as a ``dask.dataframe.DataFrame``.

    The rows and columns are those of :meth:`MeteringReader.to_pandas` for
    the same range (each partition has its own index from 0).

    Parameters
    ----------
    storage:
        A URI, :class:`MeteringConfig`, ``UPath`` or fsspec filesystem; it is
        pickled and opened again on every worker. A ``memory://`` filesystem
        lives in one process, so workers in other processes do not see it.
    files_per_partition:
        Files read by one task.
    fields:
        The scalar columns and their types (field -> Arrow type or a name
        such as ``"string"``), fixed up front as Dask needs. Default: those of
        the first file; a later file with another field then fails with an
        error naming it, and ``fields=`` settles it (unlisted fields are left
        out, missing ones are null).
    config:
        Reader settings (codec, size limit...), also sent to the workers.
    dtype_backend:
        As for :func:`metering_fsspec.frames.to_pandas`.
    storage_options:
        Passed to :func:`open_storage`, on the client and on every worker.
    """
    frames.require("pyarrow", "dask")
    frames.require("pandas", "dask")
    dd = frames.require("dask.dataframe", "dask")
    if files_per_partition < 1:
        raise ValidationError(
            "files_per_partition", f"must be at least 1, got {files_per_partition}"
        )
    from .reader import MeteringReader
    from .storage import open_storage

    reader = MeteringReader(open_storage(storage, **storage_options), config)
    infos = list(
        reader.scan_files(
            start,
            end,
            category=category,
            shared_pool_id=shared_pool_id,
            self_id=self_id,
        )
    )
    if fields is None:
        fields = _infer_fields(reader, infos) if infos else {}
    schema = frames.metering_schema(fields)
    meta = frames.to_pandas(schema.empty_table(), dtype_backend=dtype_backend)
    if not infos:
        return dd.from_pandas(meta, npartitions=1)
    groups = [
        tuple(infos[i : i + files_per_partition])
        for i in range(0, len(infos), files_per_partition)
    ]
    read = _ReadPartition(storage, storage_options, config, fields, dtype_backend)
    return dd.from_map(
        read,
        groups,
        meta=meta,
        label="read-metering",
        enforce_metadata=False,
    )
