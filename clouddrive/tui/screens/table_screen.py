"""What the history, deleted and activity screens share: one table of rows read in a worker
(loading shown meanwhile, cleared on failure), the highlighted row's key, the same frame of
keys (escape back, ctrl+r reload, q quit) and a reload after any time travel."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import DataTable

from clouddrive.tui.drive_api import DriveAPI
from clouddrive.tui.messages import Failed
from clouddrive.tui.screens.base import DriveScreen

__all__ = ["TableScreen", "table_bindings"]


def table_bindings(*own: BindingType) -> list[BindingType]:
    """The screen's own keys in the common frame, in the footer's order."""
    return [
        Binding("escape", "back", "Back"),
        *own,
        Binding("ctrl+r", "reload", "Reload", show=False),
        Binding("q", "app.quit_app", "Quit"),
    ]


class TableScreen(DriveScreen):
    """A screen over one `DataTable` (`#TABLE_ID`) whose rows are keyed and read in a worker."""

    TABLE_ID: ClassVar[str]
    #: (key, title, width) of each column; width 0: what the others leave of the screen
    COLUMNS: ClassVar[tuple[tuple[str, str, int], ...]]

    def new_table(self) -> DataTable[Text]:
        return DataTable(id=self.TABLE_ID, cursor_type="row", zebra_stripes=True)

    def add_columns(self) -> int:
        """Put `COLUMNS` on the table; the width a 0-wide column got."""
        fixed = sum(width + 2 for _, _, width in self.COLUMNS if width) + 4
        rest = max(24, self.app.size.width - fixed)
        for key, title, width in self.COLUMNS:
            self.table.add_column(title, key=key, width=width or rest)
        return rest

    @property
    def table(self) -> DataTable[Text]:
        return self.query_one(f"#{self.TABLE_ID}", DataTable)

    def load(self, doing: str, job: Callable[[DriveAPI], Message | None]) -> None:
        """Read the rows in a worker (one load at a time); the table shows it is loading."""
        self.table.loading = True
        self.background(doing, job, group="load")

    def current_key(self) -> str | None:
        """The key of the highlighted row (None: no rows)."""
        table = self.table
        if table.row_count == 0:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key
        return str(key.value)

    def on_failed(self, message: Failed) -> None:
        self.table.loading = False

    def action_reload(self) -> None:
        """Read the rows again (override)."""

    def action_back(self) -> None:
        self.app.pop_screen()

    def after_time_travel(self) -> None:
        self.action_reload()
