"""Keep credentials out of log records, including those of the cloud SDKs.

botocore, oss2 and the Azure SDK log requests and responses at DEBUG level,
and some of those carry a session token or the credentials an STS call just
returned. A log-record factory installed once rewrites, before any handler
sees them, records from the libraries this package drives: known secret values
(registered by the backends) and credential-shaped fields are replaced with
``REDACTED``. Records of other loggers are left untouched.
"""

from __future__ import annotations

import logging
import re
import threading
import urllib.parse
from typing import Any

__all__ = ["install", "redact", "register_secret"]

REDACTED = "REDACTED"

# Loggers whose records may carry credentials.
_LOGGERS = (
    "metering_fsspec",
    "botocore",
    "aiobotocore",
    "boto3",
    "s3fs",
    "urllib3",
    "oss2",
    "ossfs",
    "alibabacloud",
    "azure",
    "adlfs",
    "fsspec",
)
# A credential field followed by its value: XML (<SessionToken>v), JSON or
# dict reprs ("SessionToken": "v", 'x-amz-security-token': b'v'), header
# tuples (('X-Amz-Security-Token', 'v')), query or connection strings
# (sig=v, AccountKey=v).
_FIELD = re.compile(
    r"(?i)((?:secret_?access_?key|session_?token|security_?token|access_?key_?secret"
    r"|x-amz-security-token|x-oss-security-token|account_?key|sas_?token|\bsig)"
    r"""(?:>|["']?\s*[:=]\s*b?["']?|["']\s*,\s*b?["']))([^"'<&\s,;})]+)"""
)
_MIN_SECRET = 6  # shorter values would garble unrelated text

_secrets: set[str] = set()
_lock = threading.Lock()
_installed = False


def register_secret(value: str | None) -> None:
    """Hide ``value`` (and its URL-quoted form) from every covered log record."""
    if value and len(value) >= _MIN_SECRET:
        with _lock:
            _secrets.update({value, urllib.parse.quote(value, safe="")})
        install()


def redact(text: str) -> str:
    """``text`` with known secrets and credential-shaped fields replaced."""
    for secret in sorted(_secrets, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, REDACTED)
    return _FIELD.sub(lambda m: m.group(1) + REDACTED, text)


def install() -> None:
    """Wrap the log-record factory once (idempotent, thread-safe)."""
    global _installed
    with _lock:
        if _installed:
            return
        previous = logging.getLogRecordFactory()

        def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = previous(*args, **kwargs)
            if record.name.startswith(_LOGGERS):
                try:
                    message = record.getMessage()
                except Exception:  # a broken format string: leave it to logging
                    return record
                clean = redact(message)
                if clean != message:
                    record.msg, record.args = clean, ()
            return record

        logging.setLogRecordFactory(factory)
        _installed = True
