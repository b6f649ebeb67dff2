"""The confirmation of a time-travel plan (restore deleted files, restore a version, undo a
run): every step, and every path left out with the reason."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Label, Static

from clouddrive.core.timeline import Op
from clouddrive.tui.fmt import Clock, size, stamp
from clouddrive.tui.screens.base import ModalDialog
from clouddrive.tui.widgets.footer import AppFooter

if TYPE_CHECKING:
    from clouddrive.history.plans import TimeTravelPlan

__all__ = ["PlanConfirmScreen", "describe_steps"]

LIST_AT_MOST = 12


def describe_steps(plan: TimeTravelPlan, clock: Clock) -> Text:
    text = Text()
    for step in plan.steps[:LIST_AT_MOST]:
        if step.op is Op.COPY and step.source is not None:
            text.append("↺ ", style="green")
            text.append(step.path)
            text.append(
                f"  the version of {stamp(step.source.modified, clock)} ({size(step.source.size)})",
                style="dim",
            )
        else:
            text.append("✗ ", style="red")
            text.append(step.path)
            text.append("  deleted again (a delete marker; its versions stay)", style="dim")
        text.append("\n")
    if len(plan.steps) > LIST_AT_MOST:
        text.append(f"… and {len(plan.steps) - LIST_AT_MOST} more\n", style="dim")
    if plan.skipped:
        text.append("\nLeft as they are:\n", style="yellow")
        for skip in plan.skipped[:LIST_AT_MOST]:
            text.append(f"  {skip.path}", style="yellow")
            text.append(f"  {skip.reason}\n", style="dim")
        if len(plan.skipped) > LIST_AT_MOST:
            text.append(f"  … and {len(plan.skipped) - LIST_AT_MOST} more\n", style="dim")
    if plan.steps:
        text.append("\nNothing is removed from history: the versions in between stay.", style="dim")
    else:
        text.append("\nNothing to do.", style="bold")
    return text


class PlanConfirmScreen(ModalDialog[bool]):
    """Dismissed with True to carry the plan out."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "Yes"),
        Binding("n,escape", "answer(False)", "Cancel"),
    ]

    def __init__(self, plan: TimeTravelPlan, verb: str, clock: Clock) -> None:
        super().__init__()
        self.tt_plan = plan
        self.verb = verb
        self.clock = clock

    def compose(self) -> ComposeResult:
        plan = self.tt_plan
        title = plan.title[:1].upper() + plan.title[1:]
        with Vertical(classes="dialog wide"):
            yield Label(f"{title}?" if plan.steps else title, classes="dialog-title")
            with VerticalScroll(classes="dialog-scroll"):
                yield Static(describe_steps(plan, self.clock), classes="dialog-body")
            with Horizontal(classes="dialog-buttons"):
                if plan.steps:
                    yield Button(f"{self.verb} (y)", variant="primary", id="yes")
                yield Button("Cancel (n)" if plan.steps else "Close (esc)", id="no")
        yield AppFooter()

    def on_mount(self) -> None:
        self.query_one("#yes" if self.tt_plan.steps else "#no", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes and bool(self.tt_plan.steps))
