"""Multipart uploads, remembered until they end, so that a killed run's upload is aborted.

S3 keeps the parts of an upload that was never completed nor aborted (and bills them) until
a lifecycle rule removes them, days later. Each upload's id is written to a small journal
(one file per upload under `upload_journal`, ROOT/.clouddrive/uploads/) before its first part
and removed when it completes or is aborted; the next run aborts whatever the journal still
holds (`abort_interrupted_uploads`, called under the drive's lock).
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import hashlib
import itertools
import json
import os
import threading
from collections import deque
from collections.abc import Callable
from concurrent import futures
from concurrent.futures import Future
from pathlib import Path
from typing import Any, TypeVar

from clouddrive import errors
from clouddrive.ledger.base import PutResult, RemoteBase, etag_of
from clouddrive.ledger.calls import error_code
from clouddrive.testing.faults import crash_point

__all__ = ["PARTS_IN_FLIGHT", "Multipart"]

#: parts of one upload sent at once (memory: this many parts). The file is still read and
#: hashed once, in order; only the sending overlaps (512 MiB went up 1.3x slower than
#: s5cmd's with one part at a time).
PARTS_IN_FLIGHT = 4

R = TypeVar("R")


def _in_background(fn: Callable[..., R], *args: Any) -> Future[R]:
    """Run `fn` on a daemon thread of its own, in a copy of this thread's context (a stopped
    run's gate, a context variable, then stops it too). Daemon: a process that is exiting
    does not wait for a part a paused server never answers (the next run aborts the
    upload, from its journal)."""
    future: Future[R] = Future()
    context = contextvars.copy_context()

    def run() -> None:
        if not future.set_running_or_notify_cancel():
            return
        try:
            future.set_result(context.run(fn, *args))
        except BaseException as exc:
            future.set_exception(exc)

    threading.Thread(target=run, name="cd-part", daemon=True).start()
    return future


class Multipart(RemoteBase):
    """Uploading one large file in parts, and cleaning up after a killed upload."""

    def _journal_entry(self, upload_id: str) -> Path | None:
        if self.upload_journal is None:
            return None
        name = hashlib.sha256(upload_id.encode()).hexdigest()[:32]
        return self.upload_journal / f"{name}.json"

    def _remember(self, key: str, upload_id: str) -> None:
        """Write the upload's id down (atomically, durably) before any part is sent."""
        entry = self._journal_entry(upload_id)
        if entry is None:
            return
        try:
            entry.parent.mkdir(parents=True, exist_ok=True)
            tmp = entry.with_suffix(".tmp")
            with tmp.open("w", encoding="utf-8") as fh:
                json.dump({"key": key, "upload_id": upload_id}, fh)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, entry)
        except OSError as exc:
            raise errors.local_error(exc, "remembering a multipart upload") from exc

    def _forget(self, upload_id: str) -> None:
        entry = self._journal_entry(upload_id)
        if entry is not None:
            with contextlib.suppress(OSError):
                entry.unlink(missing_ok=True)

    def abort_interrupted_uploads(self) -> int:
        """Abort every multipart upload a killed run left open; how many were aborted.

        Call it only while holding the drive's lock (another run's live upload is in the
        journal too). One that cannot be aborted now stays in the journal for the next run.
        """
        if self.upload_journal is None or not self.upload_journal.is_dir():
            return 0
        aborted = 0
        for entry in sorted(self.upload_journal.glob("*.json")):
            try:
                record = json.loads(entry.read_text(encoding="utf-8"))
                key, upload_id = str(record["key"]), str(record["upload_id"])
            except (OSError, ValueError, KeyError, TypeError):
                with contextlib.suppress(OSError):
                    entry.unlink()  # a torn record: its upload was never started
                continue
            try:
                self._call(
                    f"aborting an interrupted upload of {key}",
                    functools.partial(self._abort_quietly_if_gone, key=key, upload_id=upload_id),
                )
            except errors.RemoteError:
                continue
            self._forget(upload_id)
            aborted += 1
        return aborted

    def _abort_quietly_if_gone(self, *, key: str, upload_id: str) -> None:
        """Abort one upload; one that no longer exists (completed, aborted) is fine."""
        try:
            self.client.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)
        except Exception as exc:
            if error_code(exc) not in ("NoSuchUpload", "404", "NotFound"):
                raise

    def _upload_multipart(
        self,
        key: str,
        path: str,
        source: Path,
        size: int,
        metadata: dict[str, str],
        conditions: dict[str, str],
        expected_sha256: str | None = None,
    ) -> PutResult:
        """Send `source` in parts, read once and in order on the calling thread, up to
        `PARTS_IN_FLIGHT` of them on the wire at once (a stopped run's gate stops each at
        its next request, whichever thread sends it).

        With `expected_sha256` the file itself is sent (no snapshot copy): the parts are
        hashed as they are read, and if the bytes are not the planned ones (the file changed
        meanwhile) the upload is aborted before it completes, so nothing lands, and
        `SourceChanged` is raised. Memory: `PARTS_IN_FLIGHT` parts.
        """
        what = f"uploading {path}"

        def send_part(upload_id: str, number: int, chunk: bytes) -> dict[str, Any]:
            part = self._part(what, self.client.upload_part, key, upload_id, number, Body=chunk)
            return {"PartNumber": number, "ETag": part["ETag"]}

        def send(upload_id: str) -> list[dict[str, Any]]:
            digest = hashlib.sha256()
            sent = 0
            parts: list[dict[str, Any]] = []
            in_flight: deque[Future[dict[str, Any]]] = deque()

            def landed(future: Future[dict[str, Any]]) -> None:
                parts.append(future.result())
                crash_point("mid-multipart")

            with source.open("rb") as fh:
                try:
                    for number in itertools.count(1):
                        chunk = fh.read(self.part_size)
                        if not chunk and number > 1:
                            break
                        digest.update(chunk)
                        sent += len(chunk)
                        if len(in_flight) >= PARTS_IN_FLIGHT:
                            landed(in_flight.popleft())
                        in_flight.append(_in_background(send_part, upload_id, number, chunk))
                        if not chunk:
                            break
                    while in_flight:
                        landed(in_flight.popleft())
                finally:
                    # a failure: the parts still on their way end before the upload is
                    # aborted (a part that lands after the abort would be kept and billed)
                    futures.wait(in_flight)
            if sent != size or (expected_sha256 and digest.hexdigest() != expected_sha256):
                raise errors.SourceChanged(f"{path} changed while it was uploaded")
            return parts

        return self._in_parts(what, key, metadata, conditions, send)

    def _copy_multipart(
        self,
        path: str,
        source: Any,
        size: int,
        metadata: dict[str, str],
        conditions: dict[str, Any],
    ) -> PutResult:
        """A copy in parts (objects past `copy_limit`), completed under `conditions`, and
        journalled like an upload so that a killed restore's parts are aborted too."""
        what = f"restoring {path}"
        key = source["Key"]
        chunk = max(self.part_size, 5 << 20, -(-size // 10_000))

        def send(upload_id: str) -> list[dict[str, Any]]:
            parts = []
            for number, start in enumerate(range(0, max(size, 1), chunk), start=1):
                last = min(start + chunk, size) - 1
                part = self._part(
                    what,
                    self.client.upload_part_copy,
                    key,
                    upload_id,
                    number,
                    CopySource=source,
                    CopySourceRange=f"bytes={start}-{max(last, start)}",
                )
                parts.append({"PartNumber": number, "ETag": part["CopyPartResult"]["ETag"]})
            return parts

        return self._in_parts(what, key, metadata, conditions, send)

    def _part(
        self,
        what: str,
        send: Callable[..., Any],
        key: str,
        upload_id: str,
        number: int,
        **body: Any,
    ) -> Any:
        """One part of a multipart upload (`send`: UploadPart or UploadPartCopy, `body`:
        what it sends), retried as any call is."""
        return self._call(
            f"{what} (part {number})",
            functools.partial(
                send, Bucket=self.bucket, Key=key, UploadId=upload_id, PartNumber=number, **body
            ),
        )

    def _in_parts(
        self,
        what: str,
        key: str,
        metadata: dict[str, str],
        conditions: dict[str, Any],
        send: Callable[[str], list[dict[str, Any]]],
    ) -> PutResult:
        """One multipart upload's life: create it, journal its id, `send` the parts, complete
        it under `conditions`. On any failure it is aborted, and its journal entry dropped
        only if the abort went through (else the next run aborts it)."""
        created = self._call(
            what,
            lambda: self.client.create_multipart_upload(
                Bucket=self.bucket, Key=key, Metadata=metadata
            ),
        )
        upload_id = created["UploadId"]
        try:
            self._remember(key, upload_id)
            parts = send(upload_id)
            resp: Any = self._call(
                what,
                lambda: self.client.complete_multipart_upload(
                    Bucket=self.bucket,
                    Key=key,
                    UploadId=upload_id,
                    MultipartUpload={"Parts": parts},  # type: ignore[typeddict-item]
                    **conditions,
                ),
            )
        except BaseException:
            with contextlib.suppress(Exception):  # the original failure is what matters
                self.client.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)
                self._forget(upload_id)
            raise
        self._forget(upload_id)
        return PutResult(str(resp.get("VersionId") or "null"), etag_of(resp.get("ETag")))
