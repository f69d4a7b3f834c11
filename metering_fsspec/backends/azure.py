"""``azure``/``azblob``: Azure Blob Storage through adlfs.

adlfs' ``pipe_file(mode="create")`` uploads with ``overwrite=False``
(``If-None-Match: *``): an existing blob raises ``FileExistsError``, and of
racing writers of one path exactly one wins.
"""

from __future__ import annotations

from typing import Any

from ..config import MeteringConfig
from ..errors import UnsupportedBackendError, ValidationError
from . import BackendSpec, join_root


def _connection_string(endpoint: str, name: str, key: str, sas: str) -> str:
    parts = [f"BlobEndpoint={endpoint.rstrip('/')}"]
    if name:
        parts.append(f"AccountName={name}")
    if key:
        parts.append(f"AccountKey={key}")
    elif sas:
        parts.append(f"SharedAccessSignature={sas.lstrip('?')}")
    return ";".join(parts) + ";"


def spec(config: MeteringConfig) -> BackendSpec:
    try:
        import adlfs  # noqa: F401
    except ImportError:
        raise UnsupportedBackendError(
            "azure storage needs adlfs: pip install 'metering-fsspec[azure]'"
        ) from None
    azure = config.azure
    name = azure.account_name if azure else ""
    key = azure.account_key if azure else ""
    sas = azure.sas_token if azure else ""
    # adlfs (2026.8) drops the container when it invalidates the listing
    # cache after pipe_file, so a cached listing would miss new blobs.
    options: dict[str, Any] = {"use_listings_cache": False}
    if config.endpoint:
        # Any scheme (Azurite, sovereign clouds, private endpoints); adlfs'
        # account_host would force https.
        if not (key or sas):
            raise ValidationError(
                "account-key", "or sas-token is required with an azure endpoint"
            )
        options["connection_string"] = _connection_string(
            config.endpoint, name, key, sas
        )
    else:
        if not name:
            raise ValidationError("account-name", "is required for azure storage")
        options["account_name"] = name
        if key:
            options["account_key"] = key
        elif sas:
            options["sas_token"] = sas
    return BackendSpec("abfs", join_root(config.bucket, config.prefix), options)
