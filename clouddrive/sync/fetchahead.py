"""Small transfers sent ahead, many at a time, and finished by the thread that reports them.

Why: a small download on a worker thread makes a dozen system calls that give up the GIL
(the read back, the hash, the mtime, the landing checks, the rename), and with 32 workers
nearly every one was a thread switch: 175,000 for 5,000 files of 4 KiB, more time than the
transfers themselves. Here the CRT carries as many GETs at once as there would be workers
for small files (32 by default; 32 to 256 measured the same) into temp files on its own
threads, and one Python thread, the one that reports outcomes, checks and lands each file
as its answer arrives, with one shared flush for every group that arrives together: about
35,000 switches, and the download took 2.7 s where it took 4.8 s (`docs/performance.md`).

Each file fetched here is only its download's first attempt. `Executor.execute` lands it
with the same checks as any download (the target still as planned, or the local file kept
aside), so there is one landing, not two. A fetch that fails in any way (an error answer, a
cut body, a hash that does not match) is handed back: the workers download it again,
retrying as every call does; a local failure (a full disk, no permission) is reported at
once, tried once as anywhere.

Small uploads go the same way: the file is checked and read here (`_snapshot`, as a worker
would), its PUT sent ahead under the key's condition, and `execute` takes the version it
made; one that fails in any way, a lost race included, is uploaded again by the workers,
which tell a lost race from a folder of that name and retry what is worth retrying.

A stop: nothing more is sent; answers that arrive within the grace period still land, as a
worker's transfer in flight may; after it the rest is abandoned and left for the next run:
its requests are cancelled (an upload already sent may still land, as a worker's may, and
the next run finds it by its hash), its temp files removed, and nothing of it lands (only
this thread lands files, and it has stopped).
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from clouddrive import errors
from clouddrive.core.models import Action, ActionKind
from clouddrive.ledger.bodies import DownloadResult
from clouddrive.ledger.pending import PendingDownload, PendingUpload

if TYPE_CHECKING:
    from clouddrive.sync.executor import Executor
    from clouddrive.sync.outcome import Outcome

__all__ = ["AHEAD_KINDS", "Prefetched", "fetch_ahead"]

#: the small transfers sent ahead
AHEAD_KINDS = frozenset({ActionKind.DOWNLOAD, ActionKind.UPLOAD})

#: answers checked and landed in one group, at most
GROUP = 256
_POLL = 0.1  #: how often a wait for answers looks at the stop event


@dataclass(frozen=True)
class Prefetched:
    """A small download fetched ahead into `tmp` and checked (`durable`: already flushed),
    or the local failure that ended it (a full disk: tried once, as anywhere)."""

    tmp: Path
    result: DownloadResult | None
    durable: bool = False
    error: errors.LocalError | None = None


def fetch_ahead(
    executor: Executor,
    actions: Sequence[Action],
    on_outcome: Callable[[Outcome], None],
    grouped: Callable[[], contextlib.AbstractContextManager[None]] = contextlib.nullcontext,
    *,
    window: int,
) -> tuple[list[Action], list[Action]]:
    """Send `actions` (small downloads and uploads) ahead and finish them, reporting each
    outcome on this thread, with at most `window` requests in flight. Returns (stopped:
    never sent, or abandoned, for the next run; again: for the workers, not sent here or
    failed here)."""
    run = _Window(executor, actions, on_outcome, grouped, window)
    try:
        run.run()
    finally:
        run.abandon()
    return [*run.todo, *run.abandoned], run.again


class _Window:
    """The loop of `fetch_ahead`. Two kinds of news reach it through one queue: an answer
    arrived (from a CRT thread), or a group of checked downloads was flushed (from the flush
    thread, which runs while this one checks the next group: the flush waits for the disk,
    not for Python)."""

    def __init__(
        self,
        executor: Executor,
        actions: Sequence[Action],
        on_outcome: Callable[[Outcome], None],
        grouped: Callable[[], contextlib.AbstractContextManager[None]],
        window: int,
    ) -> None:
        self.executor = executor
        self.todo: deque[Action] = deque(actions)
        self.on_outcome = on_outcome
        self.grouped = grouped  #: around each group of outcomes reported together
        self.window = window  #: requests in flight at once, at most
        #: key -> (action, its temp file (a download) or None, the request)
        self.in_flight: dict[int, tuple[Action, Path | None, PendingDownload | PendingUpload]]
        self.in_flight = {}
        #: (answer arrived, key) or (flushed, group, durable). `queue.Queue`, never
        #: `SimpleQueue`: on Python 3.11 a `SimpleQueue.get(timeout=...)` that a signal
        #: interrupts (the Ctrl-C that stops the run) can wait forever instead of timing out
        self.news: queue.Queue[tuple[bool, Any, bool]] = queue.Queue()
        self.to_flush: queue.Queue[list[tuple[Action, Prefetched]] | None] = queue.Queue()
        self.again: list[Action] = []
        self.abandoned: list[Action] = []
        #: groups checked and given to the flush thread, not landed yet, by id: what a stop
        #: abandons
        self.unlanded: dict[int, list[tuple[Action, Prefetched]]] = {}

    def run(self) -> None:
        flusher = threading.Thread(target=self._flush, name="cd-flush", daemon=True)
        flusher.start()
        try:
            self._loop()
        finally:
            self.to_flush.put(None)

    def _loop(self) -> None:
        cancel = self.executor.cancel
        deadline: float | None = None
        while self.todo or self.in_flight or self.unlanded:
            if cancel.is_set():
                deadline = deadline or time.monotonic() + self.executor.grace
            else:
                while self.todo and len(self.in_flight) < self.window and not cancel.is_set():
                    self._send(self.todo.popleft())
            if not self.in_flight and not self.unlanded:
                return
            wait = _POLL if deadline is None else min(_POLL, deadline - time.monotonic())
            first = self._next_news(wait)
            if first is None:
                if deadline is not None and time.monotonic() >= deadline:
                    return
                continue
            arrived: list[int] = []
            for is_answer, item, durable in [first, *self._more()]:
                if is_answer:
                    arrived.append(item)
                else:
                    self._land(item, durable)
            group, uploaded = self._check(arrived)
            if uploaded:
                self._execute(uploaded)
            if group:
                self.to_flush.put(group)

    def _send(self, action: Action) -> None:
        key = id(action)
        done = functools.partial(self.news.put, (True, key, False))
        tmp: Path | None = None
        try:
            if action.kind is ActionKind.UPLOAD:
                sent: PendingDownload | PendingUpload | None = self._start_upload(action, done)
            else:
                assert action.remote is not None
                tmp = self.executor._tmp_file(".part")
                sent = self.executor.remote.start_download(action.remote, tmp, done)
        except Exception:  # the workers try it again, and report what fails there
            sent = None
        if sent is None:
            if tmp is not None:
                _discard(tmp)
            self.again.append(action)
            return
        if self.executor.on_start is not None:
            self.executor.on_start(action)
        self.in_flight[key] = (action, tmp, sent)

    def _start_upload(self, action: Action, done: Callable[[], None]) -> PendingUpload | None:
        """The file checked as planned and read (as `Executor._upload` does), its PUT sent."""
        executor = self.executor
        local, sha, parent = executor._upload_of(action)
        body = executor._snapshot(executor._target(action.path), local, sha)
        if not isinstance(body, bytes):
            return None
        return executor.remote.start_upload(
            action.path,
            body,
            metadata=executor._metadata(local, sha, parent),
            if_match=action.if_match,
            on_done=done,
        )

    def _next_news(self, wait: float) -> tuple[bool, Any, bool] | None:
        """The next news, waiting at most `wait` seconds (None: none came), also while
        signals arrive: this is the thread a Ctrl-C interrupts, and the stop it asks for
        is seen only when this wait returns."""
        try:
            return self.news.get(timeout=max(0.0, wait))
        except queue.Empty:
            return None

    def _more(self) -> list[tuple[bool, Any, bool]]:
        """The news that came meanwhile, without waiting for more."""
        found: list[tuple[bool, Any, bool]] = []
        while len(found) < GROUP:
            try:
                found.append(self.news.get_nowait())
            except queue.Empty:
                break
        return found

    def _check(self, keys: list[int]) -> tuple[list[tuple[Action, Prefetched]], list[Action]]:
        """The downloads that arrived, checked against their versions' size and hash; and
        the uploads that went up (their versions in `uploaded_ahead`)."""
        checked: list[tuple[Action, Prefetched]] = []
        uploaded: list[Action] = []
        for key in keys:
            action, tmp, sent = self.in_flight.pop(key)
            if isinstance(sent, PendingUpload):
                try:
                    self.executor.uploaded_ahead[action.path] = sent.finish()
                except Exception:  # the workers upload it again, and tell why it failed
                    self.again.append(action)
                else:
                    uploaded.append(action)
                continue
            assert tmp is not None
            try:
                checked.append((action, Prefetched(tmp, sent.finish())))
            except errors.LocalError as exc:  # `execute` reports it; retrying cannot help
                checked.append((action, Prefetched(tmp, None, error=exc)))
            except Exception:  # the workers download it again, retrying as usual
                _discard(tmp)
                self.again.append(action)
        if checked:
            self.unlanded[id(checked)] = checked
        return checked, uploaded

    def _flush(self) -> None:
        """The flush thread: one shared flush for every group waiting (`Durable.flush`)."""
        while (group := self.to_flush.get()) is not None:
            groups = [group]
            while True:
                try:
                    more = self.to_flush.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    self.to_flush.put(None)  # seen on the next turn: these still land
                    break
                groups.append(more)
            try:
                durable = self.executor.durable.flush()
            except OSError:  # each file then gets an fsync of its own, and its own error
                durable = False
            for done in groups:
                self.news.put((False, done, durable))

    def _land(self, group: list[tuple[Action, Prefetched]], durable: bool) -> None:
        """Land each file of a flushed group: `execute` finds it in `prefetched`."""
        del self.unlanded[id(group)]
        for action, fetched in group:
            assert action.remote is not None
            where = (action.path, action.remote.version_id)
            self.executor.prefetched[where] = dataclasses.replace(fetched, durable=durable)
        self._execute([action for action, _ in group])

    def _execute(self, actions: list[Action]) -> None:
        """Finish actions whose transfer is done (`execute` finds it) and report them."""
        with self.grouped():
            for action in actions:
                self.on_outcome(self.executor.execute(action))

    def abandon(self) -> None:
        """Give up what has not landed (a stop, or an error that ends the run): cancel the
        requests in flight, and remove the files fetched but not landed."""
        for action, tmp, sent in self.in_flight.values():
            sent.abandon()
            # removed now, not at the next run's start: a write the CRT has begun goes to
            # the unlinked file, and one not begun fails to open it (it does not create it)
            if tmp is not None:
                _discard(tmp)
            self.abandoned.append(action)
        self.in_flight.clear()
        for group in self.unlanded.values():
            for action, fetched in group:
                _discard(fetched.tmp)
                self.abandoned.append(action)
        self.unlanded.clear()


def _discard(tmp: Path) -> None:
    """Remove a temp file that is not landing (it may be gone already); one that cannot be
    removed now is left to the next run, which empties the temp folder (`clean_tmp`)."""
    with contextlib.suppress(OSError):
        tmp.unlink(missing_ok=True)
