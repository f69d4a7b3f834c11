"""Command-line helpers: timestamps, redacted storage names, progress bars and
JSON output. Used by :mod:`metering_fsspec.cli` only.
"""

from __future__ import annotations

import datetime as dt
import sys
import urllib.parse
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import click
import msgspec

from ..config import REDACTED, URI_SCHEMES, MeteringConfig

__all__ = [
    "TIMESTAMP",
    "SecretScrubber",
    "describe_storage",
    "echo_json",
    "format_ts",
    "progress",
]

# URI parameters whose values are secrets (as MeteringConfig redacts them).
SECRET_PARAMS = frozenset(
    {"secret-access-key", "session-token", "account-key", "sas-token"}
)


class TimestampType(click.ParamType):  # type: ignore[type-arg]
    """Unix seconds (``1755850380``) or an ISO-8601 date/time, UTC if no zone."""

    name = "timestamp"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> int:
        if isinstance(value, int):
            return value
        text = str(value).strip()
        if text.isdigit():
            return int(text)
        try:
            moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            self.fail(
                f"{value!r} is neither unix seconds nor an ISO-8601 time"
                " such as 2025-08-22T08:13Z",
                param,
                ctx,
            )
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=dt.UTC)
        return int(moment.timestamp())


TIMESTAMP = TimestampType()


def format_ts(timestamp: int) -> str:
    """``1755850380`` -> ``2025-08-22 08:13:00 UTC``."""
    moment = dt.datetime.fromtimestamp(timestamp, tz=dt.UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def describe_storage(storage: str | MeteringConfig) -> str:
    """The storage as a URI that is safe to print: secrets show as REDACTED."""
    if isinstance(storage, MeteringConfig):
        return storage.to_uri()
    scheme = storage.split("://", 1)[0].lower() if "://" in storage else ""
    if scheme in URI_SCHEMES:
        return MeteringConfig.from_uri(storage).to_uri()
    if not scheme:
        return storage
    # Any other fsspec URL: drop user info, redact secret-looking parameters.
    parts = urllib.parse.urlsplit(storage)
    host = parts.hostname or ""
    if parts.port:
        host += f":{parts.port}"
    query = urllib.parse.urlencode(
        [
            (k, REDACTED if k in SECRET_PARAMS else v)
            for k, v in urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
        ]
    )
    return urllib.parse.urlunsplit((parts.scheme, host, parts.path, query, ""))


_MIN_SECRET = 4


class SecretScrubber:
    """Replaces known secret values in text that is about to be printed.

    Error messages come from storage SDKs as well as from this library; the
    scrubber is the last guard before anything reaches the terminal.
    """

    def __init__(self) -> None:
        self.secrets: set[str] = set()

    def add_uri(self, uri: str) -> None:
        query = urllib.parse.urlsplit(uri).query
        for name, value in urllib.parse.parse_qsl(query, keep_blank_values=True):
            if name in SECRET_PARAMS and value:
                self.secrets.add(value)
        userinfo = urllib.parse.urlsplit(uri).password
        if userinfo:
            self.secrets.add(userinfo)

    def add_config(self, config: MeteringConfig) -> None:
        for section in (config.aws, config.oss, config.azure):
            if section is None:
                continue
            for name in ("secret_access_key", "session_token", "account_key"):
                value = getattr(section, name, "")
                if value:
                    self.secrets.add(value)
            sas = getattr(section, "sas_token", "")
            if sas:
                self.secrets.add(sas)

    def __call__(self, text: str) -> str:
        # Longest first, so that a secret containing another is fully hidden.
        # Values of a few characters are not credentials anyone issues, and
        # replacing them would garble the text around them.
        secrets = (s for s in self.secrets if len(s) >= _MIN_SECRET)
        for secret in sorted(secrets, key=len, reverse=True):
            for form in {secret, urllib.parse.quote(secret, safe="")}:
                text = text.replace(form, REDACTED)
        return text


@contextmanager
def progress(length: int, label: str) -> Iterator[Callable[[int], None]]:
    """A progress bar on stderr when it is a terminal; silent otherwise.

    Yields a function that advances the bar by ``n`` steps.
    """
    if length < 2 or not sys.stderr.isatty():
        yield lambda n: None
        return
    with click.progressbar(
        length=length, label=label, file=sys.stderr, show_pos=True
    ) as bar:
        yield bar.update


# Keys keep their insertion order: objects print in the order they were built.
_json_encoder = msgspec.json.Encoder()


def echo_json(value: Any) -> None:
    """Print ``value`` as indented JSON on stdout."""
    raw = msgspec.json.format(_json_encoder.encode(value), indent=2)
    click.echo(raw.decode())
