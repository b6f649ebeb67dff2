"""Resolving one conflict: keep mine, keep theirs, or keep both; each keeps the other
recoverable (see clouddrive/sync/resolve.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Label, Static

from clouddrive.core.models import Action
from clouddrive.tui.fmt import Clock, ago, size, stamp
from clouddrive.tui.screens.base import ModalDialog
from clouddrive.tui.widgets.footer import AppFooter

__all__ = ["ConflictScreen"]

CHOICES = (
    ("mine", "Keep mine", "upload yours; theirs stays in the file's history"),
    ("theirs", "Keep theirs", "take theirs; yours stays restorable (Recently deleted)"),
    ("both", "Keep both", "yours becomes a conflict copy beside theirs; both sync"),
)


class ConflictScreen(ModalDialog[str | None]):
    """Dismissed with "mine", "theirs", "both", or None (cancelled)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("m", "choose('mine')", "Keep mine"),
        Binding("t", "choose('theirs')", "Keep theirs"),
        Binding("b", "choose('both')", "Keep both"),
        Binding("escape", "choose('')", "Cancel"),
    ]

    def __init__(self, action: Action, who: str, clock: Clock) -> None:
        super().__init__()
        self.conflict = action
        self.who = who
        self.clock = clock

    def _sides(self) -> Table:
        local, remote = self.conflict.local, self.conflict.remote
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold")
        table.add_column()
        if local is not None:
            moment = datetime.fromtimestamp(local.mtime_ns / 1e9, UTC)
            table.add_row(
                "Yours",
                f"{size(local.size)} · edited here {stamp(moment, self.clock)} "
                f"({ago(moment, self.clock)})",
            )
        if remote is not None:
            table.add_row(
                "Theirs",
                f"{size(remote.size)} · by {self.who} · {stamp(remote.last_modified, self.clock)}"
                f" ({ago(remote.last_modified, self.clock)})",
            )
        return table

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide"):
            yield Label(f"⚠ Conflict: {self.conflict.path}", classes="dialog-title conflict")
            yield Static(
                Text("Both sides changed since your last sync.", style="dim"),
                classes="dialog-body",
            )
            yield Static(self._sides(), classes="dialog-body sides")
            for key, label, why in CHOICES:
                with Horizontal(classes="choice"):
                    yield Button(f"{label} ({key[0]})", id=key, classes="choice-button")
                    yield Static(why, classes="choice-why")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Cancel (esc)", id="cancel")
        yield AppFooter()

    def on_mount(self) -> None:
        self.query_one("#both", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.action_choose("" if event.button.id == "cancel" else str(event.button.id))

    def action_choose(self, choice: str) -> None:
        self.dismiss(choice or None)
