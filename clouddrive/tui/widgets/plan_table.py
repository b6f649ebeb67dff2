"""The plan as a table: one row per visible action, conflicts first, then deletes.

Columns: included in this run, glyph, action, path, size, who changed it and when, and the
action's state while a sync runs. A conflict's whole row is highlighted; an action toggled
off for this run is struck through.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.widgets import DataTable

from clouddrive.core.models import Action, ActionKind, LocalChange, Plan, RemoteChange
from clouddrive.tui.fmt import Clock, ago, glyph, natural_key, size
from clouddrive.tui.widgets.columns import Column, fit_columns

__all__ = ["MAX_ROWS", "PlanTable", "fit_path", "plan_order"]

_PRIORITY = {
    ActionKind.CONFLICT: 0,
    ActionKind.DELETE_LOCAL: 1,
    ActionKind.DELETE_REMOTE: 1,
}
#: column key, title, width (the path takes what is left), narrowest
_COLUMNS: tuple[Column, ...] = (
    ("on", "", 3, 3),
    ("glyph", "", 1, 1),
    ("action", "action", 12, 12),
    ("path", "path", 0, 15),
    ("size", "size", 9, 8),
    ("who", "by", 12, 6),
    ("when", "when", 12, 10),
    ("state", "", 9, 7),
)
#: rows listed at most (conflicts and deletes come first); adding a row costs the UI thread
MAX_ROWS = 1000
#: rows added at once when a plan is shown; the rest follow ROWS_PER_FRAME a frame
FIRST_ROWS = 150
ROWS_PER_FRAME = 150
MORE_KEY = "\x00more"


def plan_order(plan: Plan) -> list[Action]:
    """The visible actions: conflicts, then deletes, then the rest; by path within each."""
    return sorted(plan.visible(), key=lambda a: (_PRIORITY.get(a.kind, 2), natural_key(a.path)))


def fit_path(path: str, width: int) -> str:
    """`path` in `width` cells, cut at the front (the file name is what matters); a name
    too long by itself (a conflict copy's) keeps its start and its end, cut in the middle."""
    if len(path) <= width:
        return path
    if width <= 1:
        return "…"
    name = path.rsplit("/", 1)[-1]
    if len(name) < width:
        return "…" + path[-(width - 1) :]
    tail = min(12, (width - 1) // 3)
    return name[: width - 1 - tail] + "…" + (name[-tail:] if tail else "")


def _size_of(action: Action) -> str:
    """The size a row shows: a conflict's is theirs (what arrives), not both sides added."""
    if action.kind is ActionKind.CONFLICT and action.remote is not None:
        return size(action.remote.size)
    return size(action.size) if action.size else ""


def _remote_side(action: Action) -> bool:
    """Did the change this action carries out happen on S3 (rather than here)?"""
    if action.kind in (ActionKind.UPLOAD, ActionKind.DELETE_REMOTE):
        return False
    return action.remote_change in (
        RemoteChange.CREATED,
        RemoteChange.MODIFIED,
        RemoteChange.DELETED,
    )


class PlanTable(DataTable[Text]):
    """The plan's rows, keyed by path. Enter on a conflict selects it (to resolve it)."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("enter", "select_cursor", "Resolve")]

    def __init__(self, clock: Clock, user: str = "", *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self.clock = clock
        self.user = user
        self.actions: dict[str, Action] = {}
        self.skipped: set[str] = set()
        self.authors: dict[str, str] = {}
        self.states: dict[str, Text] = {}
        self._path_width = 40
        self._plan: Plan | None = None
        self._laid_out_for = 0

    def on_mount(self) -> None:
        self._add_columns()

    def _add_columns(self) -> None:
        width = self.size.width or self.app.size.width
        self._laid_out_for = width
        widths = fit_columns(_COLUMNS, width, margin=4)
        self._path_width = widths["path"]
        for key, title, _, _ in _COLUMNS:
            self.add_column(title, key=key, width=widths[key])

    def on_resize(self) -> None:
        """Fit the columns to the new width, and the rows (paths are cut to fit) with them."""
        width = self.size.width
        if not width or width == self._laid_out_for or not self._laid_out_for:
            return
        states, row = dict(self.states), self.cursor_row
        self.clear(columns=True)
        self._add_columns()
        if self._plan is not None:
            self.show_plan(self._plan, set(self.skipped))
            for path, state in states.items():
                self.set_state(path, state)
            if self.row_count:
                self.move_cursor(row=min(row, self.row_count - 1))

    # -- filling ---------------------------------------------------------------------------

    def show_plan(self, plan: Plan, skipped: set[str]) -> None:
        """Replace the rows with `plan`'s visible actions (cursor kept on the same path);
        past MAX_ROWS, one last row says how many more the sync also carries out.

        The first FIRST_ROWS rows go in at once, the rest ROWS_PER_FRAME a frame (`filling`
        meanwhile), so that a long plan never holds the keyboard up."""
        current = self.selected_action()
        self.clear()
        self._plan = plan
        self._generation += 1
        ordered = plan_order(plan)
        self.actions = {a.path: a for a in ordered[:MAX_ROWS]}
        self.skipped = {p for p in skipped if p in self.actions}
        self.states = {}
        rows = list(self.actions.values())
        more = len(ordered) - len(rows)
        self.filling = True
        self._add_rows(self._generation, rows, 0, FIRST_ROWS, more, current)

    def _add_rows(
        self,
        generation: int,
        rows: list[Action],
        start: int,
        count: int,
        more: int,
        current: Action | None,
    ) -> None:
        if generation != self._generation:
            return  # a newer plan replaced this one meanwhile
        for action in rows[start : start + count]:
            self.add_row(*self._cells(action), key=action.path)
        if start + count < len(rows):
            self.call_after_refresh(
                self._add_rows, generation, rows, start + count, ROWS_PER_FRAME, more, current
            )
            return
        if more > 0:
            line = f"… and {more:,} more, not listed: the sync does them too"
            if len(line) > self._path_width:
                line = f"… and {more:,} more (synced too)"
            width = self._path_width
            note = Text(line if len(line) <= width else line[: width - 1] + "…", style="dim")
            self.add_row(*[Text("")] * 3, note, *[Text("")] * 4, key=MORE_KEY)
        if current is not None and current.path in self.rows:
            self.move_cursor(row=self.get_row_index(current.path))
        self.filling = False

    filling = False  #: rows of the plan are still being added
    _generation = 0

    def _cells(self, action: Action) -> list[Text]:
        mark, label, colour = glyph(action.kind)
        off = action.path in self.skipped
        conflict = action.kind is ActionKind.CONFLICT
        row = "bold yellow" if conflict else ""
        if off:
            row = "dim strike"
        who, when = self._who_when(action)
        return [
            Text("[ ]" if off else "[x]", style="dim" if off else "green"),
            Text(mark, style="dim" if off else colour),
            Text(label, style=row or colour),
            Text(fit_path(action.path, self._path_width), style=row),
            Text(_size_of(action), style=row or "", justify="right"),
            Text(who, style=row or ("cyan" if who != "…" else "dim")),
            Text(when, style=row or "dim"),
            self.states.get(action.path, Text("skipped", style="dim") if off else Text("")),
        ]

    def _who_when(self, action: Action) -> tuple[str, str]:
        if _remote_side(action):
            assert action.remote is not None
            who = self.authors.get(action.path, "…")
            return who[:12], ago(action.remote.last_modified, self.clock)
        if action.kind is ActionKind.UPLOAD and action.local is not None:
            moment = datetime.fromtimestamp(action.local.mtime_ns / 1e9, UTC)
            return "you", ago(moment, self.clock)
        if action.local_change is LocalChange.DELETED:
            return "you", ""
        return "", ""

    def _refresh_row(self, path: str) -> None:
        action = self.actions.get(path)
        if action is None or path not in self.rows:
            return
        for (key, _, _, _), cell in zip(_COLUMNS, self._cells(action), strict=True):
            self.update_cell(path, key, cell)

    # -- changes ---------------------------------------------------------------------------

    def toggle(self, path: str) -> bool:
        """Toggle `path` off (or back on) for this run; whether it is now included."""
        if path in self.skipped:
            self.skipped.discard(path)
        else:
            self.skipped.add(path)
        self._refresh_row(path)
        return path not in self.skipped

    def set_authors(self, authors: dict[str, str]) -> None:
        self.authors.update(authors)
        for path in authors:
            if path in self.rows and _remote_side(self.actions[path]):
                self.update_cell(path, "who", self._cells(self.actions[path])[5])

    def set_state(self, path: str, state: Text) -> None:
        if path in self.actions:
            self.states[path] = state  # a row not added yet gets it when it is
            if path in self.rows:
                self.update_cell(path, "state", state)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "select_cursor":
            selected = self.selected_action()
            return selected is not None and selected.kind is ActionKind.CONFLICT
        return True

    def on_data_table_row_highlighted(self) -> None:
        self.refresh_bindings()  # "enter Resolve" shows on conflicts only

    def selected_action(self) -> Action | None:
        if not self.actions or self.cursor_row < 0 or self.row_count == 0:
            return None
        try:
            key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key
        except Exception:  # no rows
            return None
        return self.actions.get(str(key.value))
