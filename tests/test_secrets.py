"""Secrets never show in repr, str, URIs, logs or error messages."""

from __future__ import annotations

import logging
import traceback
import uuid

import pytest

from conftest import S3_KEY, S3_REGION, S3_SECRET
from metering_fsspec import (
    Config,
    MetaData,
    MetaReader,
    MetaType,
    MetaWriter,
    MeteringConfig,
    MeteringData,
    MeteringReader,
    MeteringWriter,
    ValidationError,
)

SECRET = "wJalrXUtnFEMI-K7MDENG-bPxRfiCYEXAMPLEKEY"
TOKEN = "FwoGZXIvYXdzEXAMPLE-SESSION-TOKEN"
ACCOUNT_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsu"
SAS = "sv=2024-01-01&sig=SECRETSIGNATURE"
SECRETS = (SECRET, TOKEN, ACCOUNT_KEY, "SECRETSIGNATURE")

CONFIGS = [
    f"s3://b/p?access-key=AKIDPUBLIC&secret-access-key={SECRET}&session-token={TOKEN}",
    f"oss://b/p?access-key=AKIDPUBLIC&secret-access-key={SECRET}&session-token={TOKEN}",
    f"azure://c/p?account-name=acct&account-key={ACCOUNT_KEY}"
    "&sas-token=sv%3D2024-01-01%26sig%3DSECRETSIGNATURE",
]


def _clean(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text


@pytest.mark.parametrize("uri", CONFIGS)
def test_config_repr_str_and_uri_hide_secrets(uri: str) -> None:
    config = MeteringConfig.from_uri(uri)
    section = config.aws or config.oss or config.azure
    for text in (
        repr(config),
        str(config),
        config.to_uri(),
        repr(section),
        str(section),
    ):
        _clean(text)
        assert "REDACTED" in text
    assert "AKIDPUBLIC" in repr(config) or "acct" in repr(config)  # ids may show
    # the secrets are still there to be used
    assert any(s in config.to_uri(redact=False) for s in (SECRET, ACCOUNT_KEY))


@pytest.mark.parametrize(
    "uri",
    [
        f"s3://b?secret-access-key={SECRET}&bogus=1",
        f"s3://b?secret-access-key={SECRET}&force-path-style=maybe",
        f"localfs:///d?secret-access-key={SECRET}",
        f"ftp://b?secret-access-key={SECRET}",
        f"s3://b?account-key={ACCOUNT_KEY}",
    ],
)
def test_uri_errors_hide_secrets(uri: str) -> None:
    with pytest.raises(ValidationError) as info:
        MeteringConfig.from_uri(uri)
    _clean(str(info.value) + repr(info.value))


def test_writer_and_reader_repr_hide_secrets(s3_uri: str) -> None:
    uri = s3_uri + f"&session-token={TOKEN}"
    for obj in (
        MeteringWriter(uri),
        MetaWriter(uri),
        MeteringReader(uri),
        MetaReader(uri),
    ):
        for text in (repr(obj), str(obj)):
            assert S3_SECRET not in text
            _clean(text)


def test_debug_logs_hide_secrets(s3_uri: str, caplog: pytest.LogCaptureFixture) -> None:
    """Every logger at DEBUG (botocore and s3fs included): neither the secret
    key nor the session token shows in any record."""
    config = Config(debug=True)
    caplog.set_level(logging.DEBUG)
    s3_uri += f"&session-token={TOKEN}"
    writer = MeteringWriter(s3_uri, config)
    (path,) = writer.write(MeteringData(1755850380, "tidb", "s1", "p", [{"a": 1}]))
    MeteringReader(s3_uri, config).read_files([path, path])
    MetaWriter(s3_uri, config).write(MetaData("c1", MetaType.LOGIC, 1755850000))
    MetaReader(s3_uri, config).read("c1", 1755850000)
    ours = [r for r in caplog.records if r.name.startswith("metering_fsspec")]
    assert any(path in r.getMessage() for r in ours)  # debug logging did happen
    assert any(r.name.startswith("botocore") for r in caplog.records)
    for record in caplog.records:
        assert S3_SECRET not in record.getMessage()
        _clean(record.getMessage())
    assert S3_SECRET not in caplog.text
    assert TOKEN not in caplog.text


def _chain_text(exc: BaseException) -> str:
    return "".join(traceback.format_exception(exc))


def test_storage_errors_hide_secrets(s3_server: str, s3_bucket: str) -> None:
    missing = f"no-such-bucket-{uuid.uuid4().hex[:8]}"
    uri = (
        f"s3://{missing}/p?region-id={S3_REGION}&endpoint={s3_server}"
        f"&access-key={S3_KEY}&secret-access-key={S3_SECRET}&s3-force-path-style=true"
    )
    errors: list[BaseException] = []
    try:
        MeteringWriter(uri).write(MeteringData(1755850380, "tidb", "s1", "p"))
    except Exception as exc:
        errors.append(exc)
    try:
        MeteringReader(uri).read_file("metering/ru/1755850380/tidb/p/s1-0.json.gz")
    except Exception as exc:
        errors.append(exc)
    try:
        MetaReader(uri).read_by_type("c1", MetaType.LOGIC, 1755850000)
    except Exception as exc:
        errors.append(exc)
    assert len(errors) == 3
    for error in errors:
        text = str(error) + repr(error) + _chain_text(error)
        assert S3_SECRET not in text
