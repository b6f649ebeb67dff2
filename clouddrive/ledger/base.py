"""What every part of `S3Remote` shares: the client, the bucket and prefix, the settings.

The remote is put together from one class per concept (listing, objects, multipart
uploads, content comparison, bucket administration); each builds on this one.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from clouddrive.core.paths import path_to_key
from clouddrive.ledger.calls import RetryPolicy, call

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

    from clouddrive.ledger.crt import CrtTransfers

__all__ = [
    "META_CONFLICT_OF",
    "META_MTIME",
    "META_PARENT",
    "META_SHA256",
    "META_USER",
    "PutResult",
    "RemoteBase",
    "etag_of",
]

META_USER = "clouddrive-user"
META_MTIME = "clouddrive-mtime"
META_SHA256 = "clouddrive-sha256"
META_PARENT = "clouddrive-parent"
META_CONFLICT_OF = "clouddrive-conflict-of"

T = TypeVar("T")


@dataclass(frozen=True)
class PutResult:
    version_id: str
    etag: str


def etag_of(raw: str | None) -> str:
    """An ETag as S3 sent it (quotes kept), '' when there is none."""
    return (raw or "").strip()


class RemoteBase:
    """One drive's prefix in one bucket. Thread-safe: one boto3 client shared by workers."""

    def __init__(
        self,
        client: S3Client,
        bucket: str,
        prefix: str,
        *,
        retry: RetryPolicy | None = None,
        multipart_threshold: int = 64 * 1024 * 1024,
        part_size: int = 16 * 1024 * 1024,
    ) -> None:
        self.client = client
        self.bucket = bucket
        self.prefix = prefix
        self.retry = retry or RetryPolicy()
        self.multipart_threshold = multipart_threshold
        self.part_size = part_size
        self.copy_limit = 5 * 1024**3  #: larger copies go by multipart copy
        self.page_size: int | None = None  #: MaxKeys per listing page (None: the server's 1000)
        #: where open multipart uploads are remembered (None: nowhere), so that a killed
        #: run's upload is aborted by the next one (see `multipart.py`)
        self.upload_journal: Path | None = None
        #: small GETs and PUTs through the AWS Common Runtime (None: all through botocore;
        #: see `crt.py` for when and why)
        self.crt: CrtTransfers | None = None
        #: objects up to this size go through `crt` when it is set; larger ones stream
        self.crt_limit = 8 * 1024 * 1024
        self._conditional_delete = True
        self._lock = threading.Lock()

    @property
    def uri(self) -> str:
        # an f-string, not s3pathlib: importing that costs every command 0.1-0.2 s
        return f"s3://{self.bucket}/{self.prefix}/" if self.prefix else f"s3://{self.bucket}/"

    def key(self, path: str) -> str:
        return path_to_key(path, self.prefix)

    @staticmethod
    def _conditions(if_match: str | None) -> dict[str, str]:
        """A write's condition: the key is still `if_match`, or (None) still absent."""
        return {"IfMatch": if_match} if if_match else {"IfNoneMatch": "*"}

    def _call(self, what: str, fn: Callable[[], T]) -> T:
        """Run `fn`, translating errors; retry the retryable ones with backoff."""
        return call(what, fn, bucket=self.bucket, policy=self.retry)
