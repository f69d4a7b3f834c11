"""Credentials are removed from log records of the libraries we drive."""

from __future__ import annotations

import logging

import pytest

from metering_fsspec import redact

SHAPES = [
    "<Credentials><SecretAccessKey>wJalrXUtnFEMI/K7MDENG</SecretAccessKey>",
    "<SessionToken>FQoGZXIvYXdzEXAMPLETOKEN==</SessionToken>",
    '{"AccessKeySecret": "wJalrXUtnFEMI/K7MDENG", "SecurityToken": "CAISEXAMPLE"}',
    "headers={'X-Amz-Security-Token': b'FQoGZXIvYXdzEXAMPLETOKEN=='}",
    "[('X-Amz-Security-Token', 'FQoGZXIvYXdzEXAMPLETOKEN==')]",
    "https://acct.blob.core.windows.net/c?sv=2022&sig=abcDEF123%2Bxyz&se=2030",
    "DefaultEndpointsProtocol=http;AccountName=dev;AccountKey=Eby8vdM02xNOcqF==;",
]
HIDDEN = [
    "wJalrXUtnFEMI/K7MDENG",
    "FQoGZXIvYXdzEXAMPLETOKEN==",
    "CAISEXAMPLE",
    "abcDEF123%2Bxyz",
    "Eby8vdM02xNOcqF==",
]


@pytest.mark.parametrize("text", SHAPES)
def test_credential_fields_are_redacted(text: str) -> None:
    clean = redact.redact(text)
    assert "REDACTED" in clean
    for value in HIDDEN:
        assert value not in clean


def test_registered_secrets_are_redacted_in_covered_loggers(
    caplog: pytest.LogCaptureFixture,
) -> None:
    redact.register_secret("plain-secret-value-42/+")
    caplog.set_level(logging.DEBUG)
    logging.getLogger("botocore.endpoint").debug("key %s", "plain-secret-value-42/+")
    logging.getLogger("s3fs").debug("quoted plain-secret-value-42%2F%2B")
    assert "plain-secret-value-42" not in caplog.text
    assert caplog.text.count("REDACTED") == 2


def test_other_loggers_are_left_alone(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    logging.getLogger("someapp").info("<SessionToken>abcdefgh</SessionToken>")
    assert "abcdefgh" in caplog.text


def test_short_values_are_not_registered() -> None:
    redact.register_secret("abc")
    assert redact.redact("abc def") == "abc def"
