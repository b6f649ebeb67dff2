"""The S3 side: the version listing as the ledger, object reads and writes, bucket calls.

S3 errors are translated and retried here (`calls`) and nowhere else. Other layers use
`S3Remote` (made by `connect`) and the names below.
"""

from clouddrive.ledger.base import (
    META_CONFLICT_OF,
    META_MTIME,
    META_PARENT,
    META_SHA256,
    META_USER,
    PutResult,
)
from clouddrive.ledger.bodies import DownloadResult
from clouddrive.ledger.bucket import ServerClock
from clouddrive.ledger.calls import RetryPolicy, error_code, translate
from clouddrive.ledger.connect import CredentialSource, connect, credential_source
from clouddrive.ledger.content import multipart_etag
from clouddrive.ledger.crt import CRT_BEFORE_CALL
from clouddrive.ledger.listing import RemoteListing
from clouddrive.ledger.remote import S3Remote

__all__ = [
    "CRT_BEFORE_CALL",
    "META_CONFLICT_OF",
    "META_MTIME",
    "META_PARENT",
    "META_SHA256",
    "META_USER",
    "CredentialSource",
    "DownloadResult",
    "PutResult",
    "RemoteListing",
    "RetryPolicy",
    "S3Remote",
    "ServerClock",
    "connect",
    "credential_source",
    "error_code",
    "multipart_etag",
    "translate",
]
