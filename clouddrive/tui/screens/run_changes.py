"""Every change of one run (the activity screen's panel shows the first few): scrollable."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Label, Static

from clouddrive.tui.fmt import Clock, stamp
from clouddrive.tui.screens.base import ModalDialog
from clouddrive.tui.widgets.footer import AppFooter

if TYPE_CHECKING:
    from clouddrive.history.records import RunRecord

__all__ = ["RunChangesScreen", "describe_run"]


def describe_run(record: RunRecord) -> Text:
    from clouddrive.tui.screens.activity import OPS

    text = Text()
    for action in record.actions:
        mark, colour = OPS.get(action.op, ("·", "dim"))
        text.append(f"{mark} ", style=colour)
        text.append(f"{action.op:<14}", style="dim")
        text.append(f"{action.path}\n")
    for failure in record.failed:
        text.append(f"✗ {failure.get('path')}: {failure.get('error')}\n", style="red")
    if not record.actions and not record.failed:
        text.append("This run changed nothing.", style="dim")
    return text


class RunChangesScreen(ModalDialog[None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,enter,q", "close", "Close")]

    def __init__(self, record: RunRecord, clock: Clock) -> None:
        super().__init__()
        self.record = record
        self.clock = clock

    def compose(self) -> ComposeResult:
        record = self.record
        count = len(record.actions)
        with Vertical(classes="dialog wide changes"):
            yield Label(
                f"{record.kind} by {record.user}, {stamp(record.started, self.clock)}: "
                f"{count} change(s)",
                classes="dialog-title",
            )
            with VerticalScroll(classes="changes-scroll"):
                yield Static(describe_run(record), classes="dialog-body")
        yield AppFooter()

    def on_mount(self) -> None:
        self.query_one(VerticalScroll).focus()

    def action_close(self) -> None:
        self.dismiss(None)
