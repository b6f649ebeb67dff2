"""What the history, deleted and activity screens share: one table of rows read in a worker,
the highlighted row's key, the same frame of keys (escape back, ctrl+r reload, q quit), a
reload after any time travel, columns laid out again whenever the terminal is resized, and
the four states of a list, each with its own words: loading, failed, empty, filtered to
nothing (`status_for`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar, Literal

from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import DataTable, Static

from clouddrive.tui.drive_api import DriveAPI
from clouddrive.tui.messages import Failed
from clouddrive.tui.screens.base import DriveScreen
from clouddrive.tui.widgets.columns import Column, fit_columns

__all__ = ["ListState", "TableScreen", "table_bindings"]

ListState = Literal["loading", "failed", "ready"]


def table_bindings(*own: BindingType) -> list[BindingType]:
    """The screen's own keys in the common frame, in the footer's order."""
    return [
        Binding("escape", "back", "Back", tooltip="Back to the previous screen"),
        *own,
        Binding("ctrl+r", "reload", "Reload", tooltip="Read the list again"),
        Binding("q", "app.quit_app", "Quit", tooltip="Quit (asks first while syncing)"),
    ]


class TableScreen(DriveScreen):
    """A screen over one `DataTable` (`#TABLE_ID`) whose rows are keyed and read in a worker;
    `#STATUS_ID` says which state the list is in."""

    TABLE_ID: ClassVar[str]
    STATUS_ID: ClassVar[str]
    #: (key, title, width, narrowest) of each column; width 0: what the others leave
    COLUMNS: ClassVar[tuple[Column, ...]]

    def __init__(self) -> None:
        super().__init__()
        self.state: ListState = "loading"
        self.error = ""
        self.widths: dict[str, int] = {}
        self._laid_out_for = 0

    def new_table(self) -> DataTable[Text]:
        return DataTable(id=self.TABLE_ID, cursor_type="row", zebra_stripes=True)

    def add_columns(self) -> None:
        """Put `COLUMNS` on the table, fitted to its width now (the screen's, before the
        first layout; `_fit_again` corrects it once the table has its own)."""
        width = self.table.size.width or self.app.size.width
        self._laid_out_for = width
        self.widths = fit_columns(self.COLUMNS, width)
        for key, title, _, _ in self.COLUMNS:
            self.table.add_column(title, key=key, width=self.widths[key])
        self.call_after_refresh(self._fit_again)

    def on_resize(self, event: events.Resize) -> None:
        """A resized terminal: fit the columns again (and the rows cut to them), once the
        table has its new size."""
        self.call_after_refresh(self._fit_again)

    def _fit_again(self) -> None:
        table = self.table
        width = table.size.width
        if not width or not self._laid_out_for or width == self._laid_out_for:
            return
        row = table.cursor_row
        table.clear(columns=True)
        self.add_columns()
        self.refill()
        if table.row_count:
            table.move_cursor(row=min(row, table.row_count - 1))

    def refill(self) -> None:
        """Put the rows on the table again, as they are (override)."""

    @property
    def table(self) -> DataTable[Text]:
        return self.query_one(f"#{self.TABLE_ID}", DataTable)

    def load(self, doing: str, job: Callable[[DriveAPI], Message | None]) -> None:
        """Read the rows in a worker (one load at a time); the table shows it is loading."""
        self.state = "loading"
        self.table.loading = True
        self.show_status()
        self.background(doing, job, group="load")

    def loaded(self) -> None:
        """Call when the rows have arrived (before filling the table)."""
        self.state = "ready"
        self.error = ""
        self.table.loading = False

    def current_key(self) -> str | None:
        """The key of the highlighted row (None: no rows)."""
        table = self.table
        if table.row_count == 0:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key
        return str(key.value)

    def on_failed(self, message: Failed) -> None:
        if self.state == "loading":
            self.state = "failed"
            self.error = message.error
            self.table.loading = False
            self.show_status()

    # -- the status line ---------------------------------------------------------------------

    def status_for(self) -> tuple[str, str]:
        """(text, style) of the status line in the current state (override)."""
        return "", "dim"

    def show_status(self) -> None:
        text, style = self.status_for()
        self.query_one(f"#{self.STATUS_ID}", Static).update(Text(f" {text}", style=style))

    def action_reload(self) -> None:
        """Read the rows again (override)."""

    def action_back(self) -> None:
        self.app.pop_screen()

    def after_time_travel(self) -> None:
        self.action_reload()
