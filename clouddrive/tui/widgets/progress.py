"""The progress panel of a running sync: the overall bar, totals, rate, time left, and the
transfers in flight."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Label, ProgressBar, Static

from clouddrive.tui.fmt import duration, glyph, size
from clouddrive.tui.tracker import Snapshot

__all__ = ["SyncProgressPanel"]

_SHOW_IN_FLIGHT = 4


class SyncProgressPanel(Vertical):
    """Hidden until a sync is confirmed; `update_from` redraws it from a tracker snapshot."""

    def compose(self) -> ComposeResult:
        with Horizontal(id="progress-top"):
            yield Label("Syncing", id="progress-title")
            yield ProgressBar(total=100, show_eta=False, id="progress-bar")
        yield Static("", id="progress-totals")
        yield Static("", id="progress-now")

    def reset(self) -> None:
        self.query_one("#progress-title", Label).update("Syncing")
        self.query_one(ProgressBar).update(total=100, progress=0)
        self.query_one("#progress-totals", Static).update("")
        self.query_one("#progress-now", Static).update(Text(" starting…", style="dim"))

    def update_from(self, snap: Snapshot) -> None:
        title = "Stopping" if snap.cancelling else "Syncing"
        self.query_one("#progress-title", Label).update(title)
        self.query_one(ProgressBar).update(total=100, progress=round(snap.fraction * 100, 1))
        totals = Text(" ")
        totals.append(f"{size(snap.bytes_done)} of {size(snap.bytes_total)}", style="bold")
        totals.append(f"  ·  {snap.files_done} of {snap.files_total} files")
        if snap.failed:
            totals.append(f"  ·  {snap.failed} failed", style="red")
        rate = snap.rate
        totals.append(f"  ·  {size(int(rate))}/s" if rate else "  ·  –/s", style="dim")
        left = snap.seconds_left
        if snap.files_done < snap.files_total and not snap.cancelling:
            estimate = "estimating…" if left is None else f"{duration(left)} left"
            totals.append(f"  ·  {estimate}", style="dim")
        self.query_one("#progress-totals", Static).update(totals)
        now = Text(" ")
        if snap.cancelling:
            count = len(snap.in_flight)
            now.append(
                f"Stopping: finishing {count} transfer(s) in flight; nothing new starts. "
                "Finished actions stay recorded.",
                style="yellow",
            )
        elif snap.in_flight:
            now.append("now  ", style="dim")
            room = (self.size.width or self.app.size.width) - 16  # the "+N more" stays whole
            shown = 0
            for action in snap.in_flight[:_SHOW_IN_FLIGHT]:
                mark, _, colour = glyph(action.kind)
                name = action.path if len(action.path) <= 34 else "…" + action.path[-33:]
                if shown and len(now) + len(name) + 5 > room:
                    break
                now.append(f"{mark} ", style=colour)
                now.append(name)
                now.append("   ")
                shown += 1
            more = len(snap.in_flight) - shown
            if more > 0:
                now.append(f"+{more} more", style="dim")
        else:
            now.append("waiting for the next transfer…", style="dim")
        self.query_one("#progress-now", Static).update(now)
