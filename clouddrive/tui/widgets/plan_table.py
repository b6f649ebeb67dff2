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
from clouddrive.tui.fmt import Clock, ago, glyph, size

__all__ = ["MAX_ROWS", "PlanTable", "fit_path", "plan_order"]

_PRIORITY = {
    ActionKind.CONFLICT: 0,
    ActionKind.DELETE_LOCAL: 1,
    ActionKind.DELETE_REMOTE: 1,
}
#: column key, title, width (the path takes what is left)
_COLUMNS = (
    ("on", "", 3),
    ("glyph", "", 1),
    ("action", "action", 12),
    ("path", "path", 0),
    ("size", "size", 9),
    ("who", "changed by", 12),
    ("when", "when", 12),
    ("state", "", 9),
)
_MIN_PATH = 24
#: rows listed at most (conflicts and deletes come first); adding a row costs the UI thread
MAX_ROWS = 1000
MORE_KEY = "\x00more"


def plan_order(plan: Plan) -> list[Action]:
    """The visible actions: conflicts, then deletes, then the rest; by path within each."""
    return sorted(plan.visible(), key=lambda a: (_PRIORITY.get(a.kind, 2), a.path))


def fit_path(path: str, width: int) -> str:
    """`path` in `width` cells, cut at the front (the file name is what matters)."""
    if len(path) <= width:
        return path
    return "…" + path[-(width - 1) :] if width > 1 else "…"


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

    def on_mount(self) -> None:
        self._add_columns()

    def _add_columns(self) -> None:
        fixed = sum(w + 2 for key, _, w in _COLUMNS if key != "path") + 2
        available = (self.size.width or self.app.size.width) - fixed - 2
        self._path_width = max(_MIN_PATH, available)
        for key, title, width in _COLUMNS:
            self.add_column(title, key=key, width=width or self._path_width)

    # -- filling ---------------------------------------------------------------------------

    def show_plan(self, plan: Plan, skipped: set[str]) -> None:
        """Replace the rows with `plan`'s visible actions (cursor kept on the same path);
        past MAX_ROWS, one last row says how many more the sync also carries out."""
        current = self.selected_action()
        self.clear()
        ordered = plan_order(plan)
        self.actions = {a.path: a for a in ordered[:MAX_ROWS]}
        self.skipped = {p for p in skipped if p in self.actions}
        self.states = {}
        for action in self.actions.values():
            self.add_row(*self._cells(action), key=action.path)
        more = len(ordered) - len(self.actions)
        if more > 0:
            note = Text(f"… and {more:,} more, not listed: the sync does them too", style="dim")
            self.add_row(*[Text("")] * 3, note, *[Text("")] * 4, key=MORE_KEY)
        if current is not None and current.path in self.actions:
            self.move_cursor(row=self.get_row_index(current.path))

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
            Text(size(action.size) if action.size else "", style=row or "", justify="right"),
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
            return "you (here)", ago(moment, self.clock)
        if action.local_change is LocalChange.DELETED:
            return "you (here)", ""
        return "", ""

    def _refresh_row(self, path: str) -> None:
        action = self.actions.get(path)
        if action is None:
            return
        for (key, _, _), cell in zip(_COLUMNS, self._cells(action), strict=True):
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
            if path in self.actions and _remote_side(self.actions[path]):
                self.update_cell(path, "who", self._cells(self.actions[path])[5])

    def set_state(self, path: str, state: Text) -> None:
        if path in self.actions:
            self.states[path] = state
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
