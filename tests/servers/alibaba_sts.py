"""A tiny Alibaba Cloud STS server: ``GET /?Action=AssumeRole&...`` only.

It answers as the real service does for what ``alibabacloud-credentials``
reads: ``{"Credentials": {"AccessKeyId", "AccessKeySecret", "SecurityToken",
"Expiration"}}``, with a fresh key and token on every call. Callers must sign
with a registered source access key id (the signature itself is not checked).
"""

from __future__ import annotations

import json
import secrets
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["AlibabaSTSServer", "IssuedCredentials"]


@dataclass(frozen=True)
class IssuedCredentials:
    access_key_id: str
    access_key_secret: str
    security_token: str
    expiration: int
    role_arn: str
    source_access_key_id: str


@dataclass
class _State:
    source_keys: set[str] = field(default_factory=set)
    issued: list[IssuedCredentials] = field(default_factory=list)
    # Seconds added to the clock when computing Expiration (tests move it).
    clock_offset: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)


class _Handler(BaseHTTPRequestHandler):
    state: _State

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the query string carries the caller's signature: keep it quiet

    def _reply(self, status: int, payload: dict[str, Any]) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(self.path).query))
        if query.get("Action") != "AssumeRole" or not query.get("RoleArn"):
            self._reply(400, {"Code": "InvalidParameter", "Message": "bad request"})
            return
        source = query.get("AccessKeyId", "")
        state = self.state
        if source not in state.source_keys:
            self._reply(
                404, {"Code": "InvalidAccessKeyId.NotFound", "Message": "unknown key"}
            )
            return
        duration = int(query.get("DurationSeconds", "3600"))
        with state.lock:
            number = len(state.issued) + 1
            issued = IssuedCredentials(
                access_key_id=f"STS.local{number:04d}",
                access_key_secret=secrets.token_hex(16),
                security_token=f"token-{number:04d}-{secrets.token_hex(8)}",
                expiration=int(time.time() + state.clock_offset) + duration,
                role_arn=query["RoleArn"],
                source_access_key_id=source,
            )
            state.issued.append(issued)
        expiration = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(issued.expiration))
        self._reply(
            200,
            {
                "RequestId": f"req-{number}",
                "AssumedRoleUser": {
                    "Arn": f"{issued.role_arn}/session",
                    "AssumedRoleId": f"{number}:session",
                },
                "Credentials": {
                    "AccessKeyId": issued.access_key_id,
                    "AccessKeySecret": issued.access_key_secret,
                    "SecurityToken": issued.security_token,
                    "Expiration": expiration,
                },
            },
        )


class AlibabaSTSServer:
    """Served on 127.0.0.1 with an ephemeral port, in a thread."""

    def __init__(self) -> None:
        self.state = _State()
        handler = type("Handler", (_Handler,), {"state": self.state})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="alibaba-sts", daemon=True
        )

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def issued(self) -> list[IssuedCredentials]:
        return list(self.state.issued)

    def start(self) -> AlibabaSTSServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)

    def reset(self) -> None:
        with self.state.lock:
            self.state.source_keys.clear()
            self.state.issued.clear()
            self.state.clock_offset = 0.0
