"""Counting a running sync: bytes and files done, what is in flight, rate and time left.

The sync's callbacks (`on_plan`, `on_start`, `on_outcome`) run on worker threads and feed a
`SyncTracker`; the screen drains it on the UI thread (`drain`): the outcomes finished since
the last drain and a `Snapshot` of the totals. One lock, tiny critical sections.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from clouddrive.core.models import Action, Plan
    from clouddrive.sync.executor import Outcome

__all__ = ["Snapshot", "SyncTracker"]


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
    def seconds_left(self) -> float | None:
        rate = self.rate
        if rate is None:
            return None
        return max(0.0, (self.bytes_total - self.bytes_done) / rate)

    @property
    def fraction(self) -> float:
        if self.bytes_total > 0:
            return min(1.0, self.bytes_done / self.bytes_total)
        if self.files_total > 0:
            return min(1.0, self.files_done / self.files_total)
        return 0.0


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
        self._finished: list[Outcome] = []
        self._elapsed = 0.0
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

    def finished(self, outcome: Outcome) -> None:
        action = outcome.action
        with self._lock:
            self._in_flight.pop(action.path, None)
            self._finished.append(outcome)
            if action.is_bookkeeping:
                return
            self._files_done += 1
            self._bytes_done += action.size
            if not outcome.ok:
                self._failed += 1
            if self._started_at is not None:
                self._elapsed = self._monotonic() - self._started_at

    def drain(self) -> tuple[list[Outcome], Snapshot]:
        """The outcomes since the last drain, and the totals now."""
        with self._lock:
            finished, self._finished = self._finished, []
            snap = Snapshot(
                bytes_done=self._bytes_done,
                bytes_total=self._bytes_total,
                files_done=self._files_done,
                files_total=self._files_total,
                failed=self._failed,
                in_flight=tuple(self._in_flight.values()),
                elapsed=self._elapsed,
                cancelling=self.cancelling,
            )
        return finished, snap
