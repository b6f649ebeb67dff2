"""Times, sizes and glyphs as the app shows them, and the clock it reads them against.

The clock is injected (`Clock`): the real one reads the system's; snapshot tests give a
fixed one, so that "3 min ago", rates and time left come out the same on every run.
Glyphs and sizes are planview's (`GLYPHS`, `human_size`), imported lazily: planview loads
the engine, which must not slow the first frame.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo

from clouddrive.core.models import ActionKind

__all__ = ["Clock", "ago", "duration", "glyph", "natural_key", "size", "stamp"]


def _local_tz() -> tzinfo:
    tz = datetime.now().astimezone().tzinfo
    return tz if tz is not None else UTC


@dataclass(frozen=True)
class Clock:
    """Wall time (for "3 min ago"), a monotonic timer (rates) and the zone times show in."""

    now: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    monotonic: Callable[[], float] = field(default=time.monotonic)
    tz: tzinfo = field(default_factory=_local_tz)


def stamp(moment: datetime | None, clock: Clock, *, seconds: bool = False) -> str:
    """`2025-03-04 14:02` in the clock's zone ("" for None)."""
    if moment is None:
        return ""
    fmt = "%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M"
    return moment.astimezone(clock.tz).strftime(fmt)


def ago(moment: datetime | None, clock: Clock) -> str:
    """How long ago, for people: "just now", "5 min ago", "3 h ago", "yesterday", a date."""
    if moment is None:
        return "never"
    seconds = (clock.now() - moment).total_seconds()
    if seconds < -60:
        return stamp(moment, clock)
    if seconds < 45:
        return "just now"
    if seconds < 3600:
        return f"{max(1, round(seconds / 60))} min ago"
    if seconds < 86400:
        return f"{int(seconds // 3600)} h ago"
    days = int(seconds // 86400)
    if days == 1:
        return "yesterday"
    if days < 7:
        return f"{days} days ago"
    return moment.astimezone(clock.tz).strftime("%Y-%m-%d")


def duration(seconds: float) -> str:
    """`8 s`, `3 min 4 s`, `2 h 5 min`."""
    total = max(0, round(seconds))
    if total < 60:
        return f"{total} s"
    minutes, secs = divmod(total, 60)
    if minutes < 60:
        return f"{minutes} min {secs} s" if secs else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


def glyph(kind: ActionKind) -> tuple[str, str, str]:
    """(glyph, label, colour) of an action kind, as the CLI shows it."""
    from clouddrive.views.planview import GLYPHS

    return GLYPHS[kind]


def size(n: int) -> str:
    from clouddrive.views.planview import human_size

    return human_size(n)


_DIGITS = re.compile(r"(\d+)")


def natural_key(text: str) -> tuple[tuple[int, int | str], ...]:
    """Sort key of a path as people read it: `clip2` before `clip10`, case ignored."""
    return tuple(
        (1, int(part)) if part.isdigit() else (0, part.casefold())
        for part in _DIGITS.split(text)
        if part
    )
