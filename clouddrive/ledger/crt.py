"""Small-object GETs and PUTs through the AWS Common Runtime's S3 client (`awscrt`).

Why: a small transfer through botocore costs about 0.75 ms of Python CPU per request
(request building, endpoint rules, signing, urllib3), and the GIL holds a process to one
core, so 5,000 small files took three times as long as s5cmd or rclone. The CRT signs,
sends and receives in C on its own threads; the Python side only hands over headers and
takes back the answer. Measured on one SeaweedFS server, 3,000 GETs of 4 KiB: botocore on 8
threads 3.8 s (3.6 s of CPU), the CRT 1.3-1.5 s (1.0-1.2 s of CPU), s5cmd 1.6 s
(docs/performance.md).

What stays with botocore: listings, deletes, copies, multipart uploads, large downloads
(they stream) and every call a test hooks by botocore event. What this module keeps the
same as botocore: path-style addressing on the drive's own endpoint, the same credentials
(refreshed through botocore's provider chain), no checksum beyond what S3 requires (the
sha256 in the metadata guards the content), no retries of its own (`RetryMode.NONE`:
retrying lives in `calls`), and errors handed on in botocore's shape (a `ClientError` with
the S3 error code of the body), so `calls.translate` stays the one place that maps them.

Used only with an endpoint that is not AWS itself (SeaweedFS, MinIO, the embedded server;
in the drive's configuration or the AWS environment's `AWS_ENDPOINT_URL_S3`): AWS's own
endpoints need region redirects and virtual-host rules that botocore already handles, and
cannot be tested from here. `CLOUDDRIVE_TRANSFER=botocore` turns it off everywhere.
"""

from __future__ import annotations

import errno
import functools
import importlib.util
import io
import os
import re
import threading
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit

import botocore.exceptions as bexc

from clouddrive.ledger.metadata import decode_value

__all__ = ["CRT_BEFORE_CALL", "CRT_MOVED", "CrtResponse", "CrtTransfers", "crt_transfers"]

#: `CLOUDDRIVE_TRANSFER=botocore` sends every transfer through botocore.
TRANSFER_ENV = "CLOUDDRIVE_TRANSFER"
#: The event emitted on the botocore client's event system before each CRT request
#: (`CRT_BEFORE_CALL.s3.GetObject`), as botocore emits `before-call.s3.GetObject`: hooks such
#: as a stopped run's gate see every transfer, whichever client carries it.
CRT_BEFORE_CALL = "clouddrive-before-crt-call.s3"
#: Emitted after each CRT transfer with `key` and `size` (the body's bytes, once): what
#: botocore's body streams tell the byte counter (`progress.counting_bytes`).
CRT_MOVED = "clouddrive-crt-moved.s3"
#: bytes per second a link is assumed to manage at worst, for a request's time limit
SLOWEST_LINK = 32 * 1024


@dataclass(frozen=True)
class CrtResponse:
    """One answered request: status, headers (names in lower case) and the whole body."""

    status: int
    headers: dict[str, str]
    body: bytes

    def metadata(self) -> dict[str, str]:
        """The `x-amz-meta-*` headers, as botocore's `Metadata` (names without the prefix,
        values decoded as `metadata.decode_value` does for botocore's answers)."""
        return {
            name[len("x-amz-meta-") :]: decode_value(value)
            for name, value in self.headers.items()
            if name.startswith("x-amz-meta-")
        }


@functools.cache
def _bootstrap() -> Any:
    """One event loop group for every CRT client of the process (threads are not free)."""
    from awscrt import io as crt_io

    loops = crt_io.EventLoopGroup(min(4, os.cpu_count() or 1))
    return crt_io.ClientBootstrap(loops, crt_io.DefaultHostResolver(loops))


class CrtTransfers:
    """GET and PUT of whole small objects on one endpoint, thread-safe."""

    def __init__(
        self,
        endpoint_url: str,
        region: str,
        credentials: Callable[[], tuple[str, str, str | None]],
        *,
        timeout: float = 60.0,
        refreshed: bool = True,
    ) -> None:
        parts = urlsplit(endpoint_url)
        self.host = parts.netloc
        self.base_path = parts.path.rstrip("/")
        #: how long a whole request may take, at least (botocore's 60 s is per socket read):
        #: a body adds a second per `SLOWEST_LINK` bytes, so a slow uplink still gets there
        self.timeout = timeout
        self._tls = parts.scheme == "https"
        self._region = region
        self._credentials = credentials
        #: False: the keys never change (environment, config file, embedded server), so
        #: the CRT is given them once, not a callback into Python for every request it
        #: signs (a wait for the GIL on the CRT's own threads, per file)
        self._refreshed = refreshed
        #: why the last refresh of the keys failed (botocore's error), for the request
        #: that needed them: the CRT itself only reports a failed delegate
        self._keys_failure: Exception | None = None
        self._made: Any = None  #: (the awscrt.s3 module, its S3Client) once a request needs it
        self._making = threading.Lock()

    def _client(self) -> tuple[Any, Any]:
        """The CRT's S3 client, made on the first transfer: a run with nothing to move (the
        no-op a live drive repeats) pays for neither the import nor the client's threads."""
        with self._making:
            if self._made is None:
                from awscrt import auth, s3

                def current() -> Any:
                    try:
                        access, secret, token = self._credentials()
                    except Exception as exc:
                        self._keys_failure = exc  # what the request raises, not "no answer"
                        raise
                    return auth.AwsCredentials(access, secret, token)

                if self._refreshed:
                    provider = auth.AwsCredentialsProvider.new_delegate(current)
                else:
                    provider = auth.AwsCredentialsProvider.new_static(*self._credentials())
                client = s3.S3Client(
                    bootstrap=_bootstrap(),
                    region=self._region,
                    tls_mode=(
                        s3.S3RequestTlsMode.ENABLED if self._tls else s3.S3RequestTlsMode.DISABLED
                    ),
                    credential_provider=provider,
                    retry_config=s3.S3RetryConfig(retry_mode=s3.S3RetryMode.NONE),
                    connect_timeout_ms=10_000,
                )
                self._made = (s3, client)
            return self._made  # type: ignore[no-any-return]

    def path(self, bucket: str, key: str, version_id: str | None = None) -> str:
        """The request path of `key`, percent-encoded as botocore encodes it."""
        path = f"{self.base_path}/{bucket}/{quote(key, safe='/~')}"
        return f"{path}?versionId={quote(version_id, safe='')}" if version_id else path

    def get(
        self, bucket: str, key: str, version_id: str | None, size: int = 0, into: str | None = None
    ) -> CrtResponse:
        """GET one object (a version of it) whole; `size`: its expected size.

        With `into`, the CRT writes the body to that file itself, on its own threads (the
        answer's `body` is then empty): no Python runs per chunk (a callback and a write
        each). The file is created or truncated; a local failure (a full disk, no
        permission) is an `OSError` with its errno, as if Python had written it."""
        return self.start_get(bucket, key, version_id, size, into).wait()

    def start_get(
        self,
        bucket: str,
        key: str,
        version_id: str | None,
        size: int = 0,
        into: str | None = None,
        on_done: Callable[[], None] | None = None,
    ) -> CrtPending:
        """`get` without waiting: the request is on its way when this returns, and
        `on_done` is called (on a CRT thread: keep it to a queue put) once it has ended.
        Many GETs in flight from one thread need no thread each (`sync/fetchahead.py`)."""
        path = self.path(bucket, key, version_id)
        return self._start("GET", path, {}, None, "GetObject", size, into, on_done)

    def put(self, bucket: str, key: str, body: bytes, headers: Mapping[str, str]) -> CrtResponse:
        """PUT one object from memory, with the given headers (metadata, conditions)."""
        return self.start_put(bucket, key, body, headers).wait()

    def start_put(
        self,
        bucket: str,
        key: str,
        body: bytes,
        headers: Mapping[str, str],
        on_done: Callable[[], None] | None = None,
    ) -> CrtPending:
        """`put` without waiting, as `start_get` is to `get`."""
        path = self.path(bucket, key)
        return self._start("PUT", path, headers, body, "PutObject", len(body), None, on_done)

    def _start(
        self,
        method: str,
        path: str,
        headers: Mapping[str, str],
        body: bytes | None,
        operation: str,
        size: int,
        into: str | None = None,
        on_done: Callable[[], None] | None = None,
    ) -> CrtPending:
        from awscrt import http

        fields = [("Host", self.host), *headers.items()]
        if body is not None:
            fields.append(("Content-Length", str(len(body))))
        request = http.HttpRequest(
            method, path, http.HttpHeaders(fields), io.BytesIO(body) if body is not None else None
        )
        pending = CrtPending(self, path, operation, size, into)
        # the callbacks hold the answer, never the request they belong to: a cycle through
        # the CRT's request would keep it, and its native memory, until a full collection
        answer = pending.answer

        def on_headers(status_code: int, headers: list[tuple[str, str]], **_: Any) -> None:
            answer.status = status_code
            answer.headers = {name.lower(): value for name, value in headers}

        def on_body(chunk: bytes, **_: Any) -> None:
            answer.chunks.append(bytes(chunk))

        def ended(**_: Any) -> None:
            assert on_done is not None
            on_done()

        s3, client = self._client()
        if self._refreshed:
            # keys that expire are renewed here, in Python, as botocore would before its own
            # request: a renewal that fails (an expired SSO session) raises botocore's error
            # here, where the CRT's callback could only fail with a traceback on stderr
            self._credentials()
        try:
            pending.sent = client.make_request(
                type=s3.S3RequestType.DEFAULT,
                operation_name=operation,
                request=request,
                on_headers=on_headers,
                **({"recv_filepath": into} if into else {"on_body": on_body}),
                **({"on_done": ended} if on_done else {}),
            )
        except RuntimeError as exc:  # the file `into` could not be opened
            if into is None:
                raise
            raise _local_error(_error_name(str(exc)), into, exc) from exc
        return pending


@dataclass
class _Answer:
    """What the CRT's callbacks report: status, headers (names in lower case), body."""

    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    chunks: list[bytes] = field(default_factory=list)


class CrtPending:
    """A request the CRT is carrying: `wait` for its answer, in botocore's terms."""

    def __init__(
        self, transfers: CrtTransfers, path: str, operation: str, size: int, into: str | None
    ) -> None:
        self.transfers = transfers
        self.path = path
        self.operation = operation
        self.size = size
        self.into = into
        self.sent: Any = None  #: the CRT's S3Request (kept alive until it ends)
        self.answer = _Answer()

    def wait(self) -> CrtResponse:
        """The answer, once the request has ended: an S3 error is a `ClientError`, a
        failure without an answer botocore's network error, a local one an `OSError`."""
        from awscrt import s3
        from awscrt.exceptions import AwsCrtError

        where = f"{self.transfers.host}{self.path}"
        try:
            self.sent.finished_future.result(self.transfers.timeout + self.size / SLOWEST_LINK)
        except FutureTimeout:
            self.cancel()
            raise bexc.ReadTimeoutError(endpoint_url=where) from None
        except s3.S3ResponseError as exc:
            raise _client_error(exc, self.operation) from exc
        except AwsCrtError as exc:
            if exc.name in _LOCAL:
                raise _local_error(exc.name, self.into, exc) from exc
            if exc.name.startswith("AWS_AUTH_CREDENTIALS_PROVIDER"):
                raise self.transfers._keys_failure or bexc.NoCredentialsError() from exc
            raise _network_error(exc, where) from exc
        answer = self.answer
        return CrtResponse(answer.status, answer.headers, b"".join(answer.chunks))

    def cancel(self) -> None:
        """Give up on the request (a stopped run abandons it); `wait` then fails."""
        self.sent.cancel()


#: CRT errors that mean nothing answered at that address (botocore: EndpointConnectionError)
_UNREACHABLE = (
    "AWS_IO_SOCKET_CONNECTION_REFUSED",
    "AWS_IO_SOCKET_NO_ROUTE_TO_HOST",
    "AWS_IO_SOCKET_NETWORK_DOWN",
    "AWS_IO_DNS_QUERY_FAILED",
    "AWS_IO_DNS_INVALID_NAME",
    "AWS_IO_DNS_NO_ADDRESS_FOR_HOST",
)


#: CRT errors of the local file a body is written to, with the errno each stands for
_LOCAL = {
    "AWS_ERROR_NO_SPACE": errno.ENOSPC,
    "AWS_ERROR_NO_PERMISSION": errno.EACCES,
    "AWS_ERROR_FILE_INVALID_PATH": errno.ENOENT,
    "AWS_ERROR_MAX_FDS_EXCEEDED": errno.EMFILE,
    "AWS_ERROR_FILE_WRITE_FAILURE": errno.EIO,
    "AWS_ERROR_FILE_OPEN_FAILURE": errno.EIO,
}


def _error_name(message: str) -> str:
    """The CRT error name in a message such as "44 (AWS_ERROR_FILE_INVALID_PATH): ..."."""
    found = re.search(r"\((AWS_[A-Z0-9_]+)\)", message)
    return found.group(1) if found else ""


def _local_error(name: str, filename: str | None, exc: Exception) -> OSError:
    """A failure writing the body to `filename`, as the OSError Python's own write would
    have raised: `errors.local_error` then names it (disk full, permission) and it is never
    retried as a network failure."""
    code = _LOCAL.get(name, errno.EIO)
    return OSError(code, f"{os.strerror(code)} ({name or exc})", filename)


def _network_error(exc: Any, url: str) -> Exception:
    """A CRT failure without an S3 answer, as the botocore exception `calls` maps it from."""
    if exc.name in _UNREACHABLE:
        return bexc.EndpointConnectionError(endpoint_url=url)
    return bexc.ConnectionClosedError(endpoint_url=f"{url} ({exc.name})")


def _client_error(exc: Any, operation: str) -> bexc.ClientError:
    """An S3 error answer in botocore's shape: `calls` maps it like any other."""
    code, message = "", ""
    body = exc.body or b""
    if body:
        try:
            root = ET.fromstring(body)
            code = root.findtext("Code") or ""
            message = root.findtext("Message") or ""
        except ET.ParseError:
            pass
    headers = {str(k).lower(): str(v) for k, v in (exc.headers or [])}
    status = int(exc.status_code or 0)
    response: Any = {
        "Error": {"Code": code or str(status), "Message": message},
        "ResponseMetadata": {"HTTPStatusCode": status, "HTTPHeaders": headers},
    }
    return bexc.ClientError(response, operation)


def crt_transfers(
    endpoint_url: str | None,
    region: str,
    credentials: Callable[[], tuple[str, str, str | None]],
    *,
    refreshed: bool = True,
) -> CrtTransfers | None:
    """The CRT path for a drive's endpoint, or None where botocore should carry transfers:
    no endpoint given (AWS itself), `CLOUDDRIVE_TRANSFER=botocore`, or no `awscrt`."""
    if not endpoint_url or os.environ.get(TRANSFER_ENV, "").lower() == "botocore":
        return None
    if importlib.util.find_spec("awscrt") is None:
        return None  # a platform without its wheel: botocore it is
    return CrtTransfers(endpoint_url, region, credentials, refreshed=refreshed)
