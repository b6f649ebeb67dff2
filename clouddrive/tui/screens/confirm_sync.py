"""The confirmation before a sync: conflicts and deletes listed first, then the totals."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Label, Static

from clouddrive.core.models import Action, ActionKind, Plan
from clouddrive.tui.fmt import glyph, size
from clouddrive.tui.screens.base import ModalDialog
from clouddrive.tui.widgets.footer import AppFooter

__all__ = ["SyncConfirmScreen", "describe_plan"]

LIST_AT_MOST = 8


def _listing(text: Text, actions: list[Action], line: object) -> None:
    for action in actions[:LIST_AT_MOST]:
        text.append("    ")
        text.append(action.path)
        extra = line(action)  # type: ignore[operator]
        if extra:
            text.append(f"  {extra}", style="dim")
        text.append("\n")
    if len(actions) > LIST_AT_MOST:
        text.append(f"    … and {len(actions) - LIST_AT_MOST} more\n", style="dim")


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def describe_plan(plan: Plan, skipped: int) -> Text:
    """Conflicts, then deletes (each listed), then the transfers' totals."""
    visible = plan.visible()
    conflicts = [a for a in visible if a.kind is ActionKind.CONFLICT]
    deletes = [a for a in visible if a.kind in (ActionKind.DELETE_LOCAL, ActionKind.DELETE_REMOTE)]
    text = Text()
    if conflicts:
        mark, _, colour = glyph(ActionKind.CONFLICT)
        text.append(f"{mark} {len(conflicts)} conflict(s): both copies are kept\n", style=colour)
        _listing(text, conflicts, lambda a: f"yours becomes '{a.conflict_path}'")
    if deletes:
        mark, _, colour = glyph(ActionKind.DELETE_LOCAL)
        text.append(
            f"{mark} {_n(len(deletes), 'delete')}: recoverable from S3's history\n",
            style=f"bold {colour}",
        )
        _listing(
            text,
            deletes,
            lambda a: (
                "here (deleted on S3)"
                if a.kind is ActionKind.DELETE_LOCAL
                else "on S3 (deleted here)"
            ),
        )
    if conflicts or deletes:
        text.append("\n")
    for kind in (ActionKind.UPLOAD, ActionKind.DOWNLOAD):
        these = [a for a in visible if a.kind is kind]
        if not these:
            continue
        mark, label, colour = glyph(kind)
        text.append(f"{mark} {len(these)} {label}", style=colour)
        text.append(f" ({size(sum(a.size for a in these))})   ", style="dim")
    if skipped:
        text.append(f"\n{_n(skipped, 'change')} skipped for this run", style="yellow")
    return text


class SyncConfirmScreen(ModalDialog[bool]):
    """Dismissed with True to run the plan."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "Sync"),
        Binding("n,escape", "answer(False)", "Cancel"),
    ]

    def __init__(self, plan: Plan, skipped: int = 0) -> None:
        super().__init__()
        self.plan = plan
        self.skipped = skipped

    def compose(self) -> ComposeResult:
        count = len(self.plan.visible())
        with Vertical(classes="dialog wide"):
            yield Label(f"Sync {_n(count, 'change')}?", classes="dialog-title")
            with VerticalScroll(classes="dialog-scroll"):
                yield Static(describe_plan(self.plan, self.skipped), classes="dialog-body")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Sync (y)", variant="primary", id="yes")
                yield Button("Cancel (n)", id="no")
        yield AppFooter()

    def on_mount(self) -> None:
        self.query_one("#yes", Button).focus()

    def withdraw(self) -> None:
        """The sync was stopped: the question no longer stands (taken down now, or as soon
        as a screen over it, such as help, closes)."""
        self.withdrawn = True
        if self.is_current:
            self.dismiss(False)

    withdrawn = False

    def on_screen_resume(self) -> None:
        if self.withdrawn:
            self.dismiss(False)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)
