"""The watch loop: one drive kept in sync by local events, the remote change feed and a slower
full check, one sync at a time.

Why it is shaped this way:
- Every sync is an ordinary `Drive.sync` with no prompt and the default guards (the policy of
  `clouddrive sync --yes`); the drive's lock keeps it one at a time, also against a `sync` run
  by hand (`LockHeld` just means "try again in a moment").
- Triggers: settled local changes that are not echoes of our own work (echo.py), a record by
  someone else in the change feed (feed.py), and the full check every `full_every` seconds,
  which is the only way to notice writers that are not clouddrive (the AWS CLI, the console,
  lifecycle expiry).
- Files still being written are left out of every sync (`skip`) until they settle.
- S3 unreachable: the loop goes offline (one line), retries with a doubling delay up to
  `backoff_max` (a cheap feed listing), and says one line when it is back; no error storm.
- A tripped guard (a mass delete, vanished history, versioning off) pauses syncing and says
  why; the loop tries again only at the next full check or when someone else writes a run
  (for instance `clouddrive sync --max-delete N` run by hand), and resumes once the plan passes.
- `stop` (set by SIGINT/SIGTERM in the CLI) also cancels a running sync: actions in flight
  finish (downloads land atomically), no new one starts.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from clouddrive import errors
from clouddrive.drive import Drive
from clouddrive.ledger import RetryPolicy, S3Remote
from clouddrive.live.echo import real_changes
from clouddrive.live.feed import ChangeFeed
from clouddrive.live.local_events import LocalEvents
from clouddrive.live.status import Phase, StatusBoard, WatchStatus
from clouddrive.sync.report import SyncReport

__all__ = ["WatchOptions", "Watcher"]

#: the feed fails fast: a long retry inside one poll would only delay going offline
FEED_RETRY = RetryPolicy(attempts=2, initial=0.2, maximum=1.0)
LOCK_RETRY = 2.0  #: seconds before trying again when another sync holds the drive


@dataclass(frozen=True)
class WatchOptions:
    """How often to look, how long to wait. Seconds."""

    poll: float = 5.0  #: the remote change feed
    full_every: float = 300.0  #: a full sync check (writers that are not clouddrive)
    settle: float = 1.0  #: a changed file must stand still this long before it syncs
    debounce_ms: int = 200
    backoff_initial: float = 2.0
    backoff_max: float = 60.0
    max_delete: int | None = None  #: the mass-delete guard (None: the default rule)
    local_events: bool = True


class Watcher:
    """Runs the loop for one drive until `stop` is set. `say` gets one line per event worth
    telling (a sync that changed something, offline and back, a pause); `status` is the live
    state for a status line or the app."""

    def __init__(
        self,
        drive: Drive,
        options: WatchOptions | None = None,
        *,
        say: Callable[[str], None] = lambda line: None,
        on_report: Callable[[SyncReport], None] | None = None,
        on_status: Callable[[WatchStatus], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.drive = drive
        self.options = options or WatchOptions()
        self.say = say
        self.on_report = on_report
        self.status = StatusBoard(on_status)
        self._clock = clock
        self._wake = threading.Event()
        self.cancel = threading.Event()  #: set with stop: cancels a running sync
        base = drive.remote
        feed_remote = S3Remote(base.client, base.bucket, base.prefix, retry=FEED_RETRY)
        self.feed = ChangeFeed(feed_remote)
        self.events: LocalEvents | None = None
        self._backoff = self.options.backoff_initial
        self._need_sync = True  # the first thing a watch does is a full sync
        self._paused = False
        self._offline_until: float | None = None
        self._offline_said = False
        self._pause_said: str | None = None

    # -- the loop -----------------------------------------------------------------------------

    def wake(self) -> None:
        self._wake.set()

    def run(self, stop: threading.Event) -> None:
        """Watch until `stop` is set (the caller's signal handler sets it)."""
        opts = self.options
        if opts.local_events:
            self.events = LocalEvents(
                self.drive.root, settle=opts.settle, debounce_ms=opts.debounce_ms, wake=self.wake
            )
            self.events.start()
        try:
            self._try_prime()
            now = self._clock()
            next_poll, next_full = now + opts.poll, now + opts.full_every
            while not stop.is_set():
                now = self._clock()
                if self._offline_until is not None:
                    if now >= self._offline_until:
                        self._probe()
                    self._sleep(stop, self._offline_until or now, local=False)
                    continue
                moving = self._local_changes()
                if now >= next_poll:
                    next_poll = now + opts.poll
                    self._poll_feed()
                if now >= next_full:
                    next_full = now + opts.full_every
                    self._need_sync = True
                    self._paused_retry()
                if self._need_sync and not self._paused and self._offline_until is None:
                    self._sync(moving, stop)
                self._sleep(stop, min(next_poll, next_full))
        finally:
            if self.events is not None:
                self.events.stop()
            self.status.update(phase=Phase.STOPPED, message="")

    def _sleep(self, stop: threading.Event, until: float, *, local: bool = True) -> None:
        """Wait for a wake-up (a local event) or the next deadline, in short steps so a stop
        is seen quickly. Offline (`local=False`), pending local changes wait for S3."""
        due = until - self._clock()
        if local and self.events is not None:
            settle = self.events.next_due()
            if settle is not None:
                due = min(due, settle + 0.05)
        due = max(0.0, min(due, 0.5))
        if due and not stop.is_set():
            self._wake.wait(due)
        self._wake.clear()

    # -- triggers ---------------------------------------------------------------------------

    def _local_changes(self) -> frozenset[str]:
        """Settled local changes set `_need_sync`; the paths still moving are returned."""
        if self.events is None:
            return frozenset()
        if self.events.error is not None:
            self.say(f"local file events stopped ({self.events.error}); relying on full checks")
            self.events = None
            return frozenset()
        taken = self.events.take()
        real = (
            real_changes(self.drive.root, taken.ready, self.drive.state.load())
            if taken.ready
            else set()
        )
        if real:
            self._need_sync = True
        self.status.update(pending_local=len(taken.moving) + len(real))
        return taken.moving

    def _try_prime(self) -> None:
        try:
            self.feed.prime()
        except errors.RemoteError as exc:
            self._go_offline(exc)

    def _poll_feed(self) -> None:
        try:
            news = self.feed.poll()
        except errors.RemoteError as exc:
            self._go_offline(exc)
            return
        if news:
            self._need_sync = True
        if self.feed.others and self._paused:
            self._paused_retry()  # even a run that only downloaded may have cleared the guard

    def _paused_retry(self) -> None:
        """Someone may have cleared what tripped the guard: check the plan again."""
        if self._paused:
            self._paused = False
            self._need_sync = True

    # -- syncing ----------------------------------------------------------------------------

    def _sync(self, moving: frozenset[str], stop: threading.Event) -> None:
        self._need_sync = False
        self.status.update(phase=Phase.SYNCING, message="")
        try:
            report = self.drive.sync(
                confirm=None, max_delete=self.options.max_delete, skip=moving, cancel=self.cancel
            )
        except errors.LockHeld:
            self._need_sync = True
            self.status.update(phase=Phase.IDLE, message="another sync of this drive is running")
            stop.wait(LOCK_RETRY)
            return
        except (errors.GuardTripped, errors.VersioningNotEnabled) as exc:
            self._pause(exc)
            return
        except errors.RemoteError as exc:
            self._need_sync = True
            self._go_offline(exc)
            return
        except errors.CloudDriveError as exc:  # a local failure: say it, try again later
            self._need_sync = True
            self.say(f"sync failed: {exc}; trying again")
            self._go_offline(exc, quiet=True)
            return
        self.feed.note_own(report.run_id)
        if self._pause_said is not None:
            self.say("resumed: the plan passes the guards")
            self._pause_said = None
        self._finished(report)

    def _finished(self, report: SyncReport) -> None:
        now = datetime.now(UTC)
        old = self.status.snapshot()
        changes: dict[str, object] = {
            "phase": Phase.IDLE,
            "message": "",
            "last_sync": now,
            "syncs": old.syncs + 1,
        }
        if report.outcomes:
            changes["last_change"] = now
        self.status.update(**changes)
        if self.on_report is not None:
            self.on_report(report)
        if report.failed:
            self._need_sync = False  # failed files wait for the next trigger or full check

    def _pause(self, exc: errors.CloudDriveError) -> None:
        """Say why once: a later check that trips the same guard again stays quiet."""
        if self._pause_said != str(exc):
            self.say(f"paused: {exc}")
            self._pause_said = str(exc)
        self._paused = True
        self.status.update(phase=Phase.PAUSED, message=str(exc))

    # -- offline and back -------------------------------------------------------------------

    def _go_offline(self, exc: errors.CloudDriveError, *, quiet: bool = False) -> None:
        first = self._offline_until is None and self.status.snapshot().phase != Phase.OFFLINE
        if first:
            self._backoff = self.options.backoff_initial
            self._offline_said = not quiet
            if not quiet:
                self.say(f"offline: {exc}; retrying with backoff")
        delay = self._backoff
        self._backoff = min(self._backoff * 2, self.options.backoff_max)
        self._offline_until = self._clock() + delay
        self.status.update(phase=Phase.OFFLINE, message=str(exc), retry_in=delay)

    def _probe(self) -> None:
        """Offline: one cheap feed listing decides whether S3 is back."""
        try:
            self.feed.poll()
        except errors.RemoteError as exc:
            self._go_offline(exc)
            return
        self._offline_until = None
        self._backoff = self.options.backoff_initial
        self._need_sync = True
        if self._offline_said:
            self.say("back online")
        self._offline_said = False
        self.status.update(phase=Phase.IDLE, message="", retry_in=None)

    # -- one sync, for cron -----------------------------------------------------------------

    def once(self) -> SyncReport:
        """One sync with the watch's policy (no prompt, default guards); errors propagate."""
        report = self.drive.sync(confirm=None, max_delete=self.options.max_delete)
        self._finished(report)
        return report
