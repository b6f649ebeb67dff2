"""Small transfers the CRT is carrying, sent without waiting (`Objects.start_download`,
`Objects.start_upload`): what `sync/fetchahead.py` keeps in flight from one thread."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from clouddrive import errors
from clouddrive.core.models import RemoteEntry
from clouddrive.ledger.base import PutResult, etag_of
from clouddrive.ledger.bodies import BodyCheck, DownloadResult, local_writes, read_back
from clouddrive.ledger.crt import CrtPending

if TYPE_CHECKING:
    from clouddrive.ledger.objects import Objects

__all__ = ["PendingDownload", "PendingUpload"]


class PendingDownload:
    """A small download the CRT is writing into `dest` (`Objects.start_download`)."""

    def __init__(self, objects: Objects, entry: RemoteEntry, dest: Path, sent: CrtPending) -> None:
        self.objects = objects
        self.entry = entry
        self.dest = dest
        self.sent = sent

    def finish(self) -> DownloadResult:
        """Wait for the answer, then check the file it left against the version's size and
        hash, as `download` does; on any failure `dest` is removed."""
        what = f"downloading {self.entry.path}"
        with local_writes(what, self.dest):
            got = self.sent.wait()
            check = BodyCheck(what, self.entry, got.metadata(), etag_of(got.headers.get("etag")))
            for chunk in read_back(self.dest, self.entry.size):
                check.update(chunk)
        self.objects._moved("GetObject", self.entry.key, check.size)
        length = got.headers.get("content-length")
        try:
            return check.result(int(length) if length and length.isdigit() else None)
        except errors.CloudDriveError:
            self.dest.unlink(missing_ok=True)
            raise

    def abandon(self) -> None:
        """Give up on it (a stopped run): the CRT stops writing to `dest` soon after."""
        self.sent.cancel()


class PendingUpload:
    """A small upload the CRT is sending (`Objects.start_upload`)."""

    def __init__(self, objects: Objects, key: str, size: int, sent: CrtPending) -> None:
        self.objects = objects
        self.key = key
        self.size = size
        self.sent = sent

    def finish(self) -> PutResult:
        """Wait for the answer: the new version, or the error botocore would have raised."""
        got = self.sent.wait()
        self.objects._moved("PutObject", self.key, self.size)
        version = got.headers.get("x-amz-version-id") or "null"
        return PutResult(version, etag_of(got.headers.get("etag")))

    def abandon(self) -> None:
        """Give up waiting (a stopped run); the PUT may still land, as a worker's may."""
        self.sent.cancel()
