"""A local server that speaks the OSS dialect of the S3 API, over moto's S3 app.

No OSS emulator is packaged anywhere we can install from, and oss2 treats an IP
endpoint as path-style, so a thin WSGI adapter in front of moto's S3 backend is
enough for ossfs: it rewrites what OSS does differently.

- listings: no S3 XML namespace, and a ``<Type>`` per object;
- ``GET /bucket/?bucketInfo``;
- ``x-oss-forbid-overwrite: true`` on PutObject -> 409 ``FileAlreadyExists``,
  checked and stored under one lock so that racing writers cannot both win;
- errors of HEAD requests in the ``x-oss-err`` header (HEAD has no body);
- optional credential checking: the access key id of ``Authorization: OSS
  id:signature`` and its ``x-oss-security-token`` must match what the test
  registered (signatures themselves are not verified).

Every request is recorded with the access key id and token it carried.
"""

from __future__ import annotations

import base64
import re
import threading
import urllib.parse
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request, Response

__all__ = ["OSSServer", "SeenRequest"]

_NAMESPACE = re.compile(rb'\s+xmlns="[^"]*"')
_AUTH = re.compile(r"^OSS (?P<key>[^:]+):")


@dataclass(frozen=True)
class SeenRequest:
    """One request as the server saw it (no secrets: the signature is dropped)."""

    method: str
    path: str
    query: str
    access_key_id: str
    security_token: str


def _error(status: int, code: str, message: str, *, head: bool = False) -> Response:
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{code}</Code><Message>{message}</Message>"
        "<RequestId>00000000</RequestId><HostId>127.0.0.1</HostId></Error>"
    ).encode()
    if head:
        return Response(
            b"",
            status=status,
            headers={"x-oss-err": base64.b64encode(body).decode()},
            content_type="application/xml",
        )
    return Response(body, status=status, content_type="application/xml")


@dataclass
class OSSDialect:
    """The WSGI adapter: OSS requests in, moto's S3 app behind."""

    s3_app: Any
    requests: list[SeenRequest] = field(default_factory=list)
    # access key id -> required security token ("" for a long-term key);
    # None: accept anything.
    credentials: Mapping[str, str] | None = None
    # Answer GetBucketInfo with 403 AccessDenied (a RAM policy without it).
    deny_bucket_info: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        request = Request(environ)
        response = self._handle(request, environ)
        return response(environ, start_response)  # type: ignore[no-any-return]

    # -- helpers -------------------------------------------------------------

    def _forward(self, environ: dict[str, Any]) -> Response:
        return Response.from_app(self.s3_app, environ, buffered=True)

    def _probe(self, method: str, path: str, host: str) -> int:
        # Signed-looking, as moto treats unsigned requests as anonymous.
        headers = [("Host", host), ("Authorization", "OSS probe:probe")]
        env = EnvironBuilder(
            method=method, path=urllib.parse.quote(path), headers=headers
        ).get_environ()
        return int(self._forward(env).status_code)

    def _check_credentials(
        self, request: Request, seen: SeenRequest
    ) -> Response | None:
        if self.credentials is None:
            return None
        expected = self.credentials.get(seen.access_key_id)
        if expected is None:
            return _error(
                403,
                "InvalidAccessKeyId",
                "The OSS Access Key Id you provided does not exist in our records.",
                head=request.method == "HEAD",
            )
        if expected != seen.security_token:
            return _error(
                403,
                "InvalidSecurityToken",
                "The security token you provided is invalid.",
                head=request.method == "HEAD",
            )
        return None

    # -- dispatch ------------------------------------------------------------

    def _handle(self, request: Request, environ: dict[str, Any]) -> Response:
        match = _AUTH.match(request.headers.get("Authorization", ""))
        seen = SeenRequest(
            method=request.method,
            path=request.path,
            query=request.query_string.decode(),
            access_key_id=match.group("key") if match else "",
            security_token=request.headers.get("x-oss-security-token", ""),
        )
        self.requests.append(seen)
        denied = self._check_credentials(request, seen)
        if denied is not None:
            return denied
        bucket, _, key = request.path.lstrip("/").partition("/")
        host = request.host
        if not key and "bucketInfo" in request.args:
            if self.deny_bucket_info:
                return _error(403, "AccessDenied", "You have no right to access this.")
            return self._bucket_info(bucket, host)
        forbid = request.headers.get("x-oss-forbid-overwrite", "").lower() == "true"
        if request.method == "PUT" and key and forbid:
            with self._lock:
                if self._probe("HEAD", f"/{bucket}/{key}", host) == 200:
                    return _error(
                        409,
                        "FileAlreadyExists",
                        "The object you specified already exists",
                    )
                return self._rewrite(request, bucket, key, self._forward(environ))
        with self._lock if request.method in ("PUT", "DELETE", "POST") else _NoLock():
            response = self._forward(environ)
        return self._rewrite(request, bucket, key, response)

    def _bucket_info(self, bucket: str, host: str) -> Response:
        if self._probe("HEAD", f"/{bucket}", host) != 200:
            return _error(404, "NoSuchBucket", "The specified bucket does not exist.")
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n<BucketInfo><Bucket>'
            "<CreationDate>2025-01-01T00:00:00.000Z</CreationDate>"
            "<ExtranetEndpoint>127.0.0.1</ExtranetEndpoint>"
            "<IntranetEndpoint>127.0.0.1</IntranetEndpoint>"
            "<Location>oss-local</Location>"
            f"<Name>{bucket}</Name>"
            "<StorageClass>Standard</StorageClass>"
            "<Owner><DisplayName>local</DisplayName><ID>local</ID></Owner>"
            "<AccessControlList><Grant>private</Grant></AccessControlList>"
            "</Bucket></BucketInfo>"
        ).encode()
        return Response(body, status=200, content_type="application/xml")

    def _rewrite(
        self, request: Request, bucket: str, key: str, response: Response
    ) -> Response:
        if request.method == "HEAD" and response.status_code >= 400:
            if response.status_code == 404:
                exists = self._probe("HEAD", f"/{bucket}", request.host) == 200
                code = "NoSuchKey" if exists and key else "NoSuchBucket"
                return _error(404, code, "Not found", head=True)
            return _error(response.status_code, "AccessDenied", "Denied", head=True)
        body = response.get_data()
        if body.lstrip().startswith(b"<?xml") or body.lstrip().startswith(b"<"):
            body = _NAMESPACE.sub(b"", body, count=1)
            if b"<ListBucketResult" in body:
                body = body.replace(b"</Key>", b"</Key><Type>Normal</Type>")
            response.set_data(body)
        return response


class _NoLock:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args: Any, **kwargs: Any) -> None:
        pass


class OSSServer:
    """The adapter served on 127.0.0.1 with an ephemeral port, in a thread."""

    def __init__(self) -> None:
        from moto.moto_server.werkzeug_app import create_backend_app

        self.dialect = OSSDialect(create_backend_app("s3"))
        self._server: BaseWSGIServer = make_server(
            "127.0.0.1", 0, self.dialect, threaded=True, request_handler=_QuietHandler
        )
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="oss-server", daemon=True
        )

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}"

    def start(self) -> OSSServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)

    def reset(self) -> None:
        """Forget recorded requests and credential rules (moto is reset elsewhere)."""
        self.dialect.requests.clear()
        self.dialect.credentials = None
        self.dialect.deny_bucket_info = False
