"""metering-fsspec: usage-metering data on any fsspec filesystem.

Writes and reads the files of the Go library ``github.com/pingcap/metering_sdk``
(same paths, gzip JSON and URIs) on local files, memory, S3 and any fsspec URL.
"""

from __future__ import annotations

import fsspec
import upath.registry

from .cache import CacheConfig
from .config import (
    AWSConfig,
    AzureConfig,
    Config,
    LocalFSConfig,
    MeteringConfig,
    OSSConfig,
)
from .errors import (
    CorruptFileError,
    InvalidPathError,
    MeteringError,
    MeteringFileExistsError,
    MeteringFileNotFoundError,
    PartialReadError,
    PartialWriteError,
    RetriesExhaustedError,
    SizeLimitError,
    StorageError,
    UnsupportedBackendError,
    ValidationError,
)
from .localfs import LocalfsPath, MeteringLocalFileSystem
from .reader import MetaReader, MeteringReader, MeteringWarning
from .redact import install as _install_log_redaction
from .retry import RetryPolicy
from .schema import (
    DEFAULT_SHARED_POOL_ID,
    MetaData,
    MetaType,
    MeteringData,
    MeteringFileInfo,
    MeteringValue,
    TimestampFiles,
)
from .storage import open_storage, to_upath
from .writer import MetaWriter, MeteringWriter

# The entry point registers "localfs" for installed copies; this covers a
# source checkout on sys.path as well.
fsspec.register_implementation("localfs", MeteringLocalFileSystem, clobber=True)
upath.registry.register_implementation("localfs", LocalfsPath, clobber=True)
_install_log_redaction()

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_SHARED_POOL_ID",
    "AWSConfig",
    "AzureConfig",
    "CacheConfig",
    "Config",
    "CorruptFileError",
    "InvalidPathError",
    "LocalFSConfig",
    "LocalfsPath",
    "MetaData",
    "MetaReader",
    "MetaType",
    "MetaWriter",
    "MeteringConfig",
    "MeteringData",
    "MeteringError",
    "MeteringFileExistsError",
    "MeteringFileInfo",
    "MeteringFileNotFoundError",
    "MeteringLocalFileSystem",
    "MeteringReader",
    "MeteringValue",
    "MeteringWarning",
    "MeteringWriter",
    "OSSConfig",
    "PartialReadError",
    "PartialWriteError",
    "RetriesExhaustedError",
    "RetryPolicy",
    "SizeLimitError",
    "StorageError",
    "TimestampFiles",
    "UnsupportedBackendError",
    "ValidationError",
    "__version__",
    "open_storage",
    "to_upath",
]
