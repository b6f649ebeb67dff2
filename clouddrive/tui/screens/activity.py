"""Activity: the runs of every user of the prefix (sync, restore, undo, resolve), by user;
the highlighted run's changes below; undo a run."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Label, OptionList, Static
from textual.widgets.option_list import Option

from clouddrive.tui.drive_api import DriveAPI
from clouddrive.tui.fmt import ago, stamp
from clouddrive.tui.messages import ActivityLoaded
from clouddrive.tui.screens.table_screen import TableScreen, table_bindings
from clouddrive.tui.widgets.footer import AppFooter
from clouddrive.tui.widgets.operation import OperationLine

if TYPE_CHECKING:
    from clouddrive.history.plans import TimeTravelPlan
    from clouddrive.history.records import RunRecord

__all__ = ["OPS", "ActivityScreen", "run_summary"]

#: how many of the newest runs are read
FEED_LIMIT = 500
EVERYONE = "\x00everyone"
#: op -> (glyph, colour), in the order summaries list them
OPS = {
    "upload": ("↑", "green"),
    "download": ("↓", "cyan"),
    "conflict-copy": ("⚠", "yellow"),
    "restore": ("↺", "green"),
    "delete-remote": ("✗", "red"),
    "delete-local": ("✗", "red"),
}
_DETAIL_LINES = 6


def run_summary(record: RunRecord) -> Text:
    """`↑2 ↓1 ✗1`: the run's actions by kind; `✗ 1 failed` after."""
    text = Text()
    counts = record.counts()
    for op, (mark, colour) in OPS.items():
        if counts.get(op):
            text.append(f"{mark}{counts[op]} ", style=colour)
    other = sum(n for op, n in counts.items() if op not in OPS)
    if other:
        text.append(f"+{other} ", style="dim")
    if record.failed:
        text.append(f"· {len(record.failed)} failed", style="red")
    return text


class ActivityScreen(TableScreen):
    HELP_TITLE = "Activity"
    BINDINGS: ClassVar[list[BindingType]] = table_bindings(
        Binding("enter", "changes", "Changes", tooltip="Every change of the highlighted run"),
        Binding("u", "undo", "Undo", tooltip="Undo the highlighted run (asks first)"),
        Binding("tab", "switch", "Users", tooltip="Between the users and the runs"),
    )
    FOOTER_SPARE = frozenset({"reload"})
    TABLE_ID = "runs-table"
    STATUS_ID = "activity-status"
    COLUMNS = (
        ("when", "when", 16, 0),
        ("ago", "", 11, 10),
        ("who", "who", 12, 6),
        ("kind", "what", 15, 8),
        ("changes", "changes", 0, 20),
        ("run", "run", 10, 0),
    )

    def __init__(self) -> None:
        super().__init__()
        self.runs: list[RunRecord] = []
        self.shown: dict[str, RunRecord] = {}
        self.who = EVERYONE

    def compose(self) -> ComposeResult:
        yield Label(" ⏱  Activity: who did what, newest first", classes="screen-title")
        with Horizontal(id="activity-body"):
            yield OptionList(id="users")
            with Vertical(id="activity-main"):
                yield self.new_table()
                yield Static("", id="run-detail")
        yield Static("", id="activity-status", classes="status-line")
        yield OperationLine()
        yield AppFooter()

    def on_mount(self) -> None:
        self.add_columns()
        self.query_one("#users", OptionList).border_title = "Users"
        self.query_one("#run-detail", Static).border_title = "Changes of the run"
        self.action_reload()

    def action_reload(self) -> None:
        self.load("reading the activity", lambda d: ActivityLoaded(d.activity(limit=FEED_LIMIT)))

    def on_activity_loaded(self, message: ActivityLoaded) -> None:
        self.loaded()
        self.runs = message.runs
        users: dict[str, int] = {}
        for record in self.runs:
            users[record.user] = users.get(record.user, 0) + 1
        options = self.query_one("#users", OptionList)
        options.clear_options()
        options.add_option(Option(f"Everyone ({len(self.runs)})", id=EVERYONE))
        for user in sorted(users):
            options.add_option(Option(f"{user} ({users[user]})", id=user))
        ids = [EVERYONE, *sorted(users)]
        if self.who not in ids:
            self.who = EVERYONE
        options.highlighted = ids.index(self.who)
        self._fill()
        self.table.focus()

    def _fill(self) -> None:
        table = self.table
        table.clear()
        self.shown = {}
        clock = self.shell.clock
        for record in self.runs:
            if self.who != EVERYONE and record.user != self.who:
                continue
            self.shown[record.run_id] = record
            kind = record.kind + (f" of {record.undo_of[:8]}" if record.undo_of else "")
            table.add_row(
                Text(stamp(record.started, clock)),
                Text(ago(record.started, clock), style="dim"),
                Text(record.user, style="cyan"),
                Text(kind),
                run_summary(record),
                Text(record.run_id[:10], style="dim"),
                key=record.run_id,
            )
        self.show_status()
        self._detail()

    def refill(self) -> None:
        self._fill()

    def on_resize(self, event: events.Resize) -> None:
        self.call_after_refresh(self._detail)  # as many of the run's changes as fit

    def status_for(self) -> tuple[str, str]:
        if self.state == "loading":
            return "⟳ Reading the activity…", "cyan"
        if self.state == "failed":
            return f"Could not read the activity: {self.error} · ctrl+r tries again", "red"
        if not self.runs:
            return "No runs yet: syncs, restores and undos of every user show here.", "dim"
        count = len(self.shown)
        status = f"{count} run(s)" + ("" if self.who == EVERYONE else f" by {self.who}")
        return f"{status} · enter lists a run's changes · u undoes it (asks first)", "dim"

    def _current(self) -> RunRecord | None:
        key = self.current_key()
        return None if key is None else self.shown.get(key)

    def _detail(self) -> None:
        record = self._current()
        detail = self.query_one("#run-detail", Static)
        if record is None:
            detail.update(Text("Reading…" if self.state == "loading" else "No runs.", style="dim"))
            return
        text = Text()
        text.append(f"{record.kind} by {record.user}", style="bold")
        if record.host:
            text.append(f" on {record.host}", style="dim")
        text.append(f" · run {record.run_id}\n", style="dim")
        lines = max(1, (detail.content_size.height or _DETAIL_LINES + 2) - 2)
        for action in record.actions[:lines]:
            mark, colour = OPS.get(action.op, ("·", "dim"))
            text.append(f"{mark} ", style=colour)
            text.append(f"{action.op:<14}", style="dim")
            text.append(f"{action.path}\n")
        if len(record.actions) > lines:
            more = len(record.actions) - lines
            text.append(f"… and {more} more: enter lists them all\n", style="dim")
        for failure in record.failed[:2]:
            text.append(f"✗ {failure.get('path')}: {failure.get('error')}\n", style="red")
        detail.update(text)

    @on(DataTable.RowHighlighted, "#runs-table")
    def _run_highlighted(self) -> None:
        self._detail()

    @on(OptionList.OptionHighlighted, "#users")
    def _user_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        user = str(event.option.id)
        if user != self.who:
            self.who = user
            self._fill()

    @on(OptionList.OptionSelected, "#users")
    def _user_selected(self) -> None:
        self.table.focus()

    def action_switch(self) -> None:
        users = self.query_one("#users", OptionList)
        if users.has_focus:
            self.table.focus()
        else:
            users.focus()

    def action_changes(self) -> None:
        record = self._current()
        if record is None:
            return
        from clouddrive.tui.screens.run_changes import RunChangesScreen

        self.app.push_screen(RunChangesScreen(record, self.shell.clock))

    @on(DataTable.RowSelected, "#runs-table")
    def _run_chosen(self) -> None:
        self.action_changes()

    def action_undo(self) -> None:
        record = self._current()
        if record is None:
            return
        run_id = record.run_id

        def plan(drive: DriveAPI) -> TimeTravelPlan:
            return drive.plan_undo(run_id)

        self.time_travel(f"planning the undo of run {run_id}", "Undo", plan)
