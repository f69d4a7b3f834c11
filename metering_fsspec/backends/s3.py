"""``s3``: Amazon S3 and S3-compatible services through s3fs.

With ``assume-role-arn`` s3fs gets an :class:`AssumeRoleSession`: requests
sign with credentials from STS AssumeRole, refreshed before they expire,
assumed from the static keys when given, else from the default chain.
"""

from __future__ import annotations

from typing import Any

from ..config import MeteringConfig
from ..credentials import AssumeRoleSession
from . import BackendSpec, join_root

# Batch reads keep up to fsspec's batch size of requests in flight; botocore's
# default pool of 10 connections would cap them below that.
MAX_POOL_CONNECTIONS = 64


def spec(config: MeteringConfig) -> BackendSpec:
    aws = config.aws
    config_kwargs: dict[str, Any] = {"max_pool_connections": MAX_POOL_CONNECTIONS}
    options: dict[str, Any] = {"config_kwargs": config_kwargs}
    if config.region:
        options["client_kwargs"] = {"region_name": config.region}
    if config.endpoint:
        options["endpoint_url"] = config.endpoint
    if aws is not None:
        if aws.assume_role_arn:
            options["session"] = AssumeRoleSession(
                aws.assume_role_arn,
                access_key=aws.access_key,
                secret_key=aws.secret_access_key,
                session_token=aws.session_token,
                region=config.region,
            )
        elif aws.access_key or aws.secret_access_key:
            options["key"] = aws.access_key
            options["secret"] = aws.secret_access_key
            if aws.session_token:
                options["token"] = aws.session_token
        if aws.s3_force_path_style:
            config_kwargs["s3"] = {"addressing_style": "path"}
    return BackendSpec("s3", join_root(config.bucket, config.prefix), options)
