"""The app driven by keys (Textual's Pilot) against drives on SeaweedFS: each test checks the
files and the S3 versions afterwards, not only the screen."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable, Input, TextArea

from clouddrive.core.models import Action, ActionKind
from clouddrive.ledger.objects import Objects
from clouddrive.local.config import internal_dir
from clouddrive.local.lock import DriveLock
from clouddrive.sync.executor import Executor
from clouddrive.sync.outcome import Outcome
from clouddrive.tui.app import CloudDriveApp
from clouddrive.tui.screens.activity import ActivityScreen
from clouddrive.tui.screens.confirm import ConfirmScreen
from clouddrive.tui.screens.confirm_plan import PlanConfirmScreen
from clouddrive.tui.screens.confirm_sync import SyncConfirmScreen
from clouddrive.tui.screens.conflict import ConflictScreen
from clouddrive.tui.screens.deleted import DeletedScreen
from clouddrive.tui.screens.find_file import FindFileScreen
from clouddrive.tui.screens.history import HistoryScreen
from clouddrive.tui.screens.sync import SyncScreen
from clouddrive.tui.screens.text_view import TextViewScreen
from clouddrive.tui.widgets.plan_table import PlanTable
from tests.drivekit import conflict_copies, sync, tree, write
from tests.tui.pilotkit import journal, run_scenario, settle, wait_for

Pilot_ = Pilot[Any]


def table_of(app: CloudDriveApp) -> PlanTable:
    return app.screen.query_one(PlanTable)


async def plan_shown(pilot: Pilot_, app: CloudDriveApp) -> SyncScreen:
    screen = app.screen
    assert isinstance(screen, SyncScreen)
    await wait_for(pilot, lambda: screen.plan is not None and not screen.planning, what="plan")
    await settle(pilot)
    return screen


async def cursor_to(pilot: Pilot_, table: DataTable[Any], key: str) -> None:
    table.move_cursor(row=table.get_row_index(key))
    await pilot.pause()


async def sync_from_app(pilot: Pilot_, app: CloudDriveApp) -> None:
    """s, then y in the confirmation; until the sync is over and the plan shown again."""
    screen = await plan_shown(pilot, app)
    await pilot.press("s")
    await wait_for(pilot, lambda: isinstance(app.screen, SyncConfirmScreen), what="confirm")
    await pilot.press("y")
    await wait_for(pilot, lambda: not app.syncing, what="sync over")
    await plan_shown(pilot, app)
    assert app.screen is screen


class TestSyncScreen:
    def test_plan_then_sync_with_confirmation(self, two, shared) -> None:
        """The plan shows remote and local changes with who; s + y syncs it all."""
        a, b = two
        for path in ("edit.txt", "gone.txt"):
            write(a.root, path, f"{path} v1")
        sync(a)
        sync(b)
        write(a.root, "edit.txt", "edit.txt v2 by ann")
        write(a.root, "new.txt", "new from ann")
        (a.root / "gone.txt").unlink()
        sync(a)
        write(b.root, "mine.txt", "bob's own")
        seen: dict[str, Any] = {}

        async def scenario(pilot: Pilot_, app: CloudDriveApp) -> None:
            await plan_shown(pilot, app)
            table = table_of(app)
            seen["rows"] = {p: a.kind for p, a in table.actions.items()}
            seen["who"] = dict(table.authors)
            await sync_from_app(pilot, app)
            seen["after"] = dict(table_of(app).actions)
            seen["journal"] = journal(app)

        run_scenario(b, scenario)
        assert seen["rows"] == {
            "edit.txt": ActionKind.DOWNLOAD,
            "new.txt": ActionKind.DOWNLOAD,
            "gone.txt": ActionKind.DELETE_LOCAL,
            "mine.txt": ActionKind.UPLOAD,
        }
        assert seen["who"] == {"edit.txt": "ann", "new.txt": "ann", "gone.txt": "ann"}
        assert seen["after"] == {}
        assert "Synced: 4 change(s) done." in seen["journal"]
        expected = {"edit.txt": b"edit.txt v2 by ann", "new.txt": b"new from ann",
                    "mine.txt": b"bob's own"}  # fmt: skip
        assert tree(b.root) == expected
        assert shared.latest() == expected
        assert shared.contents("gone.txt") == (None, sorted([b"gone.txt v1"], key=repr))

    def test_an_action_toggled_off_waits_for_the_next_run(self, two, shared) -> None:
        """space skips the selected action for this run only; the next run does it."""
        a, _ = two
        write(a.root, "now.txt", "now")
        write(a.root, "later.txt", "later")
        seen: dict[str, Any] = {}

        async def scenario(pilot: Pilot_, app: CloudDriveApp) -> None:
            await plan_shown(pilot, app)
            await cursor_to(pilot, table_of(app), "later.txt")
            await pilot.press("space")
            seen["skipped"] = set(table_of(app).skipped)
            await sync_from_app(pilot, app)
            seen["left"] = set(table_of(app).actions)
            seen["skipped_after"] = set(table_of(app).skipped)

        run_scenario(a, scenario)
        assert seen["skipped"] == {"later.txt"}
        assert shared.latest() == {"now.txt": b"now"}
        assert seen["left"] == {"later.txt"} and seen["skipped_after"] == set()

    def test_cancel_stops_cleanly(self, two, shared, monkeypatch) -> None:
        """escape mid-sync: nothing new starts, finished actions are recorded, the rest
        waits; nothing is half-written, and the next sync finishes the job. Every action
        waits at a gate until escape has been pressed: the partial result does not depend
        on timing."""
        a, _ = two
        files = {f"f{i:02}.txt": f"content {i}" for i in range(24)}
        for path, text in files.items():
            write(a.root, path, text)
        started, gate = threading.Event(), threading.Event()
        gate_transfers(monkeypatch, gate, started)
        seen: dict[str, Any] = {}

        async def scenario(pilot: Pilot_, app: CloudDriveApp) -> None:
            await plan_shown(pilot, app)
            await pilot.press("s")
            await wait_for(pilot, lambda: isinstance(app.screen, SyncConfirmScreen))
            await pilot.press("y")
            await wait_for(pilot, started.is_set, what="the first action")
            await pilot.press("escape")
            await wait_for(pilot, app.cancel.is_set, what="cancel")
            gate.set()
            await wait_for(pilot, lambda: not app.syncing, what="sync stopped")
            await plan_shown(pilot, app)
            seen["left"] = set(table_of(app).actions)
            seen["journal"] = journal(app)

        run_scenario(a, scenario)
        uploaded = shared.latest()
        # Nothing that had not sent its request when escape came goes out (the request gate);
        # so at most the actions in flight finished, and here none had started talking to S3.
        assert len(uploaded) <= a.config.workers
        assert all(files[p].encode() == data for p, data in uploaded.items())
        assert seen["left"] == set(files) - set(uploaded)
        assert "Sync stopped:" in seen["journal"]
        assert not list((internal_dir(a.root) / "tmp").glob("*"))
        monkeypatch.undo()
        report = sync(a)
        assert {o.action.path for o in report.done} == seen["left"]
        assert shared.latest() == {p: t.encode() for p, t in files.items()}

    def test_errors_are_notices_never_a_crash(self, two) -> None:
        """A sync that cannot run (another holds the drive) is a notice and a log line."""
        a, _ = two
        write(a.root, "x.txt", "x")
        seen: dict[str, Any] = {}

        async def scenario(pilot: Pilot_, app: CloudDriveApp) -> None:
            await plan_shown(pilot, app)
            with DriveLock(internal_dir(a.root) / "lock"):
                await pilot.press("s")
                await wait_for(pilot, lambda: not app.syncing, what="sync refused")
            await pilot.press("l")
            seen["journal"] = journal(app)
            seen["log_lines"] = len(app.screen.query_one("#log").lines)  # type: ignore[attr-defined]
            seen["running"] = app.is_running

        run_scenario(a, scenario)
        assert "sync failed: another clouddrive sync of this drive is running" in seen["journal"]
        assert seen["log_lines"] >= 1 and seen["running"]


class TestConflicts:
    @pytest.mark.parametrize("key", ["b", "t"])
    def test_resolve_from_the_screen(self, two, shared, key: str) -> None:
        """enter on a conflict, then keep both / theirs: files and versions as chosen, the
        losing side recoverable (keep mine: tests/test_resolve.py and the keys' test)."""
        a, b = two
        write(a.root, "doc.txt", "base")
        sync(a)
        sync(b)
        write(b.root, "doc.txt", "bob's")
        sync(b)
        write(a.root, "doc.txt", "ann's")
        seen: dict[str, Any] = {}

        async def scenario(pilot: Pilot_, app: CloudDriveApp) -> None:
            await plan_shown(pilot, app)
            assert table_of(app).actions["doc.txt"].kind is ActionKind.CONFLICT
            await cursor_to(pilot, table_of(app), "doc.txt")
            await pilot.press("enter")
            await wait_for(pilot, lambda: isinstance(app.screen, ConflictScreen))
            await pilot.press(key)
            await wait_for(pilot, lambda: "doc.txt: kept" in journal(app), what="resolved")
            await plan_shown(pilot, app)
            seen["left"] = dict(table_of(app).actions)

        run_scenario(a, scenario)
        assert seen["left"] == {}
        files = tree(a.root)
        if key == "b":
            assert files["doc.txt"] == b"bob's"
            assert list(conflict_copies(files).values()) == [b"ann's"]
            assert shared.latest() == files
        else:
            assert files == {"doc.txt": b"bob's"}
            assert shared.contents("doc.txt") == (b"bob's", sorted([b"base"], key=repr))
            [copy] = a.deleted()
            assert shared.contents(copy.path) == (None, sorted([b"ann's"], key=repr))


class TestTimeTravel:
    def test_restore_a_deleted_file(self, two, shared) -> None:
        """d, select, r, y: the deleted file is back here and current on S3 again."""
        a, _ = two
        write(a.root, "keep.txt", "keep")
        write(a.root, "gone.txt", "precious")
        sync(a)
        (a.root / "gone.txt").unlink()
        sync(a)
        seen: dict[str, Any] = {}

        async def scenario(pilot: Pilot_, app: CloudDriveApp) -> None:
            await plan_shown(pilot, app)
            await pilot.press("d")
            await wait_for(pilot, lambda: isinstance(app.screen, DeletedScreen))
            screen = app.screen
            assert isinstance(screen, DeletedScreen)
            await settle(pilot)
            seen["listed"] = [(f.path, f.deleted_by) for f in screen.files]
            await pilot.press("slash", *"gone", "enter", "space")
            seen["selected"] = set(screen.selected)
            await pilot.press("r")
            await wait_for(pilot, lambda: isinstance(app.screen, PlanConfirmScreen))
            await pilot.press("y")
            await wait_for(pilot, lambda: "restore deleted files: 1 done" in journal(app))
            await settle(pilot)
            seen["after"] = list(screen.files)
            await pilot.press("escape")
            await plan_shown(pilot, app)
            seen["plan"] = dict(table_of(app).actions)

        run_scenario(a, scenario)
        assert seen["listed"] == [("gone.txt", "ann")]
        assert seen["selected"] == {"gone.txt"}
        assert seen["after"] == [] and seen["plan"] == {}
        assert tree(a.root) == {"keep.txt": b"keep", "gone.txt": b"precious"}
        assert shared.contents("gone.txt") == (b"precious", sorted([None, b"precious"], key=repr))

    def test_view_and_restore_an_older_version(self, two, shared) -> None:
        """h (no row: find the file), v views the older version, r + y makes it current."""
        a, _ = two
        write(a.root, "notes.md", "first draft")
        sync(a)
        write(a.root, "notes.md", "second draft")
        sync(a)
        seen: dict[str, Any] = {}

        async def scenario(pilot: Pilot_, app: CloudDriveApp) -> None:
            await plan_shown(pilot, app)
            await pilot.press("h")
            await wait_for(pilot, lambda: isinstance(app.screen, FindFileScreen))
            await pilot.press(*"notes", "enter")
            await wait_for(pilot, lambda: isinstance(app.screen, HistoryScreen))
            history = app.screen
            assert isinstance(history, HistoryScreen)
            await settle(pilot)
            seen["versions"] = len(history.versions)
            await pilot.press("v")
            await wait_for(pilot, lambda: isinstance(app.screen, TextViewScreen))
            seen["text"] = app.screen.query_one(TextArea).text
            await pilot.press("escape")
            await pilot.press("r")
            await wait_for(pilot, lambda: isinstance(app.screen, PlanConfirmScreen))
            await pilot.press("y")
            await wait_for(pilot, lambda: "1 done" in journal(app), what="restored")
            await settle(pilot)
            seen["after"] = len(history.versions)

        run_scenario(a, scenario)
        assert seen["versions"] == 2 and seen["text"] == "first draft"
        assert seen["after"] == 3
        assert tree(a.root) == {"notes.md": b"first draft"}
        assert shared.contents("notes.md") == (
            b"first draft",
            sorted([b"second draft", b"first draft"], key=repr),
        )

    def test_undo_a_run_from_the_activity_feed(self, two, shared) -> None:
        """a, u on the newest run, y: that run's upload is undone on S3 and here."""
        a, b = two
        write(a.root, "old.txt", "old")
        sync(a)
        write(b.root, "oops.txt", "should not be here")
        sync(b)
        sync(a)
        seen: dict[str, Any] = {}

        async def scenario(pilot: Pilot_, app: CloudDriveApp) -> None:
            await plan_shown(pilot, app)
            await pilot.press("a")
            await wait_for(pilot, lambda: isinstance(app.screen, ActivityScreen))
            screen = app.screen
            assert isinstance(screen, ActivityScreen)
            await settle(pilot)
            seen["feed"] = [(r.user, r.kind) for r in screen.runs]
            bobs = next(r for r in screen.runs if r.user == "bob")
            await cursor_to(pilot, screen.table, bobs.run_id)
            await pilot.press("u")
            await wait_for(pilot, lambda: isinstance(app.screen, PlanConfirmScreen))
            await pilot.press("y")
            await wait_for(pilot, lambda: "1 done" in journal(app), what="undone")

        run_scenario(a, scenario)
        assert seen["feed"] == [("ann", "sync"), ("bob", "sync"), ("ann", "sync")]
        assert tree(a.root) == {"old.txt": b"old"}
        assert shared.contents("oops.txt") == (None, sorted([b"should not be here"], key=repr))


class TestQuitting:
    def test_q_quits_and_a_running_sync_asks_first(self, two, shared, monkeypatch) -> None:
        """q quits at once when idle; while syncing it asks, then stops cleanly and quits:
        what finished is on S3 and in the run record, the drive is free for the next sync,
        which does the rest. Actions wait at a gate until the quit is confirmed."""
        a, _ = two
        files = {f"q{i:02}.txt": str(i) for i in range(40)}
        for path, text in files.items():
            write(a.root, path, text)
        gate = threading.Event()
        gate_transfers(monkeypatch, gate)
        seen: dict[str, Any] = {}

        async def scenario(pilot: Pilot_, app: CloudDriveApp) -> None:
            await plan_shown(pilot, app)
            await pilot.press("s")
            await wait_for(pilot, lambda: isinstance(app.screen, SyncConfirmScreen))
            await pilot.press("y")
            await wait_for(pilot, lambda: app.syncing and app.screen.query("#progress"))
            await pilot.press("q")
            await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
            await pilot.press("y")
            await wait_for(pilot, app.cancel.is_set, what="cancel")
            gate.set()
            await wait_for(pilot, lambda: not app.is_running, what="exit")
            seen["code"] = app.return_code

        run_scenario(a, scenario)
        assert seen["code"] == 0
        monkeypatch.undo()
        uploaded = shared.latest()
        assert len(uploaded) < len(files)  # at most what was in flight; never the rest
        assert all(files[p].encode() == data for p, data in uploaded.items())
        [record] = a.activity()
        assert {x.path for x in record.actions} == set(uploaded)
        report = sync(a)  # the lock was released; the rest goes up now
        assert {o.action.path for o in report.done} == set(files) - set(uploaded)


def gate_transfers(
    monkeypatch: pytest.MonkeyPatch, gate: threading.Event, started: threading.Event | None = None
) -> None:
    """Every transfer waits at `gate` before it starts: on a worker (`Executor.execute`),
    or sent ahead (`Objects.start_upload`, before its request leaves)."""
    execute, start_upload = Executor.execute, Objects.start_upload

    def wait() -> None:
        if started is not None:
            started.set()
        assert gate.wait(30), "the test never opened the gate"

    def gated(self: Executor, action: Action) -> Outcome:
        wait()
        return execute(self, action)

    def gated_start(self: Objects, *args: Any, **kwargs: Any) -> Any:
        wait()
        return start_upload(self, *args, **kwargs)

    monkeypatch.setattr(Executor, "execute", gated)
    monkeypatch.setattr(Objects, "start_upload", gated_start)


def test_filter_input_takes_typed_letters(two) -> None:
    """Typing in the deleted screen's filter goes to the filter, not to the bindings."""
    a, _ = two
    seen: dict[str, Any] = {}

    async def scenario(pilot: Pilot_, app: CloudDriveApp) -> None:
        await plan_shown(pilot, app)
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, DeletedScreen))
        await settle(pilot)
        await pilot.press("slash", *"quiet r")
        seen["value"] = app.screen.query_one(Input).value
        seen["still"] = isinstance(app.screen, DeletedScreen) and app.is_running

    run_scenario(a, scenario)
    assert seen == {"value": "quiet r", "still": True}
