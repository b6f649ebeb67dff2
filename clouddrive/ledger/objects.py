"""Object reads and writes: conditional uploads, checked downloads, delete markers, copies.

Every write is append-only (a new version or a delete marker, never a version delete) and
conditional on the key's state where the server can; every download is checked against
its size and hash before anyone may move it into place.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from clouddrive import errors
from clouddrive.core.models import RemoteEntry
from clouddrive.ledger.base import PutResult, etag_of
from clouddrive.ledger.bodies import (
    CHUNK,
    HASH_BESIDE_FROM,
    BodyCheck,
    DownloadResult,
    local_writes,
    simple_md5,
)
from clouddrive.ledger.calls import error_code
from clouddrive.ledger.crt import CRT_BEFORE_CALL, CRT_MOVED, CrtPending
from clouddrive.ledger.listing import Listing
from clouddrive.ledger.metadata import encode_value
from clouddrive.ledger.multipart import Multipart
from clouddrive.ledger.pending import PendingDownload, PendingUpload

__all__ = ["DownloadResult", "Objects", "simple_md5"]

#: While a large download is written, the disk is asked to start writing what has arrived
#: every this many bytes, so the fsync before it is moved into place (which must not be
#: skipped: a file must not come back empty after a power cut while its base says it is in
#: sync; `clouddrive.local.durable`) waits for the last stretch only, not the whole file
#: (512 MiB: 1.5 s less).
_WRITE_BACK_EVERY = 32 * 1024 * 1024


def _start_write_back(fh: IO[bytes], start: int, end: int) -> int:
    """Start (not wait for) the write-back of bytes `start`..`end` of `fh`; the new start.
    `POSIX_FADV_DONTNEED` starts write-back of dirty pages on Linux and drops the clean
    ones from the cache (this data is not read again); elsewhere it does nothing."""
    if hasattr(os, "posix_fadvise"):
        fh.flush()
        os.posix_fadvise(fh.fileno(), start, end - start, os.POSIX_FADV_DONTNEED)
    return end


def _write_chunk(fh: IO[bytes], chunk: bytes) -> None:
    """One chunk of a download onto the local disk (a seam for disk-full tests)."""
    fh.write(chunk)


class Objects(Multipart, Listing):
    """Putting, fetching, deleting and copying objects of the prefix."""

    # -- writes ----------------------------------------------------------------------------

    def upload(
        self,
        path: str,
        source: bytes | Path,
        *,
        metadata: dict[str, str],
        if_match: str | None,
        expect_sha256: str | None = None,
        size: int | None = None,
    ) -> PutResult:
        """Put a new version, conditional on the key's current state (If-Match / If-None-Match).

        `source` is the exact content (bytes) or an immutable snapshot file; a lost race raises
        PreconditionFailed. With `expect_sha256` (and its planned `size`), `source` may be a
        file that can still change (the user's own): it then goes in parts, hashed as read,
        and is aborted before it lands if it is not those bytes (`SourceChanged`), since a
        single PUT cannot be taken back once sent.
        """
        key = self.key(path)
        actual = len(source) if isinstance(source, bytes) else source.stat().st_size
        if isinstance(source, Path) and (
            expect_sha256 is not None or actual > self.multipart_threshold
        ):
            planned = actual if size is None else size
            return self._unless_refused_as_a_folder(
                path,
                if_match,
                lambda conditions: self._upload_multipart(
                    key, path, source, planned, metadata, conditions, expect_sha256
                ),
            )

        def put(conditions: dict[str, str]) -> PutResult:
            def send() -> PutResult:
                if isinstance(source, bytes) and self._by_crt(actual, metadata):
                    sent = self._start_crt_put(key, source, metadata, conditions)
                    return PendingUpload(self, key, actual, sent).finish()
                with contextlib.ExitStack() as stack:
                    # A snapshot file streams from disk: memory stays bounded per worker.
                    body = (
                        source
                        if isinstance(source, bytes)
                        else stack.enter_context(source.open("rb"))
                    )
                    resp = self.client.put_object(
                        Bucket=self.bucket,
                        Key=key,
                        Body=body,
                        Metadata=metadata,
                        **conditions,  # type: ignore[arg-type]
                    )
                return PutResult(str(resp.get("VersionId") or "null"), etag_of(resp.get("ETag")))

            return self._call(f"uploading {path}", send)

        return self._unless_refused_as_a_folder(path, if_match, put)

    def _unless_refused_as_a_folder(
        self, path: str, if_match: str | None, write: Callable[[dict[str, str]], PutResult]
    ) -> PutResult:
        """`write` under the key's condition; if SeaweedFS refused `If-None-Match: *` only
        because the key is also a folder (`_refused_as_a_folder`), once more without it."""
        try:
            return write(self._conditions(if_match))
        except errors.PreconditionFailed:
            if if_match is not None or not self._refused_as_a_folder(path):
                raise
            return write({})

    def _refused_as_a_folder(self, path: str) -> bool:
        """Whether a 412 to `If-None-Match: *` is SeaweedFS taking the key for a folder, not a
        lost race: the key has no current object, and keys (even deleted ones) lie under
        `path/`. Then the new file may go up unconditionally: a writer landing in between
        would only add a version beside ours, in history, never overwrite one unseen."""
        current = self.latest(path)
        if current is not None and not current.is_delete_marker:
            return False  # a real race: someone else created the file
        below = self._call(
            f"reading {path}/",
            lambda: self.client.list_object_versions(
                Bucket=self.bucket, Prefix=self.key(path) + "/", MaxKeys=1
            ),
        )
        return bool(below.get("Versions") or below.get("DeleteMarkers"))

    def delete(self, path: str, *, if_match: str | None) -> str:
        """Put a delete marker (never a version delete); conditional where the server can."""
        key = self.key(path)

        def delete() -> Any:
            if if_match and self._conditional_delete:
                try:
                    return self.client.delete_object(Bucket=self.bucket, Key=key, IfMatch=if_match)
                except Exception as exc:
                    if error_code(exc) not in (
                        "NotImplemented",
                        "InvalidArgument",
                        "InvalidRequest",
                    ):
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

    def copy_forward(
        self,
        path: str,
        version_id: str,
        *,
        size: int,
        metadata: dict[str, str] | None = None,
        if_match: str | None = None,
        if_none_match: bool = False,
    ) -> PutResult:
        """Make an old version current again by copying it onto its own key (append-only).

        Nothing is removed: the versions (and delete markers) in between stay in history.
        Objects over `copy_limit` (S3's 5 GiB single-copy limit) go by multipart copy, whose
        new version id comes from CompleteMultipartUpload's answer (never a later listing:
        that may name another writer's version). `metadata` replaces the copy's metadata (to
        name who restored it); None keeps it. `if_match` (an ETag) / `if_none_match`: the
        copy lands only if the key is still that (or has no current object); a server that
        honours them (AWS, SeaweedFS; moto ignores them on CopyObject) raises
        PreconditionFailed, so callers check the key's versions afterwards as well.
        """
        key = self.key(path)
        source: Any = {"Bucket": self.bucket, "Key": key, "VersionId": version_id}
        conditions: dict[str, Any] = {}
        if if_match:
            conditions["IfMatch"] = if_match
        elif if_none_match:
            conditions["IfNoneMatch"] = "*"
        if size > self.copy_limit:
            if metadata is None:
                head = self.head_version(path, version_id)
                metadata = {str(k): str(v) for k, v in head.get("Metadata", {}).items()}
            return self._copy_multipart(path, source, size, metadata, conditions)
        extra: dict[str, Any] = {}
        if metadata is not None:
            extra = {"Metadata": metadata, "MetadataDirective": "REPLACE"}
        resp = self._call(
            f"restoring {path}",
            lambda: self.client.copy_object(
                Bucket=self.bucket, Key=key, CopySource=source, **extra, **conditions
            ),
        )
        etag = etag_of(resp.get("CopyObjectResult", {}).get("ETag"))
        return PutResult(str(resp.get("VersionId") or "null"), etag)

    def _start_crt_put(
        self,
        key: str,
        body: bytes,
        metadata: dict[str, str],
        conditions: dict[str, str],
        on_done: Callable[[], None] | None = None,
    ) -> CrtPending:
        """A small PUT through the CRT, sent; `PendingUpload.finish` waits for its answer."""
        assert self.crt is not None
        self._announce("PutObject")
        headers = {f"x-amz-meta-{name}": encode_value(value) for name, value in metadata.items()}
        if "IfMatch" in conditions:
            headers["If-Match"] = conditions["IfMatch"]
        if "IfNoneMatch" in conditions:
            headers["If-None-Match"] = conditions["IfNoneMatch"]
        return self.crt.start_put(self.bucket, key, body, headers, on_done)

    def start_upload(
        self,
        path: str,
        body: bytes,
        *,
        metadata: dict[str, str],
        if_match: str | None,
        on_done: Callable[[], None],
    ) -> PendingUpload | None:
        """A small upload of exact bytes sent without waiting for it (None: the CRT does not
        carry this one), as `start_download` is to `download`: one attempt, under the
        key's condition; whatever fails in it (a lost race too), the caller uploads again
        with `upload`, which retries and tells a lost race from a folder of that name."""
        if not self._by_crt(len(body), metadata):
            return None
        key = self.key(path)
        sent = self._start_crt_put(key, body, metadata, self._conditions(if_match), on_done)
        return PendingUpload(self, key, len(body), sent)

    def _by_crt(self, size: int, metadata: dict[str, str] | None = None) -> bool:
        """Whether a transfer of `size` bytes goes through the CRT: small, and with metadata
        names that travel the same way in both clients (ASCII; values are encoded)."""
        if self.crt is None or size > self.crt_limit:
            return False
        return metadata is None or all(name.isascii() for name in metadata)

    def _moved(self, operation: str, key: str, size: int) -> None:
        """Tell the byte counter (`progress`) of a body the CRT moved."""
        if size:
            self.client.meta.events.emit(f"{CRT_MOVED}.{operation}", key=key, size=size)

    def _announce(self, operation: str) -> None:
        """Tell the client's event hooks a transfer is about to start outside botocore, as
        `before-call` does for its own (a stopped run's gate raises here)."""
        self.client.meta.events.emit(f"{CRT_BEFORE_CALL}.{operation}", operation=operation)

    # -- reads -----------------------------------------------------------------------------

    def head_version(self, path: str, version_id: str) -> dict[str, Any]:
        """HEAD of one version: its Metadata, ContentLength, ETag, LastModified."""
        key = self.key(path)
        resp = self._call(
            f"reading {path}",
            lambda: self.client.head_object(Bucket=self.bucket, Key=key, VersionId=version_id),
        )
        return dict(resp)

    def download(self, entry: RemoteEntry, dest: Path) -> DownloadResult:
        """Write exactly `entry`'s version into `dest`, checking its size and hash.

        A truncated or corrupt body is a retryable failure: `dest` is rewritten from scratch.
        A local failure (disk full, no permission) is not: it is a `LocalError` at once, and
        `dest` is removed, so nothing half-written is left. The bytes are not yet forced to
        the disk: a caller that moves `dest` into place does that first
        (`clouddrive.local.durable`), for many files at once where it can.
        """
        what = f"downloading {entry.path}"

        def fetch() -> DownloadResult:
            sent = self.start_download(entry, dest)
            if sent is not None:  # the CRT writes small files itself, then they are read back
                return sent.finish()
            resp = self.client.get_object(
                Bucket=self.bucket, Key=entry.key, VersionId=entry.version_id
            )
            metadata = {str(k): str(v) for k, v in resp.get("Metadata", {}).items()}
            check = BodyCheck(
                what,
                entry,
                metadata,
                etag_of(resp.get("ETag")),
                beside=entry.size >= HASH_BESIDE_FROM,
            )
            body = resp["Body"]
            try:
                with local_writes(what, dest):
                    out = dest.open("wb")
                with out as fh:
                    written_back = 0
                    for chunk in iter(lambda: body.read(CHUNK), b""):
                        check.update(chunk)
                        with local_writes(what, dest):
                            _write_chunk(fh, chunk)
                        if check.size - written_back >= _WRITE_BACK_EVERY:
                            with local_writes(what, dest):
                                written_back = _start_write_back(fh, written_back, check.size)
                    with local_writes(what, dest):
                        fh.flush()
            finally:
                body.close()
                check.close()
            return check.result(resp.get("ContentLength"))

        return self._call(what, fetch)

    def start_download(
        self, entry: RemoteEntry, dest: Path, on_done: Callable[[], None] | None = None
    ) -> PendingDownload | None:
        """A small download sent without waiting for it (None: the CRT does not carry
        this one): `on_done` is called on a CRT thread once it has ended, and `finish`
        then checks it. One attempt only: whatever fails in it, the caller downloads the
        file again with `download`, which retries as every call does."""
        if not self._by_crt(entry.size):
            return None
        assert self.crt is not None
        self._announce("GetObject")
        what = f"downloading {entry.path}"
        with local_writes(what, dest):
            sent = self.crt.start_get(
                self.bucket, entry.key, entry.version_id, entry.size, str(dest), on_done
            )
        return PendingDownload(self, entry, dest, sent)

    def read_bytes(self, relkey: str) -> bytes:
        key = self.key(relkey)

        def fetch() -> bytes:
            return bytes(self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read())

        return self._call(f"reading {relkey}", fetch)
