"""Read-only look-ups that a plan or a history view shows beside the version listing.

- `changed_by`: who wrote the newest entry of some keys: a version's `clouddrive-user`
  metadata (one HEAD each, in parallel), a delete marker's run record (markers carry no
  metadata). The listing a plan is made from never carries either, so a view asks for the
  rows it shows, after showing them.
- `read_version`: the bytes of one version (for viewing an old text version), bounded.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from clouddrive import errors
from clouddrive.core.models import RemoteEntry
from clouddrive.history.runs import RunLog
from clouddrive.ledger import META_USER, S3Remote

__all__ = ["VersionText", "changed_by", "read_version"]

UNKNOWN = "unknown"

log = logging.getLogger("clouddrive")


def changed_by(
    remote: S3Remote, runs: RunLog, entries: Sequence[RemoteEntry], *, workers: int = 8
) -> dict[str, str]:
    """path -> who wrote `entry` (its version or delete marker); "unknown" if nothing says."""
    result: dict[str, str] = {}
    versions = [e for e in entries if not e.is_delete_marker]
    markers = [e for e in entries if e.is_delete_marker]

    def author(entry: RemoteEntry) -> str:
        try:
            head = remote.head_version(entry.path, entry.version_id)
        except (errors.CredentialsError, errors.BucketNotFound):
            raise
        except errors.RemoteError as exc:
            log.debug("cannot read %s: %s", entry.path, exc)
            return UNKNOWN
        metadata = {str(k).lower(): str(v) for k, v in head.get("Metadata", {}).items()}
        return metadata.get(META_USER) or UNKNOWN

    if versions:
        with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="cd-who") as pool:
            for entry, who in zip(versions, pool.map(author, versions), strict=True):
                result[entry.path] = who
    if markers:
        writers = runs.writers([m.last_modified for m in markers])
        for entry in markers:
            run = writers.get((entry.path, entry.version_id))
            result[entry.path] = run.user if run is not None else UNKNOWN
    return result


@dataclass(frozen=True)
class VersionText:
    """One version's content, or why it is not shown (`data` None: too large)."""

    path: str
    version_id: str
    size: int
    data: bytes | None

    @property
    def text(self) -> str | None:
        """The content as text, or None when it is not UTF-8 text (or not read)."""
        if self.data is None or b"\x00" in self.data[:8192]:
            return None
        try:
            return self.data.decode("utf-8")
        except UnicodeDecodeError:
            return None


def read_version(remote: S3Remote, path: str, version_id: str, *, limit: int) -> VersionText:
    """The content of one version of `path`, checked like a download; not read past `limit`
    bytes (then `data` is None)."""
    head = remote.head_version(path, version_id)
    size = int(head.get("ContentLength", 0) or 0)
    if size > limit:
        return VersionText(path, version_id, size, None)
    entry = RemoteEntry(
        path=path,
        key=remote.key(path),
        version_id=version_id,
        is_delete_marker=False,
        last_modified=head["LastModified"],
        etag=str(head.get("ETag", "")).strip('"') or None,
        size=size,
    )
    fd, name = tempfile.mkstemp(prefix="clouddrive-view-")
    os.close(fd)
    try:
        remote.download(entry, Path(name))
        with open(name, "rb") as fh:
            data = fh.read()
    finally:
        os.unlink(name)
    return VersionText(path, version_id, size, data)
