"""Issue 13, items 7 and 9: 80x24 and resizing (columns, the footer), help, the command
palette and the dialogs' own keys; each test failed before its fix. The look itself is in
the snapshots (tests/test_tui_snapshots.py), at 120x35 and 80x24."""

from __future__ import annotations

from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable, Footer
from textual.widgets._footer import FooterKey

from clouddrive.tui.app import CloudDriveApp
from clouddrive.tui.screens.activity import ActivityScreen
from clouddrive.tui.screens.conflict import ConflictScreen
from clouddrive.tui.screens.deleted import DeletedScreen
from clouddrive.tui.screens.help import HelpScreen
from clouddrive.tui.screens.sync import SyncScreen
from clouddrive.tui.widgets.plan_table import PlanTable
from tests.tui.fakes import fake_app
from tests.tui.pilotkit import (
    plan_shown,
    play,
    settle,
    until_screen,
)

Pilot_ = Pilot[Any]


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
