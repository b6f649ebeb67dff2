"""Sharing one file of a drive as a link anyone can download (`clouddrive link`)."""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from clouddrive import errors
from clouddrive.ledger.presign import check_life, presigned_get

if TYPE_CHECKING:
    from clouddrive.drive.facade import Drive

__all__ = ["ShareLink", "make_link"]


@dataclass(frozen=True)
class ShareLink:
    path: str
    version_id: str
    url: str
    expires: datetime
    size: int

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "version_id": self.version_id,
            "url": self.url,
            "expires": self.expires.isoformat(),
            "size": self.size,
        }


def make_link(drive: Drive, path: str, *, life: timedelta, version: str | None) -> ShareLink:
    """A download link for the current version of `path`, or for `version` (an id or a
    unique prefix of one, as `history` shows them). The link names the exact version, so it
    keeps giving what was shared even after the file changes."""
    check_life(drive.remote.client, life)  # bad input fails before any look-up
    history = drive.history(path)
    versions = [v for v in history if not v.is_delete_marker]
    if not versions:
        raise errors.UserError(f"{path} has no version on S3 to share (sync it first)")
    if version is None:
        if history[0].is_delete_marker:
            raise errors.UserError(
                f"{path} is deleted; share one of its versions with --version ID "
                f"(see: clouddrive history {shlex.quote(path)}) or restore it first"
            )
        chosen = versions[0]
    else:
        matches = [v for v in versions if v.version_id.startswith(version)]
        if len(matches) != 1:
            what = "no version" if not matches else f"{len(matches)} versions"
            raise errors.UserError(
                f"{what} of {path} start with {version!r}; "
                f"see: clouddrive history {shlex.quote(path)}"
            )
        chosen = matches[0]
    remote = drive.remote
    url = presigned_get(
        remote.client,
        remote.bucket,
        remote.key(path),
        version_id=chosen.version_id,
        life=life,
    )
    return ShareLink(path, chosen.version_id, url, datetime.now(UTC) + life, chosen.size)
