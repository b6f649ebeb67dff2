"""Counting a running sync: bytes and files done, what is in flight, rate and time left.

The sync's callbacks (`on_plan`, `on_start`, `on_bytes`, `on_outcome`) run on worker
threads and feed a `SyncTracker`; the screen drains it on the UI thread (`drain`): the
outcomes finished since the last drain and a `Snapshot` of the totals. One lock, tiny
critical sections.

Progress is work, not only bytes: every action weighs `ACTION_WEIGHT` bytes on top of its
own, so deletes and tiny files move the bar too, and bytes count as they stream (not when a
file finishes), so the rate and the time left are sane from the first seconds.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from clouddrive.core.models import Action, Plan
    from clouddrive.sync.outcome import Outcome

__all__ = ["ACTION_WEIGHT", "ESTIMATE_AFTER", "Snapshot", "SyncTracker"]

#: what one action weighs in the bar, in bytes (a request's worth of time on a fast link)
ACTION_WEIGHT = 256 * 1024
#: seconds of work before a time-left estimate is shown ("estimating…" until then)
ESTIMATE_AFTER = 2.0


@dataclass(frozen=True)
class Snapshot:
    bytes_done: int
    bytes_total: int
    files_done: int
    files_total: int
    failed: int
    in_flight: tuple[Action, ...]
    elapsed: float
    cancelling: bool

    @property
    def rate(self) -> float | None:
        """Bytes per second so far (None until something moved)."""
        if self.elapsed <= 0 or self.bytes_done <= 0:
            return None
        return self.bytes_done / self.elapsed

    @property
    def fraction(self) -> float:
        """The share of the work done: bytes plus `ACTION_WEIGHT` per action."""
        total = self.bytes_total + self.files_total * ACTION_WEIGHT
        if total <= 0:
            return 0.0
        return min(1.0, (self.bytes_done + self.files_done * ACTION_WEIGHT) / total)

    @property
    def seconds_left(self) -> float | None:
        """The work left at the pace so far; None while too little is known to say."""
        done = self.fraction
        if self.elapsed < ESTIMATE_AFTER or done <= 0:
            return None
        return max(0.0, self.elapsed * (1 - done) / done)


class SyncTracker:
    """Thread-safe counters of one sync run; `monotonic` is the app's clock."""

    def __init__(self, monotonic: Callable[[], float]) -> None:
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._started_at: float | None = None
        self._bytes_total = 0
        self._files_total = 0
        self._bytes_done = 0
        self._files_done = 0
        self._failed = 0
        self._in_flight: dict[str, Action] = {}
        self._partial: dict[str, int] = {}  #: bytes moved so far of each file in flight
        self._finished: list[Outcome] = []
        self.cancelling = False

    def planned(self, plan: Plan) -> None:
        """The plan the run carries out (bookkeeping actions count for nothing)."""
        visible = plan.visible()
        with self._lock:
            self._bytes_total = sum(a.size for a in visible)
            self._files_total = len(visible)

    def begin(self) -> None:
        """The user confirmed: transfers start now (the rate counts from here)."""
        with self._lock:
            self._started_at = self._monotonic()

    @property
    def begun(self) -> bool:
        """Confirmed: the transfers have started."""
        return self._started_at is not None

    def started(self, action: Action) -> None:
        if action.is_bookkeeping:
            return
        with self._lock:
            self._in_flight[action.path] = action

    def moved(self, path: str, count: int) -> None:
        """`count` more bytes of `path`'s body went over the wire (capped at its size: a
        retried request sends the same bytes again)."""
        with self._lock:
            action = self._in_flight.get(path)
            if action is None:
                return
            before = self._partial.get(path, 0)
            now = min(action.size, before + count)
            self._partial[path] = now
            self._bytes_done += now - before

    def finished(self, outcome: Outcome) -> None:
        action = outcome.action
        with self._lock:
            self._in_flight.pop(action.path, None)
            self._finished.append(outcome)
            if action.is_bookkeeping:
                return
            self._files_done += 1
            self._bytes_done += action.size - self._partial.pop(action.path, 0)
            if not outcome.ok:
                self._failed += 1

    def drain(self) -> tuple[list[Outcome], Snapshot]:
        """The outcomes since the last drain, and the totals now."""
        now = self._monotonic()
        with self._lock:
            finished, self._finished = self._finished, []
            started = self._started_at
            snap = Snapshot(
                bytes_done=self._bytes_done,
                bytes_total=self._bytes_total,
                files_done=self._files_done,
                files_total=self._files_total,
                failed=self._failed,
                in_flight=tuple(self._in_flight.values()),
                elapsed=0.0 if started is None else max(0.0, now - started),
                cancelling=self.cancelling,
            )
        return finished, snap

    def in_flight(self) -> set[str]:
        """The paths of the actions running right now."""
        with self._lock:
            return set(self._in_flight)

    def left(self) -> int:
        """Actions neither done nor failed (nor running): what a stop leaves for next time."""
        with self._lock:
            return max(0, self._files_total - self._files_done - len(self._in_flight))
