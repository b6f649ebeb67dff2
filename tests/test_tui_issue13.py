"""Issue 13, the app tried as a new user would: one Pilot test (or more) per numbered item,
on the fixed fake drive (tests/tui/fakes.py) unless the item is about the engine's bytes.

Each test here failed before its fix. Wall time is measured for item 11 and printed (run
with `-s` to see it), never asserted."""

from __future__ import annotations

import asyncio
import os
import statistics
import threading
import time
from collections.abc import Callable, Collection
from dataclasses import replace
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable, Footer, Input
from textual.widgets._footer import FooterKey

from clouddrive import errors
from clouddrive.core.models import Action, ActionKind, LocalChange, Plan, RemoteChange
from clouddrive.sync.executor import Outcome
from clouddrive.sync.report import SyncReport
from clouddrive.tui.app import CloudDriveApp
from clouddrive.tui.screens.activity import ActivityScreen
from clouddrive.tui.screens.confirm import ConfirmScreen
from clouddrive.tui.screens.confirm_plan import PlanConfirmScreen
from clouddrive.tui.screens.confirm_sync import SyncConfirmScreen
from clouddrive.tui.screens.conflict import ConflictScreen
from clouddrive.tui.screens.deleted import DeletedScreen
from clouddrive.tui.screens.help import HelpScreen
from clouddrive.tui.screens.history import HistoryScreen
from clouddrive.tui.screens.link import LinkScreen
from clouddrive.tui.screens.run_changes import RunChangesScreen
from clouddrive.tui.screens.sync import SyncScreen
from clouddrive.tui.widgets.log_panel import LogPanel
from clouddrive.tui.widgets.operation import OperationLine
from clouddrive.tui.widgets.plan_table import PlanTable, fit_path, plan_order
from clouddrive.tui.widgets.progress import SyncProgressPanel
from tests.drivekit import write
from tests.tui.fakes import DELETED, FakeClock, FakeDrive, _remote, at, fake_app
from tests.tui.pilotkit import SIZE, journal, settle, wait_for

Pilot_ = Pilot[Any]
Scenario = Callable[[Pilot_, CloudDriveApp], Any]


def play(app: CloudDriveApp, scenario: Scenario, *, size: tuple[int, int] = SIZE) -> None:
    async def main() -> None:
        async with app.run_test(size=size) as pilot:
            await scenario(pilot, app)

    asyncio.run(main())


async def plan_shown(pilot: Pilot_, app: CloudDriveApp) -> SyncScreen:
    screen = app.screen
    assert isinstance(screen, SyncScreen)
    await wait_for(pilot, lambda: screen.plan is not None and not screen.planning, what="plan")
    await settle(pilot, but=("sync",))
    await wait_for(pilot, lambda: not screen.query_one(PlanTable).filling, what="rows")
    return screen


async def until_screen(pilot: Pilot_, app: CloudDriveApp, kind: type[Any]) -> Any:
    await wait_for(pilot, lambda: isinstance(app.screen, kind), what=kind.__name__)
    return app.screen


def status_text(app: CloudDriveApp, widget_id: str) -> str:
    return str(app.screen.query_one(f"#{widget_id}").render())


def downloads(count: int, stem: str = "f") -> Plan:
    return Plan(
        actions=tuple(
            Action(
                ActionKind.DOWNLOAD,
                f"{stem}{i:05d}.txt",
                LocalChange.ABSENT,
                RemoteChange.CREATED,
                remote=_remote(f"{stem}{i:05d}.txt", 10, 100),
            )
            for i in range(count)
        )
    )


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

    def test_escape_counts_what_never_started_as_left(self) -> None:
        """The end message counts the actions that never started (and those in flight that
        did not finish) as left for the next sync."""
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
        # 7 visible actions; 3 finished before the pause (the record is bookkeeping)
        assert "Sync stopped: 3 done, 0 failed, 4 left for the next sync" in journal(app)


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


# -- 7: 80x24 and resizing -------------------------------------------------------------------


def _table_fits(table: DataTable[Any]) -> bool:
    used = sum(c.get_render_width(table) for c in table.columns.values())
    return used <= table.size.width


class TestSmallTerminal:
    def test_columns_follow_a_resize(self) -> None:
        """Columns are laid out again when the terminal shrinks to 80x24 and grows back."""
        app, _ = fake_app()
        seen: dict[str, Any] = {}

        async def scenario(pilot: Pilot_, app: CloudDriveApp) -> None:
            await plan_shown(pilot, app)
            table = app.screen.query_one(PlanTable)
            wide = table._path_width
            await pilot.resize_terminal(80, 24)
            await pilot.pause(0.2)
            seen["narrow"] = (table._path_width < wide, _table_fits(table), table.row_count)
            await pilot.press("d")
            deleted = await until_screen(pilot, app, DeletedScreen)
            await settle(pilot)
            seen["deleted"] = _table_fits(deleted.table)
            await pilot.resize_terminal(120, 35)
            await pilot.pause(0.2)
            seen["deleted_wide"] = deleted.widths["path"] > 30
            await pilot.press("escape")
            await pilot.pause(0.2)
            seen["wide"] = table._path_width == wide

        play(app, scenario)
        assert seen == {
            "narrow": (True, True, 7),
            "deleted": True,
            "deleted_wide": True,
            "wide": True,
        }

    def test_footer_shows_log_quit_and_help_at_80_columns(self) -> None:
        app, _ = fake_app()
        seen: dict[str, Any] = {}

        async def scenario(pilot: Pilot_, app: CloudDriveApp) -> None:
            await plan_shown(pilot, app)
            keys = list(app.screen.query(FooterKey))
            footer = app.screen.query_one(Footer)
            seen["keys"] = {k.key for k in keys}
            seen["fits"] = sum(k.outer_size.width for k in keys) <= footer.size.width

        play(app, scenario, size=(80, 24))
        assert {"l", "q", "question_mark", "s", "d", "a", "h"} <= seen["keys"]
        assert seen["fits"]


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


# -- 9: help, the command palette, the dialogs' own keys -------------------------------------


class TestHelp:
    @pytest.mark.parametrize("key", ["question_mark", "f1"])
    def test_help_lists_every_key_of_the_screen(self, key: str) -> None:
        app, _ = fake_app()
        seen: dict[str, Any] = {}

        async def scenario(pilot: Pilot_, app: CloudDriveApp) -> None:
            await plan_shown(pilot, app)
            await pilot.press(key)
            help_screen = await until_screen(pilot, app, HelpScreen)
            seen["keys"] = {k for k, _, _ in help_screen.keys}
            await pilot.press("escape")
            await until_screen(pilot, app, SyncScreen)
            await pilot.press("a")
            await until_screen(pilot, app, ActivityScreen)
            await settle(pilot)
            await pilot.press(key)
            help_screen = await until_screen(pilot, app, HelpScreen)
            seen["activity"] = {k for k, _, _ in help_screen.keys}

        play(app, scenario)
        for want in ("s", "r", "␣", "⏎", "h", "f", "d", "a", "l", "esc", "q", "? / f1", "^p"):
            assert want in seen["keys"], want
        for want in ("esc", "u", "tab", "^r", "⏎"):
            assert want in seen["activity"], want

    def test_command_palette_has_the_screens_actions(self) -> None:
        app, _ = fake_app()
        seen: dict[str, Any] = {}

        async def scenario(pilot: Pilot_, app: CloudDriveApp) -> None:
            await plan_shown(pilot, app)
            seen["titles"] = [c.title for c in app.get_system_commands(app.screen)]
            seen["on"] = app.ENABLE_COMMAND_PALETTE

        play(app, scenario)
        assert seen["on"]
        assert {"Sync", "Deleted", "Activity", "Log", "Help", "Quit"} <= set(seen["titles"])

    def test_dialogs_show_their_own_keys(self) -> None:
        app, _ = fake_app()
        seen: dict[str, Any] = {}

        async def scenario(pilot: Pilot_, app: CloudDriveApp) -> None:
            await plan_shown(pilot, app)
            await pilot.press("enter")
            dialog = await until_screen(pilot, app, ConflictScreen)
            await pilot.pause()
            seen["keys"] = {k.key for k in dialog.query(FooterKey)}

        play(app, scenario)
        assert seen["keys"] == {"m", "t", "b", "escape"}


# -- 10: the smaller items -------------------------------------------------------------------


class TestSmaller:
    def test_who_changed_rows_past_200(self) -> None:
        app, _ = fake_app(plan=downloads(450))
        seen: dict[str, Any] = {}

        async def scenario(pilot: Pilot_, app: CloudDriveApp) -> None:
            await plan_shown(pilot, app)
            table = app.screen.query_one(PlanTable)
            seen["who"] = {table.authors.get(p) for p in table.actions}

        play(app, scenario)
        assert seen["who"] == {"unknown"}  # the fake's author of these; none left at "…"

    def test_the_last_row_of_a_long_plan_fits(self) -> None:
        app, _ = fake_app(plan=downloads(1100))
        seen: dict[str, Any] = {}

        async def scenario(pilot: Pilot_, app: CloudDriveApp) -> None:
            await plan_shown(pilot, app)
            table = app.screen.query_one(PlanTable)
            cell = table.get_cell("\x00more", "path")
            seen["cell"] = (cell.plain, table._path_width)

        play(app, scenario, size=(80, 24))
        text, width = seen["cell"]
        assert text.startswith("… and 100 more") and len(text) <= width

    def test_natural_order_and_names_kept(self) -> None:
        plan = replace(downloads(0), actions=downloads(1, "clip10").actions
                       + downloads(1, "clip2").actions)  # fmt: skip
        assert [a.path for a in plan_order(plan)] == ["clip200000.txt", "clip1000000.txt"]
        name = "docs/report (conflict bob 2025-03-12 093000).txt"
        assert fit_path(name, 24).startswith("report (conflict")

    def test_conflict_row_shows_theirs_size(self) -> None:
        app, _ = fake_app()
        seen: dict[str, Any] = {}

        async def scenario(pilot: Pilot_, app: CloudDriveApp) -> None:
            await plan_shown(pilot, app)
            seen["size"] = app.screen.query_one(PlanTable).get_cell("docs/report.txt", "size")

        play(app, scenario)
        assert seen["size"].plain == "2.0 KiB"  # theirs, not 1.2 + 2.0 KiB

    def test_empty_log_says_so(self) -> None:
        app, _ = fake_app(plan=Plan())
        seen: dict[str, Any] = {}

        async def scenario(pilot: Pilot_, app: CloudDriveApp) -> None:
            await plan_shown(pilot, app)
            app.journal.clear()
            await pilot.press("l")
            await pilot.pause()
            seen["lines"] = [line.text for line in app.screen.query_one(LogPanel).lines]

        play(app, scenario)
        assert any("Nothing logged yet" in line for line in seen["lines"])

    def test_s_during_the_first_check_syncs_after_it(self) -> None:
        gate = threading.Event()
        app, _ = fake_app(status_gate=gate)

        async def scenario(pilot: Pilot_, app: CloudDriveApp) -> None:
            await pilot.pause()
            await pilot.press("s")
            await pilot.pause()
            assert "Syncing as soon as the check" in journal(app)
            gate.set()
            await until_screen(pilot, app, SyncConfirmScreen)
            await pilot.press("n")

        play(app, scenario)

    def test_all_changes_of_a_run(self) -> None:
        app, _ = fake_app()
        seen: dict[str, Any] = {}

        async def scenario(pilot: Pilot_, app: CloudDriveApp) -> None:
            await plan_shown(pilot, app)
            await pilot.press("a")
            screen = await until_screen(pilot, app, ActivityScreen)
            await settle(pilot)
            screen.table.move_cursor(row=screen.table.get_row_index("r-ann-8"))
            await pilot.press("enter")
            dialog = await until_screen(pilot, app, RunChangesScreen)
            seen["text"] = str(dialog.query_one(".dialog-body").render())

        play(app, scenario)
        for path in ("docs/report.txt", "photos/dog.jpg", "slides/deck.pdf", "big.iso"):
            assert path in seen["text"]

    def test_deleted_folder_is_one_row_that_opens(self) -> None:
        app, _ = fake_app()
        seen: dict[str, Any] = {}

        async def scenario(pilot: Pilot_, app: CloudDriveApp) -> None:
            await plan_shown(pilot, app)
            await pilot.press("d")
            screen = await until_screen(pilot, app, DeletedScreen)
            await settle(pilot)
            seen["top"] = [str(k.value) for k in screen.table.rows]
            screen.table.move_cursor(row=screen.table.get_row_index("\x00dir:photos/"))
            await pilot.press("enter")
            seen["photos"] = [str(k.value) for k in screen.table.rows]
            await pilot.press("enter")
            seen["2019"] = [str(k.value) for k in screen.table.rows]
            await pilot.press("escape", "escape")
            seen["back"] = (screen.folder, isinstance(app.screen, DeletedScreen))

        play(app, scenario)
        assert seen["top"] == [
            "\x00dir:docs/", "\x00dir:old/", "\x00dir:photos/", "\x00dir:reports/",
            "\x00dir:scratch/", "clip2.mov", "clip10.mov",
        ]  # fmt: skip
        assert seen["photos"] == ["\x00dir:photos/2019/"]
        assert seen["2019"] == ["photos/2019/beach.jpg"]
        assert seen["back"] == ("", True)

    def test_reload_is_in_the_footer(self) -> None:
        app, _ = fake_app()
        seen: dict[str, Any] = {}

        async def scenario(pilot: Pilot_, app: CloudDriveApp) -> None:
            await plan_shown(pilot, app)
            await pilot.press("d")
            await until_screen(pilot, app, DeletedScreen)
            await settle(pilot)
            seen["keys"] = {k.key for k in app.screen.query(FooterKey)}

        play(app, scenario)
        assert "ctrl+r" in seen["keys"]

    def test_guard_dialog_names_no_cli_flags(self) -> None:
        app, drive = fake_app()
        seen: dict[str, Any] = {}

        def tripped(**kwargs: Any) -> Any:
            raise errors.GuardTripped(
                "the plan deletes 40 files on S3 (limit 20); nothing was changed. Check the "
                "plan with 'clouddrive status', then use --max-delete N or --force"
            )

        drive.sync = tripped  # type: ignore[method-assign]

        async def scenario(pilot: Pilot_, app: CloudDriveApp) -> None:
            await plan_shown(pilot, app)
            await pilot.press("s")
            dialog = await until_screen(pilot, app, ConfirmScreen)
            seen["body"] = str(dialog.body)

        play(app, scenario)
        assert "deletes 40 files" in seen["body"]
        assert "--max-delete" not in seen["body"] and "--force" not in seen["body"]

    def test_c_makes_a_download_link(self) -> None:
        app, drive = fake_app()
        seen: dict[str, Any] = {}

        async def scenario(pilot: Pilot_, app: CloudDriveApp) -> None:
            await plan_shown(pilot, app)
            await pilot.press("h")
            await until_screen(pilot, app, HistoryScreen)
            await settle(pilot)
            await pilot.press("c")
            dialog = await until_screen(pilot, app, LinkScreen)
            seen["url"] = str(dialog.query_one("#link-url").render())

        play(app, scenario)
        assert ("link", ("docs/report.txt", "2Jd7Tq8xYb3z")) in drive.calls
        assert "versionId=2Jd7Tq8xYb3z" in seen["url"]


# -- 11: latency (measured and printed, never asserted) ------------------------------------------


class _BusySync(FakeDrive):
    """A sync of `count` small files whose outcomes pour in from a worker thread as fast
    as the engine's callbacks can be called (1 ms apart)."""

    count: int = 10_000

    def sync(
        self,
        *,
        confirm: Callable[[Plan], bool] | None = None,
        on_outcome: Callable[[Outcome], None] | None = None,
        on_plan: Callable[[Plan], None] | None = None,
        cancel: threading.Event | None = None,
        on_start: Callable[[Action], None] | None = None,
        skip: Collection[str] = (),
        **kwargs: Any,
    ) -> SyncReport:
        plan = self.plan
        if on_plan:
            on_plan(plan)
        if confirm is not None and not confirm(plan):
            raise errors.Refused("cancelled")
        report = SyncReport(plan=plan, run_id="r-busy")
        for action in plan.actions:
            if cancel is not None and cancel.is_set():
                break
            if on_start:
                on_start(action)
            outcome = Outcome(action, bytes_moved=action.size)
            report.outcomes.append(outcome)
            if on_outcome:
                on_outcome(outcome)
            time.sleep(0.001)
        report.cancelled = bool(cancel and cancel.is_set())
        return report


def test_latency_during_a_sync_of_10000_files_and_filtering(capsys) -> None:
    """Item 11: how long a key takes to answer while a 10,000-file sync runs, and a filter
    keystroke on 4,500 deleted files. Printed; a CI machine's wall time proves nothing."""
    clock = FakeClock()
    drive = _BusySync(clock, plan=downloads(10_000))
    many = [
        replace(DELETED[0], path=f"folder{i % 30}/file{i}.txt", deleted_at=at(i % 500))
        for i in range(4_500)
    ]
    drive.deleted_files = many
    app = CloudDriveApp(lambda: drive, clock=clock.clock(), root_hint=str(drive.root))
    timings: dict[str, list[float]] = {"key": [], "move": [], "filter": []}

    async def scenario(pilot: Pilot_, app: CloudDriveApp) -> None:
        screen = await plan_shown(pilot, app)
        log = screen.query_one(LogPanel)
        await pilot.press("s")
        await until_screen(pilot, app, SyncConfirmScreen)
        await pilot.press("y")
        await wait_for(pilot, lambda: screen.query_one(SyncProgressPanel).display)
        for _ in range(20):
            before = log.display
            started = time.perf_counter()
            await pilot.press("l")
            while log.display == before:
                await asyncio.sleep(0.001)
            timings["key"].append(time.perf_counter() - started)
            await asyncio.sleep(0.05)
        table = screen.query_one(PlanTable)
        table.focus()
        for _ in range(20):
            row = table.cursor_row
            started = time.perf_counter()
            await pilot.press("down")
            while table.cursor_row == row:
                await asyncio.sleep(0.001)
            timings["move"].append(time.perf_counter() - started)
            await asyncio.sleep(0.05)
        app.cancel.set()
        await wait_for(pilot, lambda: not app.syncing, timeout=60)
        await settle(pilot)
        await pilot.press("d")
        deleted = await until_screen(pilot, app, DeletedScreen)
        await settle(pilot)
        await pilot.press("slash")
        for letter in "file1":
            started = time.perf_counter()
            await pilot.press(letter)
            await pilot.pause(0.13)  # the filter's pause, then the work
            timings["filter"].append(time.perf_counter() - started - 0.13)
        assert deleted._listed > 0

    play(app, scenario)

    def ms(name: str) -> str:
        values = timings[name]
        return f"median {statistics.median(values) * 1000:.0f} ms, max {max(values) * 1000:.0f} ms"

    with capsys.disabled():
        print(
            f"\n[item 11] during a 10,000-file sync: l (log panel) {ms('key')}; ↓ (row)"
            f" {ms('move')}; a filter keystroke on 4,500 deleted files: {ms('filter')}"
            f" (load average {os.getloadavg()[0]:.1f})"
        )
    assert len(timings["key"]) == len(timings["move"]) == 20 and len(timings["filter"]) == 5
