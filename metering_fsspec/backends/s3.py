"""``s3``: Amazon S3 and S3-compatible services through s3fs."""

from __future__ import annotations

from typing import Any

from ..config import MeteringConfig
from ..errors import UnsupportedBackendError
from . import BackendSpec, join_root


def spec(config: MeteringConfig) -> BackendSpec:
    aws = config.aws
    options: dict[str, Any] = {}
    if config.region:
        options["client_kwargs"] = {"region_name": config.region}
    if config.endpoint:
        options["endpoint_url"] = config.endpoint
    if aws is not None:
        if aws.assume_role_arn:
            raise UnsupportedBackendError(
                "s3 with assume-role-arn is not yet supported"
            )
        if aws.access_key or aws.secret_access_key:
            options["key"] = aws.access_key
            options["secret"] = aws.secret_access_key
        if aws.session_token:
            options["token"] = aws.session_token
        if aws.s3_force_path_style:
            options["config_kwargs"] = {"s3": {"addressing_style": "path"}}
    return BackendSpec("s3", join_root(config.bucket, config.prefix), options)
