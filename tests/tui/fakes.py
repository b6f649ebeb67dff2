"""A drive with fixed data and a fixed clock, for the app's snapshot tests: every name, time,
size and version id on screen is the same on every run."""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from clouddrive.core.models import (
    Action,
    ActionKind,
    BaseEntry,
    LocalChange,
    LocalFile,
    Plan,
    RemoteChange,
    RemoteEntry,
    Skipped,
)
from clouddrive.core.timeline import Entry, Op, Skip, Step
from clouddrive.drive.share import ShareLink
from clouddrive.history.apply import StepResult, TimeTravelReport
from clouddrive.history.lookup import VersionText
from clouddrive.history.plans import TimeTravelPlan
from clouddrive.history.records import RunAction, RunRecord
from clouddrive.history.views import DeletedFile, FileVersion
from clouddrive.local.config import DriveConfig
from clouddrive.sync.outcome import Outcome
from clouddrive.sync.report import SyncReport
from clouddrive.tui.app import CloudDriveApp
from clouddrive.tui.fmt import Clock

NOW = datetime(2025, 3, 14, 10, 0, 0, tzinfo=UTC)


def at(minutes_ago: float) -> datetime:
    return NOW - timedelta(minutes=minutes_ago)


@dataclass
class FakeClock:
    """Wall time stands still at NOW; the monotonic timer moves only when told."""

    t: float = 1000.0

    def clock(self) -> Clock:
        return Clock(now=lambda: NOW, monotonic=lambda: self.t, tz=UTC)

    def advance(self, seconds: float) -> None:
        self.t += seconds


def _remote(path: str, minutes_ago: float, size: int, *, marker: bool = False) -> RemoteEntry:
    return RemoteEntry(
        path=path,
        key=f"docs/{path}",
        version_id=f"v-{path}",
        is_delete_marker=marker,
        last_modified=at(minutes_ago),
        etag=None if marker else "e" * 32,
        size=0 if marker else size,
    )


def _local(path: str, minutes_ago: float, size: int) -> LocalFile:
    return LocalFile(path, size, int(at(minutes_ago).timestamp() * 1e9), "0" * 64)


def _base(path: str, size: int) -> BaseEntry:
    return BaseEntry(path, size, 1, "1" * 64, f"b-{path}", "b" * 32)


L, R, K = LocalChange, RemoteChange, ActionKind

PLAN = Plan(
    actions=(
        Action(K.DOWNLOAD, "data/numbers.csv", L.UNCHANGED, R.MODIFIED,
               local=_local("data/numbers.csv", 300, 310),
               remote=_remote("data/numbers.csv", 15, 340), base=_base("data/numbers.csv", 310)),
        Action(K.CONFLICT, "docs/report.txt", L.MODIFIED, R.MODIFIED,
               local=_local("docs/report.txt", 5, 1250),
               remote=_remote("docs/report.txt", 8, 2048), base=_base("docs/report.txt", 900),
               conflict_path="docs/report (conflict ann 2025-03-14 100000).txt"),
        Action(K.DELETE_REMOTE, "drafts/tmp.md", L.DELETED, R.UNCHANGED,
               base=_base("drafts/tmp.md", 120), if_match="b" * 32),
        Action(K.UPLOAD, "photos/cat.jpg", L.CREATED, R.ABSENT,
               local=_local("photos/cat.jpg", 2, 2_411_724)),
        Action(K.DELETE_LOCAL, "old/notes.txt", L.UNCHANGED, R.DELETED,
               local=_local("old/notes.txt", 600, 64),
               remote=_remote("old/notes.txt", 20, 0, marker=True),
               base=_base("old/notes.txt", 64)),
        Action(K.RECORD, "same.txt", L.MODIFIED, R.MODIFIED,
               local=_local("same.txt", 30, 10), remote=_remote("same.txt", 30, 10)),
        Action(K.DOWNLOAD, "slides/deck.pdf", L.ABSENT, R.CREATED,
               remote=_remote("slides/deck.pdf", 60 * 26, 5_242_880)),
        Action(K.UPLOAD, "budget.xlsx", L.MODIFIED, R.UNCHANGED,
               local=_local("budget.xlsx", 40, 48_128), base=_base("budget.xlsx", 47_000),
               if_match="b" * 32),
    ),
    skipped=(Skipped("bad\\name.txt", "backslash in the name"),),
)  # fmt: skip

AUTHORS = {
    "data/numbers.csv": "bob",
    "docs/report.txt": "bob",
    "old/notes.txt": "carol",
    "slides/deck.pdf": "carol",
}

DELETED = [
    DeletedFile("old/notes.txt", at(20), "carol", "r-carol-1", 1, "v-n1", 64, at(600), "ann",
                at(-60 * 24 * 30), "clouddrive:docs:noncurrent"),
    DeletedFile("photos/2019/beach.jpg", at(60 * 5), "bob", "r-bob-2", 1, "v-b1", 3_145_728,
                at(60 * 24 * 400), "bob", None, None),
    DeletedFile("reports/q4 summary.docx", at(60 * 24 * 3), "ann", "r-ann-3", 2, "v-q4", 88_064,
                at(60 * 24 * 10), "carol", at(-60 * 24 * 27), "clouddrive:docs:noncurrent"),
    DeletedFile("scratch/todo.txt", at(60 * 24 * 9), "unknown", None, 1, "v-t1", 512,
                at(60 * 24 * 9.5), "ann", None, None),
    DeletedFile("clip10.mov", at(90), "bob", "r-bob-4", 1, "v-c10", 9_437_184, at(60 * 30),
                "bob", None, None),
    DeletedFile("clip2.mov", at(90), "bob", "r-bob-4", 1, "v-c2", 7_340_032, at(60 * 30),
                "bob", None, None),
    DeletedFile("docs/report (conflict bob 2025-03-12 093000).txt", at(60 * 24), "bob",
                "r-bob-3", 1, "v-rc", 1250, at(60 * 24 * 2), "bob", None, None),
]  # fmt: skip

HISTORY = [
    FileVersion("3HLU2vV1aqf0", False, at(8), 2048, "bob", True, "e1", "r-bob-9",
                "1Xk9aa0bc1d2"),
    FileVersion("2Jd7Tq8xYb3z", False, at(60 * 2), 1800, "ann", False, "e2", "r-ann-8"),
    FileVersion("1Xk9aa0bc1d2", False, at(60 * 24), 900, "ann", False, "e3", "r-ann-7"),
    FileVersion("0Dm3kk2pq7we", True, at(60 * 24 * 2), 0, "carol", False, None, "r-carol-6"),
    FileVersion("0Am1aa0aa1aa", False, at(60 * 24 * 5), 640, "carol", False, "e5", "r-carol-5"),
]  # fmt: skip

TEXT = "Quarterly report\n================\n\nRevenue grew 12%.\nCosts were flat.\n"


def _run(
    run_id: str, user: str, minutes_ago: float, kind: str, ops: list[tuple[str, str]], **kw: Any
) -> RunRecord:
    return RunRecord(
        run_id=run_id, user=user, host=f"{user}-laptop", started=at(minutes_ago),
        finished=at(minutes_ago - 0.2), kind=kind,
        actions=tuple(RunAction(op, path, f"x-{path}" if op != "download" else None)
                      for op, path in ops), **kw)  # fmt: skip


ACTIVITY = [
    _run("r-bob-9", "bob", 8, "sync", [("upload", "docs/report.txt"), ("download", "a.txt")]),
    _run("r-carol-1", "carol", 20, "sync", [("delete-remote", "old/notes.txt")]),
    _run("r-bob-8b", "bob", 45, "restore", [("restore", "data/numbers.csv")]),
    _run("r-ann-8", "ann", 120, "sync",
         [("upload", "docs/report.txt"), ("upload", "photos/dog.jpg"),
          ("conflict-copy", "plan (conflict ann 2025-03-14 080000).md"),
          ("download", "slides/deck.pdf")],
         failed=({"path": "big.iso", "action": "upload", "error": "Access Denied"},)),
    _run("r-ann-7", "ann", 60 * 24, "undo", [("delete-remote", "tmp/x.txt")], undo_of="r-bob-2"),
]  # fmt: skip


class FakeState:
    def get_meta(self, key: str) -> str | None:
        return at(30).isoformat() if key == "last_sync" else None


@dataclass
class FakeDrive:
    """The engine's `Drive` API over the fixed data above. `hold_after`: a sync pauses after
    that many outcomes (setting `paused`) until `release` is set or it is cancelled."""

    clock: FakeClock
    root: Path = Path("/home/ann/TeamDrive")
    config: DriveConfig = field(
        default_factory=lambda: DriveConfig(
            bucket="team-bucket", prefix="docs", endpoint_url="http://s3.example.test:8333",
            user="ann",
        )
    )  # fmt: skip
    plan: Plan = PLAN
    hold_after: int | None = None
    status_gate: threading.Event | None = None
    #: a sync waits here before it plans (escape while "checking before syncing")
    sync_gate: threading.Event | None = None
    #: `apply` waits here (a restore that takes a while)
    apply_gate: threading.Event | None = None
    deleted_files: list[DeletedFile] = field(default_factory=lambda: list(DELETED))
    paused: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    calls: list[tuple[str, Any]] = field(default_factory=list)
    files: list[str] = field(default_factory=list)  #: what `local_files` finds

    @property
    def user(self) -> str:
        return "ann"

    @property
    def uri(self) -> str:
        return "s3://team-bucket/docs/"

    @property
    def endpoint(self) -> str:
        return "http://s3.example.test:8333"

    @property
    def state(self) -> FakeState:
        return FakeState()

    def status(self) -> Plan:
        if self.status_gate is not None:
            self.status_gate.wait(10)
        return self.plan

    def local_files(self, limit: int | None = None) -> list[str]:
        self.calls.append(("local_files", limit))
        return self.files[:limit]

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
    ) -> SyncReport:
        self.calls.append(("sync", sorted(skip)))
        if self.sync_gate is not None:
            self.sync_gate.wait(10)
        plan = replace(self.plan, actions=tuple(a for a in self.plan.actions if a.path not in skip))
        report = SyncReport(plan=plan, run_id="r-ann-10")
        if on_plan:
            on_plan(plan)
        if confirm is not None and not confirm(plan):
            from clouddrive.errors import Refused

            raise Refused("sync cancelled; nothing was changed")
        order = sorted(plan.actions, key=lambda a: (a.is_bookkeeping is False, a.path))
        for i, action in enumerate(order):
            if cancel is not None and cancel.is_set():
                break
            if on_start:
                on_start(action)
            if self.hold_after is not None and i == self.hold_after:
                # two more in flight, then pause
                for extra in order[i + 1 : i + 2]:
                    if on_start:
                        on_start(extra)
                self.paused.set()
                while not self.release.wait(0.05):
                    if cancel is not None and cancel.is_set():
                        break
                break
            self.clock.advance(1.0)
            outcome = Outcome(action, bytes_moved=action.size)
            report.outcomes.append(outcome)
            if on_outcome:
                on_outcome(outcome)
        report.cancelled = bool(cancel and cancel.is_set())
        return report

    def resolve(self, path: str, choice: str) -> SyncReport:
        self.calls.append(("resolve", (path, choice)))
        action = next(a for a in self.plan.actions if a.path == path)
        report = SyncReport(plan=Plan(actions=(action,)), run_id="r-ann-11")
        report.outcomes.append(Outcome(action, note=f"kept {choice}"))
        return report

    def changed_by(self, entries: Sequence[RemoteEntry]) -> dict[str, str]:
        return {e.path: AUTHORS.get(e.path, "unknown") for e in entries}

    def read_version(self, path: str, version_id: str, *, limit: int = 1 << 20) -> VersionText:
        return VersionText(path, version_id, len(TEXT), TEXT.encode())

    def deleted(self, path: str = "", *, since: datetime | None = None) -> list[DeletedFile]:
        return list(self.deleted_files)

    def history(self, path: str) -> list[FileVersion]:
        return list(HISTORY)

    def activity(
        self, *, since: datetime | None = None, limit: int | None = None
    ) -> list[RunRecord]:
        return list(ACTIVITY)

    def _plan(self, kind: str, title: str, paths: Sequence[str]) -> TimeTravelPlan:
        steps = tuple(
            Step(p, Op.COPY, f"v-{p}", Entry(f"v-{p}", False, at(60 * 24), size=2048), "why")
            for p in paths
        )
        return TimeTravelPlan(kind=kind, title=title, steps=steps)

    def plan_restore_deleted(
        self, paths: Sequence[str] = (), *, everything: bool = False, since: datetime | None = None
    ) -> TimeTravelPlan:
        self.calls.append(("plan_restore_deleted", list(paths)))
        plan = self._plan("restore-deleted", "restore deleted files", paths)
        return replace(plan, skipped=(Skip("scratch/todo.txt", "not deleted: it is current"),))

    def plan_restore(
        self, path: str, *, version_id: str | None = None, at: datetime | None = None
    ) -> TimeTravelPlan:
        self.calls.append(("plan_restore", (path, version_id)))
        return self._plan("restore", f"restore {path} to version {version_id}", [path])

    def plan_undo(self, run_id: str) -> TimeTravelPlan:
        self.calls.append(("plan_undo", run_id))
        return self._plan("undo", f"undo run {run_id}", ["docs/report.txt"])

    def apply(
        self,
        plan: TimeTravelPlan,
        *,
        confirm: Callable[[TimeTravelPlan], bool] | None = None,
        pull: bool = True,
        on_result: Callable[[StepResult], None] | None = None,
    ) -> TimeTravelReport:
        self.calls.append(("apply", plan.kind))
        if self.apply_gate is not None:
            self.apply_gate.wait(10)
        report = TimeTravelReport(plan=plan, run_id="r-ann-12")
        report.results = [StepResult(s, version_id="new") for s in plan.steps]
        report.downloaded = [s.path for s in plan.steps]
        return report

    def link(
        self, path: str, *, expires: timedelta = timedelta(days=7), version: str | None = None
    ) -> ShareLink:
        self.calls.append(("link", (path, version)))
        return ShareLink(
            path,
            version or f"v-{path}",
            f"http://s3.example.test:8333/team-bucket/docs/{path}?versionId={version}"
            "&X-Amz-Signature=0f0f0f",
            NOW + expires,
            2048,
        )

    def close(self) -> None:
        pass


def fake_app(**kwargs: Any) -> tuple[CloudDriveApp, FakeDrive]:
    clock = FakeClock()
    drive = FakeDrive(clock, **kwargs)
    app = CloudDriveApp(lambda: drive, clock=clock.clock(), root_hint=str(drive.root))
    return app, drive
