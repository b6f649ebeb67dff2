"""Issue 13, items 1-6 and 8: the app's flows tried as a new user would (stop, the dead
dialog, progress, one operation at a time, the states of a list, failures, a server that
moved), each with a Pilot test that failed before its fix, on the fixed fake drive
(tests/tui/fakes.py) except where the engine's bytes are the point."""

from __future__ import annotations

import asyncio
import os
import threading
from typing import Any

from textual.pilot import Pilot
from textual.widgets import Input

from clouddrive import errors
from clouddrive.core.models import Plan
from clouddrive.sync.outcome import Outcome
from clouddrive.tui.app import CloudDriveApp
from clouddrive.tui.screens.confirm import ConfirmScreen
from clouddrive.tui.screens.confirm_plan import PlanConfirmScreen
from clouddrive.tui.screens.confirm_sync import SyncConfirmScreen
from clouddrive.tui.screens.deleted import DeletedScreen
from clouddrive.tui.screens.sync import SyncScreen
from clouddrive.tui.widgets.operation import OperationLine
from clouddrive.tui.widgets.progress import SyncProgressPanel
from tests.drivekit import write
from tests.tui.fakes import FakeClock, FakeDrive, fake_app
from tests.tui.pilotkit import (
    journal,
    plan_shown,
    play,
    settle,
    status_text,
    until_screen,
    wait_for,
)

Pilot_ = Pilot[Any]


# -- 1 (the app's side): stop, the title, what is left ---------------------------------------


class TestStop:
    def test_stop_and_quit_says_stopping(self) -> None:
        """ "Stop and quit" shows the run as stopping (the title no longer says Syncing)."""
        app, drive = fake_app(hold_after=4)
        seen: dict[str, Any] = {}

        async def scenario(pilot: Pilot_, app: CloudDriveApp) -> None:
            await plan_shown(pilot, app)
            await pilot.press("s")
            await until_screen(pilot, app, SyncConfirmScreen)
            await pilot.press("y")
            await wait_for(pilot, drive.paused.is_set, what="sync paused")
            await pilot.press("q")
            await until_screen(pilot, app, ConfirmScreen)
            drive.release.clear()
            await pilot.press("y")
            await pilot.pause()
            panel = app.screen.query_one(SyncProgressPanel)
            seen["title"] = str(panel.query_one("#progress-title").render())
            seen["cancel"] = app.cancel.is_set()

        play(app, scenario)
        assert seen == {"title": "Stopping", "cancel": True}

    def test_escape_names_what_was_abandoned_in_flight_and_what_never_started(self) -> None:
        """The end message names the transfers abandoned in flight apart from the actions
        that never started: the first may still complete on S3 (the next sync checks
        them and moves nothing twice), the second wait for the next sync."""
        app, drive = fake_app(hold_after=4)

        async def scenario(pilot: Pilot_, app: CloudDriveApp) -> None:
            await plan_shown(pilot, app)
            await pilot.press("s")
            await until_screen(pilot, app, SyncConfirmScreen)
            await pilot.press("y")
            await wait_for(pilot, drive.paused.is_set, what="sync paused")
            await pilot.press("escape")
            await wait_for(pilot, lambda: not app.syncing, what="stopped")

        play(app, scenario)
        # 7 visible actions; 3 finished before the pause (the record is bookkeeping), 2 in
        # flight when escape came, 2 never started
        assert (
            "Sync stopped: 3 done, 0 failed, 2 in flight abandoned (the next sync checks "
            "them), 2 left for the next sync" in journal(app)
        )


# -- 2: escape before the confirmation -------------------------------------------------------


class TestEscapeBeforeConfirmation:
    def test_no_dead_dialog(self) -> None:
        """s, escape while the sync still checks for changes: it is cancelled, and the
        confirmation never appears afterwards."""
        gate = threading.Event()
        app, drive = fake_app(sync_gate=gate)
        seen: dict[str, Any] = {}

        async def scenario(pilot: Pilot_, app: CloudDriveApp) -> None:
            await plan_shown(pilot, app)
            await pilot.press("s")
            await wait_for(pilot, lambda: ("sync", []) in drive.calls, what="sync started")
            await pilot.press("escape")
            gate.set()
            await wait_for(pilot, lambda: not app.syncing, what="sync over")
            await settle(pilot)
            await asyncio.sleep(0.3)
            await pilot.pause()
            seen["screen"] = type(app.screen).__name__
            seen["stack"] = [type(s).__name__ for s in app.screen_stack]

        play(app, scenario)
        assert seen == {"screen": "SyncScreen", "stack": ["SyncScreen"]}
        assert journal(app).count("Sync cancelled; nothing was changed.") == 1
        assert "stopping the sync" not in journal(app)


# -- 3: progress that moves --------------------------------------------------------------------


def test_bytes_move_while_a_file_is_sent_and_received(two) -> None:
    """`Drive.sync(on_bytes=...)` reports a large upload's and download's bytes as they go
    (several calls per file, summing to its size), through botocore's events."""
    a, b = two
    big = os.urandom(20 * 2**20 + 5)
    write(a.root, "big.bin", big)
    moved: dict[str, list[int]] = {}
    done: dict[str, int] = {}

    def on_bytes(path: str, count: int) -> None:
        moved.setdefault(path, []).append(count)

    def on_outcome(outcome: Outcome) -> None:
        done[outcome.action.path] = len(moved.get(outcome.action.path, []))

    a.sync(on_bytes=on_bytes, on_outcome=on_outcome)
    assert len(moved["big.bin"]) > 4 and sum(moved["big.bin"]) >= len(big)
    assert done["big.bin"] == len(moved["big.bin"])  # all counted before it finished
    moved.clear()
    b.sync(on_bytes=on_bytes)
    assert len(moved["big.bin"]) > 4 and sum(moved["big.bin"]) == len(big)
    assert (b.root / "big.bin").read_bytes() == big
    moved.clear()
    a.sync(on_bytes=None)  # no hook left behind on the client
    write(a.root, "again.bin", b"x" * 1000)
    a.sync()
    assert moved == {}


# -- 4: one operation at a time --------------------------------------------------------------


class TestOneOperationAtATime:
    def test_second_restore_is_refused_and_the_first_reports(self) -> None:
        """r, y, then r again while the first restore runs: the operation line shows the
        first (spinner), the second is refused with a notice, and the first's summary
        arrives and the list reloads."""
        gate = threading.Event()
        app, drive = fake_app(apply_gate=gate)
        seen: dict[str, Any] = {}

        async def scenario(pilot: Pilot_, app: CloudDriveApp) -> None:
            await plan_shown(pilot, app)
            await pilot.press("d")
            screen = await until_screen(pilot, app, DeletedScreen)
            await settle(pilot)
            await pilot.press("a", "r")
            await until_screen(pilot, app, PlanConfirmScreen)
            await pilot.press("y")
            await wait_for(pilot, lambda: ("apply", "restore-deleted") in drive.calls)
            line = screen.query_one(OperationLine)
            seen["line"] = (line.display, line.what)
            await pilot.press("r")
            await pilot.pause()
            seen["second"] = isinstance(app.screen, PlanConfirmScreen)
            gate.set()
            await wait_for(pilot, lambda: "restore deleted files: " in journal(app))
            await settle(pilot)
            seen["after"] = (line.display, screen.selected, app.operation)

        play(app, scenario)
        assert seen["line"][0] and "Restore deleted files" in str(seen["line"][1])
        assert seen["second"] is False
        assert "Not started: Restore deleted files" in journal(app)
        assert [c for c in drive.calls if c[0] == "apply"] == [("apply", "restore-deleted")]
        assert seen["after"] == (False, set(), None)

    def test_the_result_arrives_after_leaving_the_screen(self) -> None:
        """A restore outlives its screen: escape while it runs, and its summary still comes."""
        gate = threading.Event()
        app, drive = fake_app(apply_gate=gate)

        async def scenario(pilot: Pilot_, app: CloudDriveApp) -> None:
            await plan_shown(pilot, app)
            await pilot.press("d")
            await until_screen(pilot, app, DeletedScreen)
            await settle(pilot)
            await pilot.press("space", "r")
            await until_screen(pilot, app, PlanConfirmScreen)
            await pilot.press("y")
            await wait_for(pilot, lambda: ("apply", "restore-deleted") in drive.calls)
            await pilot.press("escape")
            await until_screen(pilot, app, SyncScreen)
            assert app.screen.query_one(OperationLine).display
            gate.set()
            await wait_for(pilot, lambda: "restore deleted files: 1 done" in journal(app))

        play(app, scenario)


# -- 5: four states, each with its own words -------------------------------------------------


class TestStates:
    def test_deleted_loading_keeps_keys_out_of_the_filter(self) -> None:
        """While recently deleted loads, a / r / escape do not type into the filter, and
        it says it is reading (not "nothing deleted")."""
        app, drive = fake_app()
        gate = threading.Event()
        original = drive.deleted
        seen: dict[str, Any] = {}

        def slow(*args: Any, **kwargs: Any) -> Any:
            gate.wait(10)
            return original(*args, **kwargs)

        drive.deleted = slow  # type: ignore[method-assign]

        async def scenario(pilot: Pilot_, app: CloudDriveApp) -> None:
            await plan_shown(pilot, app)
            await pilot.press("d")
            await until_screen(pilot, app, DeletedScreen)
            await pilot.press("a", "r", "x")
            seen["typed"] = app.screen.query_one(Input).value
            seen["loading"] = status_text(app, "deleted-status")
            gate.set()
            await settle(pilot)
            seen["ready"] = status_text(app, "deleted-status")
            await pilot.press("slash", *"zzz", "enter")
            await pilot.pause(0.3)
            seen["nothing"] = status_text(app, "deleted-status")

        play(app, scenario)
        assert seen["typed"] == ""
        assert "Reading" in seen["loading"] and "Nothing deleted" not in seen["loading"]
        assert seen["ready"].startswith(" 7 deleted file(s)")
        assert "No deleted file matches “zzz” (of 7)" in seen["nothing"]

    def test_deleted_empty_and_failed_differ(self) -> None:
        app, drive = fake_app(deleted_files=[])
        seen: dict[str, str] = {}

        async def scenario(pilot: Pilot_, app: CloudDriveApp) -> None:
            await plan_shown(pilot, app)
            await pilot.press("d")
            await until_screen(pilot, app, DeletedScreen)
            await settle(pilot)
            seen["empty"] = status_text(app, "deleted-status")

            def fail(*args: Any, **kwargs: Any) -> Any:
                raise errors.RemoteError("S3 is down")

            drive.deleted = fail  # type: ignore[method-assign]
            await pilot.press("ctrl+r")
            await settle(pilot)
            seen["failed"] = status_text(app, "deleted-status")

        play(app, scenario)
        assert "Nothing deleted" in seen["empty"]
        assert "Could not read recently deleted: S3 is down" in seen["failed"]
        assert "Nothing deleted" not in seen["failed"]

    def test_no_in_sync_beside_a_failed_check(self) -> None:
        app, drive = fake_app(plan=Plan())
        seen: dict[str, str] = {}

        async def scenario(pilot: Pilot_, app: CloudDriveApp) -> None:
            await plan_shown(pilot, app)

            def fail() -> Plan:
                raise errors.RemoteError("S3 is down")

            drive.status = fail  # type: ignore[method-assign]
            await pilot.press("r")
            await settle(pilot)
            seen["pane"] = status_text(app, "in-sync")
            seen["counts"] = status_text(app, "counts")

        play(app, scenario)
        assert "Could not check for changes" in seen["pane"]
        assert "in sync" not in seen["pane"] and "in sync" not in seen["counts"]


# -- 8: the embedded server moved ------------------------------------------------------------


def test_reopens_the_drive_when_its_server_moved() -> None:
    """A drive whose server no longer answers is opened afresh (an embedded drive looks its
    endpoint up on open), and the header shows the new endpoint."""
    clock = FakeClock()

    class Moved(FakeDrive):
        @property
        def endpoint(self) -> str:
            return "http://127.0.0.1:9999"

    old = FakeDrive(clock)
    new = Moved(clock)
    opened: list[FakeDrive] = []

    def down() -> Plan:
        raise errors.ServerUnreachable("cannot reach S3 during listing: connection refused")

    old.status = down  # type: ignore[method-assign]

    def opener() -> FakeDrive:
        drive = old if not opened else new
        opened.append(drive)
        return drive

    app = CloudDriveApp(opener, clock=clock.clock(), root_hint=str(old.root))
    seen: dict[str, Any] = {}

    async def scenario(pilot: Pilot_, app: CloudDriveApp) -> None:
        await plan_shown(pilot, app)
        seen["header"] = str(app.screen.query_one("#drive-header").render())

    play(app, scenario)
    assert opened == [old, new] and app.drive is new
    assert "http://127.0.0.1:9999" in seen["header"]
    assert "failed" not in journal(app)
