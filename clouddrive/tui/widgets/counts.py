"""The line under the plan: how many of each action, bytes to move, what is left out."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from clouddrive.core.models import ActionKind, Plan
from clouddrive.tui.fmt import glyph, size

__all__ = ["CountsBar"]

_ORDER = (
    ActionKind.CONFLICT,
    ActionKind.UPLOAD,
    ActionKind.DOWNLOAD,
    ActionKind.DELETE_LOCAL,
    ActionKind.DELETE_REMOTE,
)


class CountsBar(Static):
    """Counts per action kind of the included actions; skipped and left-out paths after."""

    def show_counts(self, plan: Plan, skipped: set[str]) -> None:
        visible = [a for a in plan.visible() if a.path not in skipped]
        counts = {kind: 0 for kind in _ORDER}
        for action in visible:
            counts[action.kind] = counts.get(action.kind, 0) + 1
        line = Text(" ")
        if not plan.visible():
            line.append("✓ Everything is in sync", style="bold green")
        narrow = (self.size.width or self.app.size.width) < 100
        for kind in _ORDER:
            if not counts[kind]:
                continue
            mark, label, colour = glyph(kind)
            if narrow:  # ⚠1 ↑2 ↓2 ✗1 here ✗1 on S3: the glyphs say the rest
                short = label.removeprefix("delete ") if label.startswith("delete") else ""
                line.append(f"{mark}{counts[kind]}{' ' + short if short else ''}", style=colour)
                line.append(" ")
                continue
            line.append(f"{mark} {counts[kind]} {label}", style=colour)
            line.append("  ")
        moving = sum(a.size for a in visible)
        if moving:
            line.append(f"· {size(moving)}", style="dim")
        off = len(skipped & {a.path for a in plan.visible()})
        if off:
            line.append(f"  · {off} skipped", style="yellow")
        if plan.skipped:
            line.append(f"  · {len(plan.skipped)} left out (l)", style="yellow")
        width = self.size.width or self.app.size.width
        if counts[ActionKind.CONFLICT] and len(line) + 23 < width:
            line.append("  · ⏎ resolves a conflict", style="dim")
        self.update(line)

    def show_text(self, text: str, style: str = "dim") -> None:
        self.update(Text(f" {text}", style=style))
