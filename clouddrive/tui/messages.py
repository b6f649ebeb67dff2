"""What thread workers report to their screens: small messages, posted from the worker.

Progress is a poke, not a payload: the worker keeps counting in a `SyncTracker` and posts
`SyncProgress`, which replaces any poke still queued (`can_replace`), so a flood of finished
actions collapses into a few screen updates; the screen drains the tracker when it gets one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from textual.message import Message

if TYPE_CHECKING:
    from clouddrive.core.models import Plan
    from clouddrive.drive.share import ShareLink
    from clouddrive.history.apply import TimeTravelReport
    from clouddrive.history.lookup import VersionText
    from clouddrive.history.plans import TimeTravelPlan
    from clouddrive.history.records import RunRecord
    from clouddrive.history.views import DeletedFile, FileVersion
    from clouddrive.sync.report import SyncReport

__all__ = [
    "ActivityLoaded",
    "AuthorsFound",
    "DeletedLoaded",
    "DriveOpened",
    "Failed",
    "FilesListed",
    "HistoryLoaded",
    "LinkMade",
    "PlanReady",
    "ResolveDone",
    "SyncDone",
    "SyncFailed",
    "SyncPlanned",
    "SyncProgress",
    "TimeTravelDone",
    "TimeTravelPlanned",
    "VersionRead",
]


@dataclass
class DriveOpened(Message):
    """The drive is open: what the header shows."""

    bucket: str
    prefix: str
    endpoint: str
    user: str
    root: str
    last_sync: datetime | None


@dataclass
class PlanReady(Message):
    plan: Plan
    seconds: float


@dataclass
class AuthorsFound(Message):
    """path -> who made the remote change (filled in after the plan is shown)."""

    authors: dict[str, str]


@dataclass
class Failed(Message):
    """A worker's call failed: what was being done, and the error's one line."""

    doing: str
    error: str


@dataclass
class SyncPlanned(Message):
    """The sync planned afresh (what it will run, if confirmed)."""

    plan: Plan


class SyncProgress(Message):
    """Actions started or finished: drain the tracker."""

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, SyncProgress)


@dataclass
class SyncDone(Message):
    report: SyncReport


@dataclass
class SyncFailed(Message):
    """The sync did not run (or stopped before changing anything): why. `guard`: a safety
    guard tripped, which the user may override; `declined`: the user said no."""

    error: str
    guard: bool = False
    declined: bool = False


@dataclass
class ResolveDone(Message):
    path: str
    choice: str
    report: SyncReport


@dataclass
class DeletedLoaded(Message):
    files: list[DeletedFile]


@dataclass
class HistoryLoaded(Message):
    path: str
    versions: list[FileVersion]


@dataclass
class VersionRead(Message):
    version: VersionText
    title: str


@dataclass
class ActivityLoaded(Message):
    runs: list[RunRecord]


@dataclass
class TimeTravelPlanned(Message):
    plan: TimeTravelPlan
    verb: str


@dataclass
class TimeTravelDone(Message):
    report: TimeTravelReport


@dataclass
class FilesListed(Message):
    paths: list[str]


@dataclass
class LinkMade(Message):
    link: ShareLink
