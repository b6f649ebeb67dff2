"""What the app needs from a drive: the engine's `Drive` API, as a protocol.

`clouddrive.drive.Drive` satisfies it; tests give the snapshot screens a fake with fixed
data. Only types are imported from the engine's modules here (under TYPE_CHECKING), so that
importing the app does not load boto3.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from clouddrive.core.models import Action, Plan, RemoteEntry
    from clouddrive.drive.share import ShareLink
    from clouddrive.history.apply import StepResult, TimeTravelReport
    from clouddrive.history.lookup import VersionText
    from clouddrive.history.plans import TimeTravelPlan
    from clouddrive.history.records import RunRecord
    from clouddrive.history.views import DeletedFile, FileVersion
    from clouddrive.local.config import DriveConfig
    from clouddrive.sync.outcome import Outcome
    from clouddrive.sync.report import SyncReport

__all__ = ["DriveAPI", "DriveOpener", "StateAPI"]


class StateAPI(Protocol):
    def get_meta(self, key: str) -> str | None: ...


class DriveAPI(Protocol):
    """The part of `clouddrive.drive.Drive` the app uses."""

    root: Path
    config: DriveConfig

    @property
    def user(self) -> str: ...

    @property
    def uri(self) -> str: ...

    @property
    def endpoint(self) -> str: ...

    @property
    def state(self) -> StateAPI: ...

    def status(self) -> Plan: ...

    def local_files(self, limit: int | None = None) -> list[str]: ...

    def sync(
        self,
        *,
        confirm: Callable[[Plan], bool] | None = None,
        max_delete: int | None = None,
        force: bool = False,
        on_outcome: Callable[[Outcome], None] | None = None,
        on_plan: Callable[[Plan], None] | None = None,
        cancel: threading.Event | None = None,
        skip: Collection[str] = (),
        on_start: Callable[[Action], None] | None = None,
        on_bytes: Callable[[str, int], None] | None = None,
    ) -> SyncReport: ...

    def resolve(self, path: str, choice: str) -> SyncReport: ...

    def changed_by(self, entries: Sequence[RemoteEntry]) -> dict[str, str]: ...

    def link(
        self, path: str, *, expires: timedelta = ..., version: str | None = None
    ) -> ShareLink: ...

    def read_version(self, path: str, version_id: str, *, limit: int = ...) -> VersionText: ...

    def deleted(self, path: str = "", *, since: datetime | None = None) -> list[DeletedFile]: ...

    def history(self, path: str) -> list[FileVersion]: ...

    def activity(
        self, *, since: datetime | None = None, limit: int | None = None
    ) -> list[RunRecord]: ...

    def plan_restore_deleted(
        self, paths: Sequence[str] = (), *, everything: bool = False, since: datetime | None = None
    ) -> TimeTravelPlan: ...

    def plan_restore(
        self, path: str, *, version_id: str | None = None, at: datetime | None = None
    ) -> TimeTravelPlan: ...

    def plan_undo(self, run_id: str) -> TimeTravelPlan: ...

    def apply(
        self,
        plan: TimeTravelPlan,
        *,
        confirm: Callable[[TimeTravelPlan], bool] | None = None,
        pull: bool = True,
        on_result: Callable[[StepResult], None] | None = None,
    ) -> TimeTravelReport: ...

    def close(self) -> None: ...


#: opens the drive (in a worker thread: the engine loads there)
DriveOpener = Callable[[], DriveAPI]
