"""What time travel shows: recently deleted files and a file's versions, as view models
with their `--json` shapes (read by the CLI, the app and scripts)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from clouddrive.core.timeline import Step

__all__ = [
    "META_RESTORED_FROM",
    "UNKNOWN",
    "DeletedFile",
    "DeletedFolder",
    "FileVersion",
    "console_url",
    "group_deleted",
    "iso",
    "s3_uri",
    "step_json",
    "utc_text",
]

META_RESTORED_FROM = "clouddrive-restored-from"  #: on a copy forward: the version it copies
UNKNOWN = "unknown"  #: who, when no metadata or run record says


def s3_uri(bucket: str, key: str = "") -> str:
    """`s3://bucket/key` as users paste it into other tools (a folder key ends with /)."""
    from s3pathlib.api import S3Path  # here, not at the top: a sync never pays its import

    return str(S3Path(bucket, key).uri)


def console_url(
    bucket: str, key: str = "", *, endpoint_url: str | None = None, region: str | None = None
) -> str | None:
    """The AWS console page of a key or folder; None for a bucket on another S3 server
    (SeaweedFS, MinIO, the embedded default), which the AWS console cannot show."""
    if endpoint_url:
        host = urlsplit(endpoint_url).hostname or ""
        if not host.endswith(".amazonaws.com"):
            return None
    from s3pathlib.api import S3Path

    url = S3Path(bucket, key).get_console_url(region=region)
    return str(url) if url else None


def iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat() if moment is not None else None


def utc_text(moment: datetime) -> str:
    return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC"


@dataclass(frozen=True)
class DeletedFile:
    """A key whose newest entry is a delete marker, and what restoring it brings back.

    `deleted_at` / `deleted_by` / `deleted_run` describe the marker that hid the content
    (the oldest of the `markers` stacked on top); `version_id`, `size`, `modified` and
    `author` the last content version.
    """

    path: str
    deleted_at: datetime
    deleted_by: str
    deleted_run: str | None
    markers: int
    version_id: str
    size: int
    modified: datetime
    author: str
    recoverable_until: datetime | None  #: None: no rule removes it (see `lifecycle_rule`)
    lifecycle_rule: str | None = None  #: the rule that expires it, if one applies

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "deleted_at": iso(self.deleted_at),
            "deleted_by": self.deleted_by,
            "deleted_run": self.deleted_run,
            "delete_markers": self.markers,
            "version_id": self.version_id,
            "size": self.size,
            "modified": iso(self.modified),
            "author": self.author,
            "recoverable_until": iso(self.recoverable_until),
            "lifecycle_rule": self.lifecycle_rule,
        }


@dataclass(frozen=True)
class FileVersion:
    """One entry of a file's history: a version (content) or a delete marker."""

    version_id: str
    is_delete_marker: bool
    modified: datetime
    size: int
    author: str
    is_latest: bool
    etag: str | None = None
    run_id: str | None = None
    restored_from: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "version_id": self.version_id,
            "type": "delete-marker" if self.is_delete_marker else "version",
            "time": iso(self.modified),
            "author": self.author,
            "size": self.size,
            "latest": self.is_latest,
            "etag": self.etag,
            "run_id": self.run_id,
            "restored_from": self.restored_from,
        }


def step_json(step: Step) -> dict[str, Any]:
    return {
        "path": step.path,
        "action": step.op.value,
        "why": step.why,
        "version_id": step.source.version_id if step.source else None,
        "version_time": iso(step.source.modified) if step.source else None,
        "size": step.source.size if step.source else 0,
        "replaces": step.expect,
    }


@dataclass(frozen=True)
class DeletedFolder:
    """Deleted files under one folder, shown as one line (a deleted folder of 3,000 files
    is one thing to the person who deleted it); `files` are its members, newest first."""

    path: str
    files: tuple[DeletedFile, ...]

    @property
    def deleted_at(self) -> datetime:
        return max(f.deleted_at for f in self.files)

    @property
    def deleted_by(self) -> str:
        who = sorted({f.deleted_by for f in self.files})
        return who[0] if len(who) == 1 else f"{len(who)} people"

    @property
    def size(self) -> int:
        return sum(f.size for f in self.files)


def group_deleted(found: list[DeletedFile], scope: str = "") -> list[DeletedFile | DeletedFolder]:
    """One line per child of `scope` ("" the drive): a file deleted directly in it stays a
    file; files deleted under a child folder become that folder (one file alone under a
    folder stays itself, with its full path). Newest first, as `found` is."""
    base = f"{scope}/" if scope else ""
    folders: dict[str, list[DeletedFile]] = {}
    order: list[str] = []
    for item in found:
        rest = item.path[len(base) :] if item.path.startswith(base) else item.path
        key = base + rest.split("/", 1)[0] if "/" in rest else item.path
        if key not in folders:
            folders[key] = []
            order.append(key)
        folders[key].append(item)
    lines: list[DeletedFile | DeletedFolder] = []
    for key in order:
        members = folders[key]
        if len(members) == 1:
            lines.append(members[0])
        else:
            lines.append(DeletedFolder(key, tuple(members)))
    return lines
