"""SVG snapshots of every screen and dialog at 120x35 and at 80x24 (where nothing may be cut
off: dialogs fit, the footer shows every key), on a drive with fixed data and a fixed clock
(tests/tui/fakes.py), so that each snapshot is the same on every run.

Update after a deliberate change of the look: `pytest tests/test_tui_snapshots.py
--snapshot-update`, then look at the SVGs under tests/__snapshots__/ before committing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from textual.pilot import Pilot

from clouddrive.core.models import Plan
from clouddrive.errors import GuardTripped, RemoteError
from clouddrive.tui.app import CloudDriveApp
from clouddrive.tui.screens.activity import ActivityScreen
from clouddrive.tui.screens.confirm import ConfirmScreen
from clouddrive.tui.screens.confirm_plan import PlanConfirmScreen
from clouddrive.tui.screens.confirm_sync import SyncConfirmScreen
from clouddrive.tui.screens.conflict import ConflictScreen
from clouddrive.tui.screens.deleted import FOLDER, DeletedScreen
from clouddrive.tui.screens.find_file import FindFileScreen
from clouddrive.tui.screens.help import HelpScreen
from clouddrive.tui.screens.history import HistoryScreen
from clouddrive.tui.screens.link import LinkScreen
from clouddrive.tui.screens.run_changes import RunChangesScreen
from clouddrive.tui.screens.sync import SyncScreen
from clouddrive.tui.screens.text_view import TextViewScreen
from clouddrive.tui.widgets.plan_table import PlanTable
from tests.tui.fakes import fake_app
from tests.tui.pilotkit import SIZE, settle, wait_for

Pilot_ = Pilot[Any]
Steps = Callable[[Pilot_, CloudDriveApp], Awaitable[None]]

#: every snapshot is taken at both sizes: the everyday one and the smallest supported
SIZES = {"wide": SIZE, "small": (80, 24)}


@pytest.fixture(params=list(SIZES))
def size(request: pytest.FixtureRequest) -> tuple[int, int]:
    return SIZES[request.param]


def shot(
    snap_compare: Any,
    app: CloudDriveApp,
    steps: Steps | None = None,
    *,
    size: tuple[int, int] = SIZE,
) -> bool:
    """The app's screenshot after the plan is shown and `steps` ran, with no toasts (they
    time out by the wall clock)."""

    async def run_before(pilot: Pilot_) -> None:
        screen = app.screen
        assert isinstance(screen, SyncScreen)
        await wait_for(pilot, lambda: screen.plan is not None, what="plan")
        await settle(pilot, but=("sync",))
        if steps is not None:
            await steps(pilot, app)
        await settle(pilot, but=("sync",))
        app.clear_notifications()
        await pilot.pause()

    return bool(snap_compare(app, terminal_size=size, run_before=run_before))


def press_until(*keys: str, screen: type[Any]) -> Steps:
    async def steps(pilot: Pilot_, app: CloudDriveApp) -> None:
        await pilot.press(*keys)
        await wait_for(pilot, lambda: isinstance(app.screen, screen), what=screen.__name__)

    return steps


class TestSyncScreen:
    def test_plan(self, snap_compare: Any, size: tuple[int, int]) -> None:
        """The plan: conflict first, deletes, then transfers; who changed what and when."""
        app, _ = fake_app()
        assert shot(snap_compare, app, size=size)

    def test_skipped_row_and_log(self, snap_compare: Any, size: tuple[int, int]) -> None:
        """space strikes an action out for this run; l shows the log panel."""
        app, _ = fake_app()

        async def steps(pilot: Pilot_, app: CloudDriveApp) -> None:
            table = app.screen.query_one(PlanTable)
            table.move_cursor(row=table.get_row_index("budget.xlsx"))
            await pilot.press("space", "l")

        assert shot(snap_compare, app, steps, size=size)

    def test_everything_in_sync(self, snap_compare: Any, size: tuple[int, int]) -> None:
        """An empty plan says so."""
        app, _ = fake_app(plan=Plan())
        assert shot(snap_compare, app, size=size)

    def test_sync_confirmation(self, snap_compare: Any, size: tuple[int, int]) -> None:
        """s asks first, listing conflicts and deletes before the totals."""
        app, _ = fake_app()
        assert shot(snap_compare, app, press_until("s", screen=SyncConfirmScreen), size=size)

    def test_conflict_choices(self, snap_compare: Any, size: tuple[int, int]) -> None:
        """enter on the conflict offers keep mine / theirs / both."""
        app, _ = fake_app()
        assert shot(snap_compare, app, press_until("enter", screen=ConflictScreen), size=size)

    def test_progress(self, snap_compare: Any, size: tuple[int, int]) -> None:
        """Mid-sync: the bar, bytes and files done, rate, time left, transfers in flight."""
        app, drive = fake_app(hold_after=4)

        async def steps(pilot: Pilot_, app: CloudDriveApp) -> None:
            await press_until("s", screen=SyncConfirmScreen)(pilot, app)
            await pilot.press("y")
            await wait_for(pilot, drive.paused.is_set, what="sync paused")
            screen = app.screen
            assert isinstance(screen, SyncScreen)
            screen._drain()  # everything the paused sync reported (the timer may lag)
            await wait_for(pilot, lambda: screen.query_one("#progress").display)

        assert shot(snap_compare, app, steps, size=size)


class TestDeletedScreen:
    def test_filtered_and_selected(self, snap_compare: Any, size: tuple[int, int]) -> None:
        """The deleted files, filtered, one selected."""
        app, _ = fake_app()

        async def steps(pilot: Pilot_, app: CloudDriveApp) -> None:
            await press_until("d", screen=DeletedScreen)(pilot, app)
            await settle(pilot)
            await pilot.press("space", "slash", *"o", "enter")

        assert shot(snap_compare, app, steps, size=size)

    def test_restore_confirmation(self, snap_compare: Any, size: tuple[int, int]) -> None:
        """r shows the restore plan and what it leaves alone."""
        app, _ = fake_app()

        async def steps(pilot: Pilot_, app: CloudDriveApp) -> None:
            await press_until("d", screen=DeletedScreen)(pilot, app)
            await settle(pilot)
            await pilot.press("space", "space")
            await press_until("r", screen=PlanConfirmScreen)(pilot, app)

        assert shot(snap_compare, app, steps, size=size)


class TestHistoryScreen:
    def test_versions(self, snap_compare: Any, size: tuple[int, int]) -> None:
        """h on a row: its versions and delete markers, who and when."""
        app, _ = fake_app()
        assert shot(snap_compare, app, press_until("h", screen=HistoryScreen), size=size)

    def test_view_text_version(self, snap_compare: Any, size: tuple[int, int]) -> None:
        """v shows a text version read-only."""
        app, _ = fake_app()

        async def steps(pilot: Pilot_, app: CloudDriveApp) -> None:
            await press_until("h", screen=HistoryScreen)(pilot, app)
            await settle(pilot)
            await press_until("v", screen=TextViewScreen)(pilot, app)

        assert shot(snap_compare, app, steps, size=size)

    def test_find_a_file(self, snap_compare: Any, size: tuple[int, int]) -> None:
        """f finds any file by part of its path."""
        app, _ = fake_app()

        async def steps(pilot: Pilot_, app: CloudDriveApp) -> None:
            await press_until("f", screen=FindFileScreen)(pilot, app)
            await pilot.press(*"re")

        assert shot(snap_compare, app, steps, size=size)


class TestActivityScreen:
    def test_feed(self, snap_compare: Any, size: tuple[int, int]) -> None:
        """a: runs by everyone, users on the left, the run's changes below."""
        app, _ = fake_app()
        assert shot(snap_compare, app, press_until("a", screen=ActivityScreen), size=size)

    def test_undo_confirmation(self, snap_compare: Any, size: tuple[int, int]) -> None:
        """u on a run shows what undoing it does."""
        app, _ = fake_app()

        async def steps(pilot: Pilot_, app: CloudDriveApp) -> None:
            await press_until("a", screen=ActivityScreen)(pilot, app)
            await settle(pilot)
            await press_until("u", screen=PlanConfirmScreen)(pilot, app)

        assert shot(snap_compare, app, steps, size=size)


class TestDialogsAndStates:
    """Issue 13: help, the link, a run's changes, the guard and quit questions, and the
    states a list can be in, at both sizes."""

    def test_help_on_the_sync_screen(self, snap_compare: Any, size: tuple[int, int]) -> None:
        """? lists every key of the sync screen, and what it does."""
        app, _ = fake_app()
        assert shot(snap_compare, app, press_until("question_mark", screen=HelpScreen), size=size)

    def test_help_on_recently_deleted(self, snap_compare: Any, size: tuple[int, int]) -> None:
        """F1 works the same on every screen: here, recently deleted's keys."""
        app, _ = fake_app()

        async def steps(pilot: Pilot_, app: CloudDriveApp) -> None:
            await press_until("d", screen=DeletedScreen)(pilot, app)
            await settle(pilot)
            await press_until("f1", screen=HelpScreen)(pilot, app)

        assert shot(snap_compare, app, steps, size=size)

    def test_deleted_folder_opened(self, snap_compare: Any, size: tuple[int, int]) -> None:
        """A folder with deleted files is one row; enter opens it (natural order: clip2
        before clip10; a conflict copy keeps its name)."""
        app, _ = fake_app()

        async def steps(pilot: Pilot_, app: CloudDriveApp) -> None:
            await press_until("d", screen=DeletedScreen)(pilot, app)
            await settle(pilot)
            screen = app.screen
            assert isinstance(screen, DeletedScreen)
            screen.table.move_cursor(row=screen.table.get_row_index(FOLDER + "docs/"))
            await pilot.press("enter")

        assert shot(snap_compare, app, steps, size=size)

    def test_deleted_failed_to_load(self, snap_compare: Any, size: tuple[int, int]) -> None:
        """A failed read says so (not "nothing deleted")."""
        app, drive = fake_app()

        def fail(*args: Any, **kwargs: Any) -> Any:
            raise RemoteError("cannot reach S3 during listing versions: refused")

        drive.deleted = fail  # type: ignore[method-assign]
        assert shot(snap_compare, app, press_until("d", screen=DeletedScreen), size=size)

    def test_check_failed_after_in_sync(self, snap_compare: Any, size: tuple[int, int]) -> None:
        """In sync, then S3 goes away and r fails: no "Everything is in sync" beside it."""
        app, drive = fake_app(plan=Plan())

        async def steps(pilot: Pilot_, app: CloudDriveApp) -> None:
            def fail() -> Plan:
                raise RemoteError("cannot reach S3 during listing: connection refused")

            drive.status = fail  # type: ignore[method-assign]
            await pilot.press("r")
            await settle(pilot, but=("sync",))

        assert shot(snap_compare, app, steps, size=size)

    def test_download_link(self, snap_compare: Any, size: tuple[int, int]) -> None:
        """c on a version: its presigned link, shown in full."""
        app, _ = fake_app()

        async def steps(pilot: Pilot_, app: CloudDriveApp) -> None:
            await press_until("h", screen=HistoryScreen)(pilot, app)
            await settle(pilot)
            await press_until("c", screen=LinkScreen)(pilot, app)

        assert shot(snap_compare, app, steps, size=size)

    def test_changes_of_a_run(self, snap_compare: Any, size: tuple[int, int]) -> None:
        """enter on a run lists all its changes (the panel shows the first few)."""
        app, _ = fake_app()

        async def steps(pilot: Pilot_, app: CloudDriveApp) -> None:
            await press_until("a", screen=ActivityScreen)(pilot, app)
            await settle(pilot)
            screen = app.screen
            assert isinstance(screen, ActivityScreen)
            screen.table.move_cursor(row=screen.table.get_row_index("r-ann-8"))
            await press_until("enter", screen=RunChangesScreen)(pilot, app)

        assert shot(snap_compare, app, steps, size=size)

    def test_safety_guard(self, snap_compare: Any, size: tuple[int, int]) -> None:
        """A tripped guard asks in the app's words (no CLI flags)."""
        app, drive = fake_app()

        def tripped(**kwargs: Any) -> Any:
            raise GuardTripped(
                "the plan deletes 40 files on S3 (limit 20); nothing was changed. Check the "
                "plan with 'clouddrive status', then use --max-delete N or --force"
            )

        drive.sync = tripped  # type: ignore[method-assign]
        assert shot(snap_compare, app, press_until("s", screen=ConfirmScreen), size=size)

    def test_quit_while_syncing(self, snap_compare: Any, size: tuple[int, int]) -> None:
        """q during a sync asks first."""
        app, drive = fake_app(hold_after=2)

        async def steps(pilot: Pilot_, app: CloudDriveApp) -> None:
            await press_until("s", screen=SyncConfirmScreen)(pilot, app)
            await pilot.press("y")
            await wait_for(pilot, drive.paused.is_set, what="sync paused")
            await press_until("q", screen=ConfirmScreen)(pilot, app)

        assert shot(snap_compare, app, steps, size=size)


class TestStartup:
    def test_screen_paints_before_the_plan(self) -> None:
        """The sync screen is up (and says it is checking) while planning still runs."""
        import threading

        gate = threading.Event()
        app, drive = fake_app(status_gate=gate)
        seen: dict[str, Any] = {}

        async def main() -> None:
            async with app.run_test(size=SIZE) as pilot:
                screen = app.screen
                assert isinstance(screen, SyncScreen)
                await pilot.pause()
                seen["planning"] = screen.planning and screen.plan is None
                seen["status"] = str(screen.query_one("#counts").render())
                gate.set()
                await wait_for(pilot, lambda: screen.plan is not None)
                seen["rows"] = screen.query_one(PlanTable).row_count

        asyncio.run(main())
        assert seen["planning"] and "Checking" in seen["status"]
        assert seen["rows"] == len(drive.plan.visible())


@pytest.mark.parametrize("choice", ["m", "t", "b"])
def test_conflict_keys_resolve_through_the_engine(choice: str) -> None:
    """Each key of the conflict dialog calls `Drive.resolve` with its choice, then re-plans."""
    app, drive = fake_app()

    async def main() -> None:
        async with app.run_test(size=SIZE) as pilot:
            screen = app.screen
            assert isinstance(screen, SyncScreen)
            await wait_for(pilot, lambda: screen.plan is not None)
            await press_until("enter", screen=ConflictScreen)(pilot, app)
            await pilot.press(choice)
            await wait_for(pilot, lambda: any(c[0] == "resolve" for c in drive.calls))
            await settle(pilot)

    asyncio.run(main())
    names = {"m": "mine", "t": "theirs", "b": "both"}
    assert ("resolve", ("docs/report.txt", names[choice])) in drive.calls


def test_skip_reaches_the_engine() -> None:
    """The rows toggled off are passed to `Drive.sync(skip=...)`."""
    app, drive = fake_app()
    drive_calls: list[Any] = drive.calls

    async def main() -> None:
        async with app.run_test(size=SIZE) as pilot:
            screen = app.screen
            assert isinstance(screen, SyncScreen)
            await wait_for(pilot, lambda: screen.plan is not None)
            table = screen.query_one(PlanTable)
            table.move_cursor(row=table.get_row_index("photos/cat.jpg"))
            await pilot.press("space", "s")
            await wait_for(pilot, lambda: isinstance(app.screen, SyncConfirmScreen))
            await pilot.press("y")
            await wait_for(pilot, lambda: not app.syncing)

    asyncio.run(main())
    assert ("sync", ["photos/cat.jpg"]) in drive_calls
