"""`S3Remote`: one drive's prefix in one bucket, the one object the other layers use.

It is put together from one class per concept: `listing` (the version listing as the
ledger), `objects` (reads and writes), `multipart` (large uploads and their clean-up),
`content` (is a version the same as a local file) and `bucket` (versioning, lifecycle,
doctor's probes, the server's clock). Errors are translated and retried in `calls`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from clouddrive.ledger.bucket import Bucket
from clouddrive.ledger.calls import RetryPolicy
from clouddrive.ledger.content import Content
from clouddrive.ledger.metadata import register_metadata_codec
from clouddrive.ledger.objects import Objects
from clouddrive.ledger.pages import register_raw_listings

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

__all__ = ["S3Remote"]


class S3Remote(Content, Objects, Bucket):
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
        super().__init__(
            client,
            bucket,
            prefix,
            retry=retry,
            multipart_threshold=multipart_threshold,
            part_size=part_size,
        )
        register_raw_listings(client)
        register_metadata_codec(client)
