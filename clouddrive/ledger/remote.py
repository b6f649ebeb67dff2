"""The S3 side of a drive: the version listing as ledger, conditional writes, atomic reads.

This is the only module (with `embedded`) that talks to boto3. botocore errors become
`clouddrive.errors` here, keeping `__cause__`, and retryable failures (throttling, 5xx,
dropped connections, truncated bodies) are retried here with tenacity and nowhere else.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import boto3
import botocore.exceptions as bexc
import botocore.loaders
import botocore.session
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from s3pathlib.api import S3Path
from tenacity import (
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
    wait_random,
)

from clouddrive import errors
from clouddrive.core.models import RemoteEntry, Skipped
from clouddrive.core.paths import (
    INTERNAL_DIR,
    UnsafeKey,
    internal_owner,
    is_internal,
    key_to_path,
    path_to_key,
)
from clouddrive.core.timeline import Entry, KeyHistory, order
from clouddrive.testing.faults import crash_point

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

__all__ = [
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
    "translate",
]

META_USER = "clouddrive-user"
META_MTIME = "clouddrive-mtime"
META_SHA256 = "clouddrive-sha256"
META_PARENT = "clouddrive-parent"
META_CONFLICT_OF = "clouddrive-conflict-of"

_CHUNK = 1024 * 1024
T = TypeVar("T")

_TRANSIENT_CODES = {
    "SlowDown",
    "Throttling",
    "ThrottlingException",
    "RequestTimeout",
    "RequestTimeTooSkewed",
    "InternalError",
    "ServiceUnavailable",
    "RequestLimitExceeded",
    "TooManyRequestsException",
}
_CREDENTIAL_CODES = {
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "ExpiredToken",
    "InvalidToken",
    "TokenRefreshRequired",
}
_NETWORK_ERRORS: tuple[type[Exception], ...] = (
    bexc.EndpointConnectionError,
    bexc.ConnectionClosedError,
    bexc.ReadTimeoutError,
    bexc.ConnectTimeoutError,
    bexc.ResponseStreamingError,
    bexc.IncompleteReadError,
    bexc.HTTPClientError,
)


def translate(exc: BaseException, *, bucket: str, what: str) -> errors.CloudDriveError:
    """A botocore (or network) failure as a clouddrive error with one clear line."""
    if isinstance(exc, errors.CloudDriveError):
        return exc
    if isinstance(exc, bexc.NoCredentialsError | bexc.PartialCredentialsError):
        return errors.CredentialsError(
            "no AWS credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, "
            "or choose a profile with --profile"
        )
    if isinstance(exc, bexc.ProfileNotFound):
        return errors.CredentialsError(f"AWS profile not found: {exc.kwargs.get('profile')}")
    if isinstance(exc, bexc.ClientError):
        err = exc.response.get("Error", {})
        code = str(err.get("Code", ""))
        message = str(err.get("Message", "")) or code
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
        if code in ("NoSuchBucket",):
            return errors.BucketNotFound(f"bucket '{bucket}' does not exist")
        if code in ("PreconditionFailed", "ConditionalRequestConflict") or status in (412, 409):
            return errors.PreconditionFailed(f"{what}: another writer changed it first")
        if code in _CREDENTIAL_CODES:
            return errors.CredentialsError(f"S3 rejected the credentials ({code}) during {what}")
        if code in ("AccessDenied", "AllAccessDisabled") or status == 403:
            return errors.AccessDenied(f"access denied to bucket '{bucket}' during {what}")
        if code in _TRANSIENT_CODES or status >= 500 or status == 429:
            return errors.TransientRemoteError(f"S3 is unavailable during {what}: {code or status}")
        return errors.RemoteError(f"S3 refused {what}: {code}: {message}")
    if isinstance(exc, _NETWORK_ERRORS):
        return errors.TransientRemoteError(f"connection to S3 failed during {what}: {exc}")
    if isinstance(exc, bexc.BotoCoreError):
        return errors.RemoteError(f"S3 client error during {what}: {exc}")
    if isinstance(exc, OSError) and not isinstance(exc, FileNotFoundError | PermissionError):
        return errors.TransientRemoteError(f"connection to S3 failed during {what}: {exc}")
    raise exc


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to retry a retryable failure; one instance per remote."""

    attempts: int = 6
    initial: float = 0.2
    maximum: float = 8.0


@dataclass(frozen=True)
class PutResult:
    version_id: str
    etag: str


@dataclass(frozen=True)
class DownloadResult:
    size: int
    sha256: str
    etag: str
    metadata: dict[str, str]

    @property
    def mtime_ns(self) -> int | None:
        raw = self.metadata.get(META_MTIME)
        return int(raw) if raw and raw.isdigit() else None


@dataclass(frozen=True)
class RemoteListing:
    """The newest entry of every usable key, and the keys that were left out (with why)."""

    entries: dict[str, RemoteEntry]
    skipped: list[Skipped]
    #: path -> every version id (and delete marker id) the listing showed for its key: a
    #: base whose version is not among them points at history rewritten from outside
    history: dict[str, frozenset[str]] = field(default_factory=dict)


_ENTRY_TAG = re.compile(rb"<(Version|DeleteMarker)[\s>]")
_ORDER_FIELD = "ClouddriveEntryOrder"


def _capture_entry_order(
    response_dict: dict[str, Any], customized_response_dict: dict[str, Any], **_: Any
) -> None:
    """botocore hook (before-parse.s3.ListObjectVersions): keep the listing's true order.

    S3 lists a key's versions and delete markers interleaved, newest first; botocore parses
    them into two separate lists. This records the sequence of element kinds ("V"/"M") so
    the two lists, each still in document order, can be merged back exactly.
    """
    body = response_dict.get("body")
    if int(response_dict.get("status_code", 0) or 0) != 200 or not isinstance(body, bytes):
        return
    kinds = _ENTRY_TAG.findall(body)
    customized_response_dict[_ORDER_FIELD] = "".join(
        "V" if kind == b"Version" else "M" for kind in kinds
    )


def _etag(raw: str | None) -> str:
    return (raw or "").strip()


def _simple_md5(etag: str) -> str | None:
    """The MD5 an ETag stands for, if it is a plain single-part one."""
    value = etag.strip('"')
    if len(value) == 32 and all(c in "0123456789abcdef" for c in value.lower()):
        return value.lower()
    return None


class S3Remote:
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
        self._conditional_delete = True
        self._lock = threading.Lock()
        with contextlib.suppress(AttributeError):  # a stand-in client without events
            client.meta.events.register(
                "before-parse.s3.ListObjectVersions",
                _capture_entry_order,
                unique_id="clouddrive-entry-order",
            )

    # -- plumbing ----------------------------------------------------------------------------

    @property
    def uri(self) -> str:
        return str(S3Path(self.bucket, self.prefix + "/" if self.prefix else "").uri)

    def key(self, path: str) -> str:
        return path_to_key(path, self.prefix)

    def _call(self, what: str, fn: Callable[[], T]) -> T:
        """Run `fn`, translating errors; retry the retryable ones with backoff."""

        def attempt() -> T:
            try:
                return fn()
            except Exception as exc:
                translated = translate(exc, bucket=self.bucket, what=what)
                if translated is exc:
                    raise
                raise translated from exc

        retrying = Retrying(
            retry=retry_if_exception_type(errors.TransientRemoteError),
            stop=stop_after_attempt(self.retry.attempts),
            wait=wait_exponential(multiplier=self.retry.initial, max=self.retry.maximum)
            + wait_random(0, self.retry.initial),
            reraise=True,
        )
        return retrying(attempt)

    # -- bucket checks -------------------------------------------------------------------------

    def versioning_status(self) -> str:
        """'Enabled', 'Suspended' or '' (never enabled)."""
        resp = self._call(
            "reading the bucket's versioning",
            lambda: self.client.get_bucket_versioning(Bucket=self.bucket),
        )
        return str(resp.get("Status", ""))

    def require_versioning(self) -> None:
        status = self.versioning_status()
        if status != "Enabled":
            state = "suspended" if status == "Suspended" else "not enabled"
            raise errors.VersioningNotEnabled(
                f"versioning is {state} on bucket '{self.bucket}': deletes would destroy data; "
                "enable it (clouddrive init asks to) and try again"
            )

    def enable_versioning(self) -> None:
        self._call(
            "enabling versioning",
            lambda: self.client.put_bucket_versioning(
                Bucket=self.bucket, VersioningConfiguration={"Status": "Enabled"}
            ),
        )

    def bucket_exists(self) -> None:
        """Raise BucketNotFound / CredentialsError / AccessDenied if the bucket is not usable."""
        try:
            self._call("opening the bucket", lambda: self.client.head_bucket(Bucket=self.bucket))
        except errors.RemoteError as exc:
            cause = exc.__cause__
            if isinstance(cause, bexc.ClientError):
                code = str(cause.response.get("Error", {}).get("Code", ""))
                if code in ("404", "NoSuchBucket", "NotFound"):
                    raise errors.BucketNotFound(f"bucket '{self.bucket}' does not exist") from cause
            if isinstance(exc, errors.AccessDenied):
                # HEAD has no error body and needs an unscoped s3:ListBucket, which a
                # prefix-scoped policy lacks: a GET tells a missing bucket or rejected keys
                # apart, and passes for a user who may read the bucket's versioning.
                self.versioning_status()
                return
            raise

    # -- the ledger ----------------------------------------------------------------------------

    def _pages(self, prefix: str, page_size: int | None = None) -> Iterator[dict[str, Any]]:
        """Every page of the version listing; one failed page fails the whole listing."""
        kwargs: dict[str, Any] = {"Bucket": self.bucket, "Prefix": prefix}
        if page_size or self.page_size:
            kwargs["MaxKeys"] = page_size or self.page_size
        page_no = 0
        while True:
            page_no += 1
            page = self._list_page(
                prefix, page_no, functools.partial(self.client.list_object_versions, **kwargs)
            )
            yield dict(page)
            if not page.get("IsTruncated"):
                return
            crash_point("mid-listing")
            kwargs["KeyMarker"] = page.get("NextKeyMarker", "")
            kwargs["VersionIdMarker"] = page.get("NextVersionIdMarker", "")

    def _list_page(self, prefix: str, page_no: int, call: Callable[[], Any]) -> Any:
        """One listing page; a failure that outlasts the retries fails the whole listing."""
        try:
            return self._call(f"listing {prefix or 'the bucket'} (page {page_no})", call)
        except (errors.CredentialsError, errors.BucketNotFound, errors.AccessDenied):
            raise
        except errors.RemoteError as exc:
            raise errors.ListingFailed(
                f"listing s3://{self.bucket}/{prefix} failed on page {page_no}: {exc}; "
                "nothing was changed"
            ) from exc

    def _object_keys(self, prefix: str, start_after: str | None = None) -> Iterator[str]:
        """Every current key under `prefix` (ListObjectsV2), in key order."""
        kwargs: dict[str, Any] = {"Bucket": self.bucket, "Prefix": prefix}
        if start_after:
            kwargs["StartAfter"] = start_after
        if self.page_size:
            kwargs["MaxKeys"] = self.page_size
        page_no = 0
        while True:
            page_no += 1
            page = self._list_page(
                prefix, page_no, functools.partial(self.client.list_objects_v2, **kwargs)
            )
            for item in page.get("Contents", []) or []:
                yield str(item["Key"])
            token = page.get("NextContinuationToken")
            if not page.get("IsTruncated") or not token:
                return
            kwargs["ContinuationToken"] = token
            kwargs.pop("StartAfter", None)

    @staticmethod
    def _latest_in(page: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any], bool]]:
        for item in page.get("Versions", []) or []:
            if item.get("IsLatest"):
                yield item["Key"], item, False
        for item in page.get("DeleteMarkers", []) or []:
            if item.get("IsLatest"):
                yield item["Key"], item, True

    def _entry(self, path: str, key: str, item: dict[str, Any], marker: bool) -> RemoteEntry:
        return RemoteEntry(
            path=path,
            key=key,
            version_id=str(item.get("VersionId") or "null"),
            is_delete_marker=marker,
            last_modified=item["LastModified"],
            etag=None if marker else _etag(item.get("ETag")),
            size=0 if marker else int(item.get("Size", 0)),
        )

    def list_latest(self) -> RemoteListing:
        """One paginated pass over the prefix: the newest entry of every key."""
        entries: dict[str, RemoteEntry] = {}
        skipped: list[Skipped] = []
        list_prefix = self.prefix + "/" if self.prefix else ""
        pages = 0
        ids: dict[str, set[str]] = {}
        for page in self._pages(list_prefix):
            for item in (page.get("Versions") or []) + (page.get("DeleteMarkers") or []):
                ids.setdefault(item["Key"], set()).add(str(item.get("VersionId") or "null"))
            for key, item, marker in self._latest_in(page):
                if key.endswith("/") and (marker or int(item.get("Size", 0)) == 0):
                    continue  # a "folder" placeholder made by a console
                try:
                    path = key_to_path(key, self.prefix)
                except UnsafeKey as exc:
                    top = key[len(list_prefix) :].split("/", 1)[0]
                    if not is_internal(top):
                        skipped.append(Skipped(key[len(list_prefix) :] or key, exc.reason))
                    continue
                if is_internal(path):
                    continue
                entries[path] = self._entry(path, key, item, marker)
            pages += 1
        if pages > 1:
            self._fill_gaps(entries, list_prefix)
        history = {p: frozenset(ids[e.key]) for p, e in entries.items() if e.key in ids}
        return RemoteListing(entries, skipped, history)

    def _fill_gaps(self, entries: dict[str, RemoteEntry], list_prefix: str) -> None:
        """Re-read every current key that a paginated version listing left out.

        Some servers drop keys when they paginate version listings (SeaweedFS 4.48 loses
        'e' between pages when 'e (conflict ...)' sits beside it). The object listing is a
        second, independent opinion: any current key it knows and the versions did not
        show is re-read on its own. A missed delete marker is caught by `recheck` instead.
        """
        known = {entry.key for entry in entries.values()}
        for key in self._object_keys(list_prefix):
            if key in known or key.endswith("/"):
                continue
            try:
                path = key_to_path(key, self.prefix)
            except UnsafeKey:
                continue  # the version listing reports unsafe keys it sees
            if not is_internal(path) and (entry := self.latest(path)) is not None:
                entries[path] = entry

    def recheck(self, paths: Iterable[str]) -> dict[str, RemoteEntry]:
        """Re-read keys one by one (the newest entry of each that exists).

        Before a path is called 'vanished' (a base, but no entry in the listing), its key is
        read again on its own: a listing that silently dropped it must not stop the drive.
        """
        found = {}
        for path in paths:
            entry = self.latest(path)
            if entry is not None:
                found[path] = entry
        return found

    def latest(self, path: str) -> RemoteEntry | None:
        """Re-read the newest entry of one key (after a lost race, or a gap in a listing)."""
        key = self.key(path)
        found: RemoteEntry | None = None
        for page in self._pages(key, page_size=1000):
            for item_key, item, marker in self._latest_in(page):
                if item_key == key:
                    found = self._entry(path, key, item, marker)
            if found is not None:
                break
        return found

    @staticmethod
    def _in_order(page: dict[str, Any]) -> Iterator[dict[str, Any]]:
        """A page's versions and delete markers (marked `IsDeleteMarker`) in document order.

        The order comes from `_capture_entry_order`; without it (a client whose responses
        bypassed the hook, or a mismatch), versions come first, then markers.
        """
        versions = [{**v, "IsDeleteMarker": False} for v in page.get("Versions", []) or []]
        markers = [{**m, "IsDeleteMarker": True} for m in page.get("DeleteMarkers", []) or []]
        kinds = str(page.get(_ORDER_FIELD, ""))
        if len(kinds) != len(versions) + len(markers) or kinds.count("V") != len(versions):
            yield from versions
            yield from markers
            return
        vi, mi = iter(versions), iter(markers)
        for kind in kinds:
            yield next(vi) if kind == "V" else next(mi)

    @staticmethod
    def _ordered(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """One key's raw items newest first: by time, ties in listing order, latest first."""
        by_time = sorted(items, key=lambda i: i["LastModified"], reverse=True)
        return sorted(by_time, key=lambda i: not i.get("IsLatest"))

    def versions(self, path: str) -> list[dict[str, Any]]:
        """Every version and delete marker of one key, newest first (raw listing items).

        Versions and markers come in the listing's own interleaved order (see
        `_capture_entry_order`), sorted stably by time with the latest entry first; see
        `clouddrive.core.timeline` for what this means on servers that do not interleave.
        """
        key = self.key(path)
        items: list[dict[str, Any]] = []
        for page in self._pages(key):
            items.extend(item for item in self._in_order(page) if item["Key"] == key)
        return self._ordered(items)

    @staticmethod
    def _history_entry(item: dict[str, Any]) -> Entry:
        marker = bool(item["IsDeleteMarker"])
        return Entry(
            version_id=str(item.get("VersionId") or "null"),
            is_delete_marker=marker,
            modified=item["LastModified"],
            is_latest=bool(item.get("IsLatest")),
            size=0 if marker else int(item.get("Size", 0)),
            etag=None if marker else _etag(item.get("ETag")),
        )

    def histories(self, path: str = "") -> Iterator[KeyHistory]:
        """The full history of every key at `path` or under `path/` ("": the whole drive).

        One paginated listing, streamed one key at a time (listings go in key order, so a
        key's entries are together, even across pages), each newest first. Internal keys
        (run records) and console folder placeholders are left out; keys without a safe
        local path come with `unsafe` set (their `path` is then the raw key below the prefix).
        """
        base = self.prefix + "/" if self.prefix else ""
        list_prefix = self.key(path) if path else base
        exact = self.key(path) if path else None

        def wanted(key: str) -> bool:
            return exact is None or key == exact or key.startswith(exact + "/")

        def finish(key: str, items: list[dict[str, Any]]) -> KeyHistory | None:
            if key.endswith("/") and all(
                i["IsDeleteMarker"] or int(i.get("Size", 0)) == 0 for i in items
            ):
                return None  # a "folder" placeholder made by a console
            entries = tuple(order([self._history_entry(i) for i in items]))
            try:
                rel = key_to_path(key, self.prefix)
            except UnsafeKey as exc:
                raw = key[len(base) :] or key
                if is_internal(raw.split("/", 1)[0]):
                    return None
                return KeyHistory(raw, key, entries, unsafe=exc.reason)
            if is_internal(rel):
                return None
            return KeyHistory(rel, key, entries)

        key: str | None = None
        items: list[dict[str, Any]] = []
        for page in self._pages(list_prefix):
            # Grouped per page and sorted by key (UTF-8 order is code point order): some
            # servers (moto) list all versions of a page before all of its markers.
            groups: dict[str, list[dict[str, Any]]] = {}
            for item in self._in_order(page):
                if wanted(item["Key"]):
                    groups.setdefault(item["Key"], []).append(item)
            for page_key in sorted(groups):
                if page_key == key:  # a key continued from the previous page
                    items.extend(groups[page_key])
                    continue
                if key is not None and (done := finish(key, items)) is not None:
                    yield done
                key, items = page_key, groups[page_key]
        if key is not None and (done := finish(key, items)) is not None:
            yield done

    def list_objects(self, relprefix: str, *, start_after: str | None = None) -> list[str]:
        """The current keys under `PREFIX/relprefix` (relative to the prefix, in key order);
        for clouddrive's own objects such as run records. `start_after` is relative too."""
        base = len(self.prefix) + 1 if self.prefix else 0
        after = self.key(start_after) if start_after else None
        return [key[base:] for key in self._object_keys(self.key(relprefix), after)]

    def other_drives(self) -> list[str]:
        """Prefixes of other drives that overlap this one (for `init`): a `.clouddrive/`
        folder at any prefix above this one, or anywhere below it but its own."""
        found: list[str] = []
        parts = self.prefix.split("/") if self.prefix else []
        for i in range(len(parts)):
            above = "/".join(parts[:i])
            if next(iter(self._object_keys(path_to_key(f"{INTERNAL_DIR}/", above))), None):
                found.append(above)
        base = len(self.prefix) + 1 if self.prefix else 0
        for key in self._object_keys(self.key("")):
            owner = internal_owner(key[base:])
            if owner and self.key(owner) not in found:
                found.append(self.key(owner))
        return found

    def content_sha256(self, entry: RemoteEntry) -> str | None:
        """The sha256 recorded in the version's metadata (one HEAD), if clouddrive wrote it."""
        resp = self._call(
            f"reading {entry.path}",
            lambda: self.client.head_object(
                Bucket=self.bucket, Key=entry.key, VersionId=entry.version_id
            ),
        )
        value = resp.get("Metadata", {}).get(META_SHA256)
        return str(value) if value else None

    # -- writes ----------------------------------------------------------------------------

    @staticmethod
    def _conditions(if_match: str | None) -> dict[str, str]:
        return {"IfMatch": if_match} if if_match else {"IfNoneMatch": "*"}

    def upload(
        self,
        path: str,
        source: bytes | Path,
        *,
        metadata: dict[str, str],
        if_match: str | None,
    ) -> PutResult:
        """Put a new version, conditional on the key's current state (If-Match / If-None-Match).

        `source` is the exact content (bytes) or an immutable snapshot file; a lost race raises
        PreconditionFailed.
        """
        key = self.key(path)
        size = len(source) if isinstance(source, bytes) else source.stat().st_size
        if isinstance(source, Path) and size > self.multipart_threshold:
            return self._upload_multipart(key, path, source, size, metadata, if_match)

        def put() -> Any:
            with contextlib.ExitStack() as stack:
                # A snapshot file streams from disk: memory stays bounded per worker.
                body = (
                    source if isinstance(source, bytes) else stack.enter_context(source.open("rb"))
                )
                return self.client.put_object(
                    Bucket=self.bucket,
                    Key=key,
                    Body=body,
                    Metadata=metadata,
                    **self._conditions(if_match),  # type: ignore[arg-type]
                )

        resp = self._call(f"uploading {path}", put)
        return PutResult(str(resp.get("VersionId") or "null"), _etag(resp.get("ETag")))

    def _upload_multipart(
        self,
        key: str,
        path: str,
        source: Path,
        size: int,
        metadata: dict[str, str],
        if_match: str | None,
    ) -> PutResult:
        what = f"uploading {path}"
        created = self._call(
            what,
            lambda: self.client.create_multipart_upload(
                Bucket=self.bucket, Key=key, Metadata=metadata
            ),
        )
        upload_id = created["UploadId"]
        try:
            parts = []
            with source.open("rb") as fh:
                number = 0
                offset = 0
                while offset < size:
                    number += 1
                    fh.seek(offset)
                    chunk = fh.read(self.part_size)
                    part = self._call(
                        f"{what} (part {number})",
                        functools.partial(
                            self.client.upload_part,
                            Bucket=self.bucket,
                            Key=key,
                            UploadId=upload_id,
                            PartNumber=number,
                            Body=chunk,
                        ),
                    )
                    parts.append({"PartNumber": number, "ETag": part["ETag"]})
                    offset += len(chunk)
                    crash_point("mid-multipart")
            resp = self._call(
                what,
                lambda: self.client.complete_multipart_upload(
                    Bucket=self.bucket,
                    Key=key,
                    UploadId=upload_id,
                    MultipartUpload={"Parts": parts},  # type: ignore[typeddict-item]
                    **self._conditions(if_match),  # type: ignore[arg-type]
                ),
            )
        except BaseException:
            with contextlib.suppress(Exception):  # the original failure is what matters
                self.client.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)
            raise
        return PutResult(str(resp.get("VersionId") or "null"), _etag(resp.get("ETag")))

    def delete(self, path: str, *, if_match: str | None) -> str:
        """Put a delete marker (never a version delete); conditional where the server can."""
        key = self.key(path)

        def delete() -> Any:
            if if_match and self._conditional_delete:
                try:
                    return self.client.delete_object(Bucket=self.bucket, Key=key, IfMatch=if_match)
                except bexc.ClientError as exc:
                    code = str(exc.response.get("Error", {}).get("Code", ""))
                    if code not in ("NotImplemented", "InvalidArgument", "InvalidRequest"):
                        raise
                    with self._lock:
                        self._conditional_delete = False
            return self.client.delete_object(Bucket=self.bucket, Key=key)

        resp = self._call(f"deleting {path}", delete)
        return str(resp.get("VersionId") or "null")

    def put_bytes(self, relkey: str, body: bytes, content_type: str = "application/json") -> None:
        """An internal object under PREFIX/ (run records); unconditional."""
        key = self.key(relkey)
        self._call(
            f"writing {relkey}",
            lambda: self.client.put_object(
                Bucket=self.bucket, Key=key, Body=body, ContentType=content_type
            ),
        )

    # -- history: copy forward, lifecycle -------------------------------------------------

    def head_version(self, path: str, version_id: str) -> dict[str, Any]:
        """HEAD of one version: its Metadata, ContentLength, ETag, LastModified."""
        key = self.key(path)
        resp = self._call(
            f"reading {path}",
            lambda: self.client.head_object(Bucket=self.bucket, Key=key, VersionId=version_id),
        )
        return dict(resp)

    def copy_forward(
        self, path: str, version_id: str, *, size: int, metadata: dict[str, str] | None = None
    ) -> PutResult:
        """Make an old version current again by copying it onto its own key (append-only).

        Nothing is removed: the versions (and delete markers) in between stay in history.
        Objects over `copy_limit` (S3's 5 GiB single-copy limit) go by multipart copy.
        `metadata` replaces the copy's metadata (to name who restored it); None keeps it.
        """
        key = self.key(path)
        source: Any = {"Bucket": self.bucket, "Key": key, "VersionId": version_id}
        extra: dict[str, Any] = {}
        if metadata is not None:
            extra = {"Metadata": metadata, "MetadataDirective": "REPLACE"}
        if size <= self.copy_limit:
            resp = self._call(
                f"restoring {path}",
                lambda: self.client.copy_object(
                    Bucket=self.bucket, Key=key, CopySource=source, **extra
                ),
            )
            etag = _etag(resp.get("CopyObjectResult", {}).get("ETag"))
            return PutResult(str(resp.get("VersionId") or "null"), etag)
        config = TransferConfig(
            multipart_threshold=self.copy_limit, multipart_chunksize=max(self.part_size, 5 << 20)
        )
        self._call(
            f"restoring {path}",
            lambda: self.client.copy(source, self.bucket, key, ExtraArgs=extra, Config=config),
        )
        latest = self.latest(path)
        if latest is None or latest.is_delete_marker:
            raise errors.RemoteError(f"restoring {path}: the copy did not become current")
        return PutResult(latest.version_id, latest.etag or "")

    def lifecycle_rules(self) -> list[dict[str, Any]]:
        """The bucket's lifecycle rules ([] when it has none)."""
        try:
            resp = self._call(
                "reading the bucket's lifecycle rules",
                lambda: self.client.get_bucket_lifecycle_configuration(Bucket=self.bucket),
            )
        except errors.RemoteError as exc:
            cause = exc.__cause__
            if isinstance(cause, bexc.ClientError) and cause.response.get("Error", {}).get(
                "Code"
            ) in ("NoSuchLifecycleConfiguration", "NoSuchLifecycle"):
                return []
            raise
        return [dict(rule) for rule in resp.get("Rules", [])]

    def put_lifecycle_rules(self, rules: list[dict[str, Any]]) -> None:
        """Replace the bucket's whole lifecycle configuration (an empty list removes it)."""
        if not rules:
            self._call(
                "removing the bucket's lifecycle rules",
                lambda: self.client.delete_bucket_lifecycle(Bucket=self.bucket),
            )
            return
        self._call(
            "writing the bucket's lifecycle rules",
            lambda: self.client.put_bucket_lifecycle_configuration(
                Bucket=self.bucket,
                LifecycleConfiguration={"Rules": rules},  # type: ignore[typeddict-item]
            ),
        )

    # -- health: the whole lifecycle document, doctor probes, the server's clock ------------

    def lifecycle_document(self) -> dict[str, Any]:
        """The bucket's lifecycle configuration as one document, to merge into and write back.

        `Rules` (empty when the bucket has none) and, when the server reports it (AWS does),
        `TransitionDefaultMinimumObjectSize`, so that writing the document back changes
        nothing but the rules.
        """
        try:
            resp = self._call(
                "reading the bucket's lifecycle rules",
                lambda: self.client.get_bucket_lifecycle_configuration(Bucket=self.bucket),
            )
        except errors.RemoteError as exc:
            if _code_of(exc.__cause__) in ("NoSuchLifecycleConfiguration", "NoSuchLifecycle"):
                return {"Rules": []}
            raise
        document: dict[str, Any] = {"Rules": [dict(rule) for rule in resp.get("Rules", [])]}
        minimum = resp.get("TransitionDefaultMinimumObjectSize")
        if minimum:
            document["TransitionDefaultMinimumObjectSize"] = minimum
        return document

    def put_lifecycle_document(self, document: dict[str, Any]) -> None:
        """Write a whole lifecycle configuration (no rules: the configuration is removed)."""
        rules = list(document.get("Rules", []))
        if not rules:
            self._call(
                "removing the bucket's lifecycle rules",
                lambda: self.client.delete_bucket_lifecycle(Bucket=self.bucket),
            )
            return
        extra: dict[str, Any] = {}
        if document.get("TransitionDefaultMinimumObjectSize"):
            extra["TransitionDefaultMinimumObjectSize"] = document[
                "TransitionDefaultMinimumObjectSize"
            ]
        self._call(
            "writing the bucket's lifecycle rules",
            lambda: self.client.put_bucket_lifecycle_configuration(
                Bucket=self.bucket,
                LifecycleConfiguration={"Rules": rules},
                **extra,
            ),
        )

    def remove_probe(self, relkey: str) -> bool:
        """Delete every version and marker of one of doctor's scratch keys.

        Only keys under `PREFIX/.clouddrive/doctor/` (a probe is not history). Returns False
        when S3 refuses version deletes (a user policy without s3:DeleteObjectVersion): the
        probe's versions then stay until the lifecycle rule for probes removes them.
        """
        if not relkey.startswith(f"{INTERNAL_DIR}/doctor/"):
            raise ValueError(f"not a doctor probe: {relkey}")
        key = self.key(relkey)
        for item in self.versions(relkey):
            version_id = str(item.get("VersionId") or "null")
            try:
                self._call(
                    f"removing the probe {relkey}",
                    functools.partial(
                        self.client.delete_object,
                        Bucket=self.bucket,
                        Key=key,
                        VersionId=version_id,
                    ),
                )
            except errors.AccessDenied:
                return False
        return True

    def server_clock(self) -> ServerClock:
        """The server's `Date` header against this machine's clock, from one HEAD request.

        An error response (say, a signature refused for skew) carries a Date as well.
        """
        before = time.time()
        meta: Any
        try:
            meta = self.client.head_bucket(Bucket=self.bucket).get("ResponseMetadata", {})
        except bexc.ClientError as exc:
            meta = exc.response.get("ResponseMetadata", {})
        except Exception as exc:
            raise translate(exc, bucket=self.bucket, what="reading the server's clock") from exc
        after = time.time()
        raw = meta.get("HTTPHeaders", {}).get("date")
        server: datetime | None = None
        if raw:
            with contextlib.suppress(TypeError, ValueError):
                server = parsedate_to_datetime(str(raw)).astimezone(UTC)
        local = datetime.fromtimestamp((before + after) / 2, UTC)
        return ServerClock(server=server, local=local, round_trip=after - before)

    # -- reads -----------------------------------------------------------------------------

    def download(self, entry: RemoteEntry, dest: Path) -> DownloadResult:
        """Stream exactly `entry`'s version into `dest`, checking its size and hash.

        A truncated or corrupt body is a retryable failure: `dest` is rewritten from scratch.
        """
        what = f"downloading {entry.path}"

        def fetch() -> DownloadResult:
            resp = self.client.get_object(
                Bucket=self.bucket, Key=entry.key, VersionId=entry.version_id
            )
            metadata = {str(k): str(v) for k, v in resp.get("Metadata", {}).items()}
            etag = _etag(resp.get("ETag"))
            sha = hashlib.sha256()
            md5 = hashlib.md5(usedforsecurity=False)
            size = 0
            body = resp["Body"]
            try:
                with dest.open("wb") as fh:
                    for chunk in iter(lambda: body.read(_CHUNK), b""):
                        sha.update(chunk)
                        md5.update(chunk)
                        fh.write(chunk)
                        size += len(chunk)
                    fh.flush()
                    os.fsync(fh.fileno())
            finally:
                body.close()
            expected_size = int(resp.get("ContentLength", size))
            if size != expected_size or size != entry.size:
                raise errors.TransientRemoteError(
                    f"{what}: got {size} bytes of {entry.size} (truncated body)"
                )
            digest = sha.hexdigest()
            want_sha = metadata.get(META_SHA256)
            want_md5 = _simple_md5(etag)
            if (want_sha and want_sha != digest) or (
                not want_sha and want_md5 and want_md5 != md5.hexdigest()
            ):
                raise errors.TransientRemoteError(f"{what}: content does not match its hash")
            return DownloadResult(size=size, sha256=digest, etag=etag, metadata=metadata)

        return self._call(what, fetch)

    def read_bytes(self, relkey: str) -> bytes:
        key = self.key(relkey)

        def fetch() -> bytes:
            return bytes(self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read())

        return self._call(f"reading {relkey}", fetch)


def _code_of(exc: BaseException | None) -> str:
    """The S3 error code of a botocore ClientError ('' for anything else)."""
    if isinstance(exc, bexc.ClientError):
        return str(exc.response.get("Error", {}).get("Code", ""))
    return ""


@dataclass(frozen=True)
class ServerClock:
    """The server's Date (None if it sent none), this machine's time at the request's middle."""

    server: datetime | None
    local: datetime
    round_trip: float

    @property
    def skew(self) -> float | None:
        """Seconds the server is ahead of this machine (the Date header has whole seconds)."""
        return None if self.server is None else (self.server - self.local).total_seconds()


@dataclass(frozen=True)
class CredentialSource:
    """Where the standard AWS chain found credentials, in botocore's words (`method`:
    env, shared-credentials-file, config-file, iam-role, container-role, sso, ...)."""

    method: str
    access_key: str


def credential_source(profile: str | None = None) -> CredentialSource | None:
    """Which credentials the AWS chain would use (None: none found). Asks nothing of S3."""
    try:
        credentials = boto3.Session(profile_name=profile).get_credentials()
        if credentials is None:
            return None
        frozen = credentials.get_frozen_credentials()
    except Exception as exc:
        translated = translate(exc, bucket="", what="looking for AWS credentials")
        raise translated from exc
    return CredentialSource(str(credentials.method or "unknown"), str(frozen.access_key or ""))


@functools.cache
def _shared_loader() -> botocore.loaders.Loader:
    """One botocore data loader for every client this process makes: the S3 service model
    is parsed once (about half of what making a client costs), not per drive."""
    return botocore.loaders.create_loader()


def connect(
    bucket: str,
    prefix: str,
    *,
    endpoint_url: str | None = None,
    profile: str | None = None,
    region: str | None = None,
    access_key: str | None = None,
    secret_key: str | None = None,
    max_connections: int = 16,
    retry: RetryPolicy | None = None,
) -> S3Remote:
    """An S3Remote with credentials from the standard AWS chain (or explicit embedded keys).

    botocore's own retries are switched off so that retrying lives in one place.
    """
    try:
        core = botocore.session.Session()
        core.register_component("data_loader", _shared_loader())
        session = boto3.Session(
            botocore_session=core,
            profile_name=profile,
            region_name=region,
            aws_access_key_id=access_key,
            aws_secret_access_key=secret_key,
        )
        if session.get_credentials() is None:
            raise bexc.NoCredentialsError()
        config = Config(
            max_pool_connections=max_connections,
            retries={"total_max_attempts": 1, "mode": "standard"},
            connect_timeout=10,
            read_timeout=60,
            s3={"addressing_style": "path"} if endpoint_url else None,
        )
        client = session.client(
            "s3",
            endpoint_url=endpoint_url,
            config=config,
            region_name=region or session.region_name or "us-east-1",
        )
    except Exception as exc:
        translated = translate(exc, bucket=bucket, what="connecting to S3")
        raise translated from exc
    return S3Remote(client, bucket, prefix, retry=retry)
