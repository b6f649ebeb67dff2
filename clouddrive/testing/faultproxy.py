"""A fault-injecting HTTP proxy between clouddrive and an S3 server, for tests and chaos runs.

It forwards each request to the real server (SeaweedFS) and, where a rule matches, breaks the
exchange the way networks and servers do: an error status instead of an answer (503 SlowDown,
500, 403 ExpiredToken), a connection reset before or after the server saw the request, a body
cut short, a listing page that fails. Rules count what they fired, so a test can assert both
what happened and what the run did about it. Standard library only; test-only tooling.
"""

from __future__ import annotations

import contextlib
import http.client
import io
import random
import re
import socket
import struct
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

__all__ = ["Fault", "FaultProxy", "Rule", "s3_operation"]


class Fault(StrEnum):
    """What a matching rule does to one exchange."""

    SLOW_DOWN = "503-slowdown"  #: answer 503 SlowDown; the server never sees the request
    INTERNAL = "500-internal"  #: answer 500 InternalError; the server never sees it
    EXPIRED = "403-expired-token"  #: answer 403 ExpiredToken (credentials expired mid-run)
    RESET_REQUEST = "reset-request"  #: reset the connection before forwarding
    RESET_AFTER_FORWARD = "reset-after-forward"  #: server did it; the answer is lost (RST)
    TRUNCATE_BODY = "truncate-body"  #: full Content-Length promised, half the body sent
    RESET_MID_BODY = "reset-mid-body"  #: half the body, then a reset


_ERRORS = {
    Fault.SLOW_DOWN: (503, "SlowDown", "Please reduce your request rate."),
    Fault.INTERNAL: (500, "InternalError", "We encountered an internal error."),
    Fault.EXPIRED: (403, "ExpiredToken", "The provided token has expired."),
}


def s3_operation(method: str, target: str) -> str:
    """A rough S3 operation name for a request, enough to aim faults at."""
    path, _, query = target.partition("?")
    params = {p.split("=", 1)[0] for p in query.split("&") if p}
    parts = [p for p in path.split("/") if p]
    if method == "GET" and "versions" in params:
        return "ListObjectVersions"
    if method == "GET" and ("versioning" in params or "lifecycle" in params):
        return "GetBucketConfig"
    if len(parts) <= 1:
        return f"{method}Bucket"
    if "uploadId" in params:
        return {"PUT": "UploadPart", "POST": "CompleteMultipartUpload"}.get(method, "Multipart")
    if method == "POST" and "uploads" in params:
        return "CreateMultipartUpload"
    return {
        "GET": "GetObject",
        "PUT": "PutObject",
        "HEAD": "HeadObject",
        "DELETE": "DeleteObject",
    }.get(method, method)


@dataclass
class Rule:
    """Fire `fault` on requests of `operation` (and whose path matches `path`), after skipping
    `after` matches, at most `times` times (None: forever), with probability `chance`."""

    fault: Fault
    operation: str | None = None
    path: str | None = None
    after: int = 0
    times: int | None = 1
    chance: float = 1.0
    seen: int = 0
    fired: int = 0

    def wants(self, operation: str, target: str, rng: random.Random) -> bool:
        if self.operation and self.operation != operation:
            return False
        if self.path and not re.search(self.path, target):
            return False
        self.seen += 1
        if self.seen <= self.after:
            return False
        if self.times is not None and self.fired >= self.times:
            return False
        if self.chance < 1.0 and rng.random() >= self.chance:
            return False
        self.fired += 1
        return True


@dataclass
class FaultProxy:
    """A running proxy in front of `upstream`; use `.endpoint_url` as the S3 endpoint."""

    upstream: str
    seed: int = 0
    rules: list[Rule] = field(default_factory=list)
    log: list[tuple[str, str, str]] = field(default_factory=list)  #: (operation, target, fault)
    requests: int = 0

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._rng = random.Random(self.seed)
        up = urlsplit(self.upstream)
        self._up_host, self._up_port = up.hostname or "127.0.0.1", up.port or 80
        proxy = self

        class Handler(_ProxyHandler):
            owner = proxy

        self._server = _QuietServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def add(self, rule: Rule) -> Rule:
        with self._lock:
            self.rules.append(rule)
        return rule

    def clear(self) -> None:
        with self._lock:
            self.rules.clear()

    def fired(self, fault: Fault | None = None) -> int:
        with self._lock:
            return sum(1 for _, _, f in self.log if fault is None or f == fault.value)

    def choose(self, operation: str, target: str) -> Fault | None:
        with self._lock:
            self.requests += 1
            for rule in self.rules:
                if rule.wants(operation, target, self._rng):
                    self.log.append((operation, target, rule.fault.value))
                    return rule.fault
        return None

    def upstream_connection(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection(self._up_host, self._up_port, timeout=60)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FaultProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # resets are the point here, not news


class _ProxyHandler(BaseHTTPRequestHandler):
    owner: FaultProxy
    protocol_version = "HTTP/1.1"
    _upstream: http.client.HTTPConnection | None = None

    def log_message(self, format: str, *args: object) -> None:
        pass  # quiet: the rules' log says what matters

    def _reset(self) -> None:
        """Abort the client connection with a TCP reset, as a crashed middlebox would."""
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self._close()

    def _close(self) -> None:
        """Close the client connection for real, now.

        `socket.close()` alone does not: the handler's rfile and wfile still hold the
        descriptor, and the peer would hang until its read timeout instead of seeing the
        reset (or, after a graceful shutdown, the end of a cut body).
        """
        self.close_connection = True
        for stream in (self.rfile, self.wfile):
            with contextlib.suppress(OSError, ValueError):
                stream.close()
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)
        self.connection.close()
        self.rfile = io.BytesIO()
        self.wfile = _Sink()  # type: ignore[assignment]  # the server flushes it after us

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _forward(self, body: bytes) -> tuple[int, str, list[tuple[str, str]], bytes]:
        if self._upstream is None:
            self._upstream = self.owner.upstream_connection()
        conn = self._upstream
        headers = [(k, v) for k, v in self.headers.items() if k.lower() != "transfer-encoding"]
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
            headers.append(("Content-Length", str(len(body))))
        for attempt in (1, 2):
            try:
                conn.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
                for key, value in headers:
                    conn.putheader(key, value)
                conn.endheaders(body if body else None)
                resp = conn.getresponse()
                data = resp.read()
                return resp.status, resp.reason, resp.getheaders(), data
            except (http.client.HTTPException, OSError):
                conn.close()
                if attempt == 2:
                    raise
                self._upstream = conn = self.owner.upstream_connection()
        raise AssertionError("unreachable")

    def _send(self, status: int, reason: str, headers: list[tuple[str, str]], body: bytes,
              cut: Callable[[bytes], bytes] | None = None) -> None:  # fmt: skip
        self.send_response_only(status, reason)
        for key, value in headers:
            if key.lower() in ("transfer-encoding", "content-length", "connection"):
                continue
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(cut(body) if cut else body)
        self.wfile.flush()

    def _handle(self) -> None:
        operation = s3_operation(self.command, self.path)
        fault = self.owner.choose(operation, self.path)
        if fault is Fault.RESET_REQUEST:
            self._reset()
            return
        body = self._read_body()
        if fault in _ERRORS:
            status, code, message = _ERRORS[fault]
            xml = (
                f'<?xml version="1.0" encoding="UTF-8"?><Error><Code>{code}</Code>'
                f"<Message>{message}</Message></Error>"
            ).encode()
            self._send(status, code, [("Content-Type", "application/xml")], xml)
            return
        status, reason, headers, data = self._forward(body)
        if fault is Fault.RESET_AFTER_FORWARD:
            self._reset()
        elif fault is Fault.TRUNCATE_BODY and len(data) > 1:
            self._send(status, reason, headers, data, cut=lambda b: b[: len(b) // 2])
            self._close()  # a clean end of stream, short of the promised Content-Length
        elif fault is Fault.RESET_MID_BODY and len(data) > 1:
            self._send(status, reason, headers, data, cut=lambda b: b[: len(b) // 3])
            self._reset()
        else:
            self._send(status, reason, headers, data)

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _handle


class _Sink:
    def write(self, data: bytes) -> int:
        return len(data)

    def flush(self) -> None:
        pass
