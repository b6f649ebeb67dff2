"""Running a plan's actions on worker threads so that stop means stop, whatever S3 does.

A stop (the `cancel` event: Ctrl-C in the CLI, the app's Stop button) must end a run within
seconds even when the server stops answering, and nothing that had not started may start
after it. Four pieces make that true:

- `run_batch` gives each worker one action at a time (no queue of submitted jobs) and takes
  the next only while no stop is asked: the stop check, the take and `on_start` are one step;
- a gate on the S3 client: once the stop is asked, a transfer worker makes no new S3 request
  (a retry, the next part of a multipart upload) except the abort of its multipart upload,
  so an upload in flight ends at its next request and leaves no open multipart upload;
- a `Batch` per group of actions run together: after a grace period the run stops waiting
  for the transfers still in flight and *abandons* them; an abandoned download never moves
  its file into place (`Batch.landing`), so a late finish cannot change the folder after
  the run has ended and reported;
- worker threads are daemon threads, so a process that is exiting never waits for a request
  that will not come back.

The gate is a botocore event hook reached through the client's own event system (the
ledger announces the transfers it sends through the CRT there too): nothing here imports
boto3 or botocore.
"""

from __future__ import annotations

import contextlib
import contextvars
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Generic, TypeVar

from clouddrive import errors
from clouddrive.ledger import CRT_BEFORE_CALL

__all__ = ["GROUP", "STOP_GRACE", "Batch", "Stopped", "install_gate", "landing", "run_batch"]

#: After a stop, how long transfers in flight get to finish before they are abandoned.
#: Short enough that Ctrl-C ends a run within 5 s with the server paused (the run record
#: then gets `RECORD_WAIT` more), long enough for a file of a few MiB on a working link.
STOP_GRACE = 1.5

_POLL = 0.1  #: how often the scheduling thread looks at the stop event while it waits

A = TypeVar("A")  #: an action
R = TypeVar("R")  #: its outcome


class Stopped(errors.CloudDriveError):
    """A stop was asked before this action (or its next S3 request) started: not done,
    not failed; it waits for the next run."""


class Batch:
    """The actions of one scheduling round: the stop event, and whether the run has given
    up waiting for them (abandoned). Downloads land side by side; abandoning waits for the
    ones landing right now, and no other starts after it (a shared/exclusive pair: one
    plain lock around every landing made 32 workers queue for it, a futex storm)."""

    def __init__(self, cancel: threading.Event) -> None:
        self.cancel = cancel
        self._state = threading.Condition(threading.Lock())
        self._landing = 0  #: downloads being moved into place right now
        self.abandoned = False

    def abandon(self) -> None:
        """From now on no download of this batch lands in the folder (waits for those
        landing right now: local renames, never a network wait)."""
        with self._state:
            self.abandoned = True
            self._state.wait_for(lambda: self._landing == 0)

    @contextlib.contextmanager
    def landing(self) -> Iterator[None]:
        with self._state:
            if self.abandoned:
                raise Stopped("stopped before the download was moved into place")
            self._landing += 1
        try:
            yield
        finally:
            with self._state:
                self._landing -= 1
                if self._landing == 0 and self.abandoned:
                    self._state.notify_all()


#: the batch whose transfer worker this is: a context variable, not a thread-local, so the
#: threads a transfer fans out to (the parts of a large upload, `contextvars.copy_context`)
#: are stopped by the gate like the worker itself
_worker_batch: contextvars.ContextVar[Batch | None] = contextvars.ContextVar(
    "clouddrive_worker_batch", default=None
)


@contextlib.contextmanager
def worker_context(batch: Batch) -> Iterator[None]:
    """Marks the current thread as a transfer worker of `batch` (for the gate and landing)."""
    token = _worker_batch.set(batch)
    try:
        yield
    finally:
        _worker_batch.reset(token)


@contextlib.contextmanager
def landing() -> Iterator[None]:
    """Around the final move of a download into the folder: raises `Stopped` if the run
    abandoned this worker's batch, and keeps it from being abandoned half-way. Outside a
    worker (resolve, tests) it does nothing."""
    batch = _worker_batch.get()
    if batch is None:
        yield
        return
    with batch.landing():
        yield


def _gate(model: Any = None, **_: Any) -> None:
    """botocore `before-call` hook: a worker whose run was stopped sends nothing more but
    the abort of its multipart upload. Other threads (planning, the run record) pass."""
    batch = _worker_batch.get()
    if batch is None or not batch.cancel.is_set():
        return
    if getattr(model, "name", "") == "AbortMultipartUpload":
        return
    raise Stopped("stopped before the next request to S3")


def install_gate(remote: object) -> None:
    """Hook the gate into `remote`'s S3 client once (idempotent; a remote without a boto3
    client, such as a test double, has nothing to gate)."""
    client = getattr(remote, "client", None)
    events = getattr(getattr(client, "meta", None), "events", None)
    if events is None:
        return
    events.register("before-call.s3", _gate, unique_id="clouddrive-stop-gate")
    # transfers the CRT carries announce themselves on the same event system
    events.register(CRT_BEFORE_CALL, _gate, unique_id="clouddrive-stop-gate-crt")


def run_batch(
    actions: Sequence[A],
    perform: Callable[[A], R],
    *,
    workers: int,
    cancel: threading.Event,
    grace: float = STOP_GRACE,
    on_start: Callable[[A], None] | None = None,
    on_outcome: Callable[[R], None],
    grouped: Callable[[], contextlib.AbstractContextManager[None]] = contextlib.nullcontext,
) -> list[A]:
    """Run `actions` with `perform` on up to `workers` daemon threads; report each outcome
    on the calling thread. After a stop, wait `grace` seconds for the actions in flight,
    then abandon them. Returns the actions a stop left undone (never started, stopped at
    their next request, or abandoned): they have no outcome and wait for the next run.

    Outcomes that arrive together (up to `GROUP`) are reported inside one `grouped()`
    block, so the caller can write them out together.

    `perform` raises `Stopped` for an action the gate stopped; any other exception it
    raises ends the run and is raised here (after the other workers are abandoned)."""
    run = _BatchRun(actions, perform, workers, cancel, grace, on_start)
    return run.run(on_outcome, grouped)


#: outcomes reported in one `grouped` block, at most
GROUP = 256
#: how long a group waits for more outcomes after its first. Why wait: every write the
#: reporting thread makes gives up the GIL, and getting it back from busy transfer threads
#: takes up to the interpreter's switch interval (5 ms); groups of a few outcomes cost a
#: download of 5,000 small files 3 s of waiting on the reporting thread alone.
GATHER = 0.05


class _BatchRun(Generic[A, R]):
    def __init__(
        self,
        actions: Sequence[A],
        perform: Callable[[A], R],
        workers: int,
        cancel: threading.Event,
        grace: float,
        on_start: Callable[[A], None] | None,
    ) -> None:
        self.batch = Batch(cancel)
        self.todo: deque[A] = deque(actions)
        self.perform = perform
        self.workers = max(1, min(workers, len(actions)))
        self.cancel = cancel
        self.grace = grace
        self.on_start = on_start
        self.starting = threading.Lock()  #: the stop check and the take of an action: one step
        self.in_flight: dict[int, A] = {}
        self.stopped: list[A] = []
        #: (action, outcome, None) | (action, None, None) when stopped | (action, None, exc);
        #: None when a worker ends
        self.results: queue.Queue[tuple[A, R | None, BaseException | None] | None]
        self.results = queue.Queue()

    def run(
        self,
        on_outcome: Callable[[R], None],
        grouped: Callable[[], contextlib.AbstractContextManager[None]],
    ) -> list[A]:
        if not self.todo:
            return []
        for n in range(self.workers):
            threading.Thread(target=self._work, name=f"cd-xfer-{n}", daemon=True).start()
        running = self.workers
        deadline: float | None = None
        try:
            while running:
                if deadline is None and self.cancel.is_set():
                    deadline = time.monotonic() + self.grace
                try:
                    result = self.results.get(timeout=_POLL)
                except queue.Empty:
                    if deadline is not None and time.monotonic() >= deadline:
                        break
                    continue
                with grouped():
                    running -= self._take(result, on_outcome)
                    for result in self._arriving(GROUP - 1, GATHER):
                        running -= self._take(result, on_outcome)
                        if not running:
                            break
        finally:
            self.batch.abandon()
        # What finished while the run stopped waiting still counts (and is recorded).
        with grouped():
            for result in self._waiting():
                self._take(result, on_outcome)
        with self.starting:
            return [*self.stopped, *self.in_flight.values(), *self.todo]

    def _waiting(self) -> Iterator[tuple[A, R | None, BaseException | None] | None]:
        """The worker messages already waiting, without waiting for more."""
        while True:
            try:
                yield self.results.get_nowait()
            except queue.Empty:
                return

    def _arriving(
        self, most: int, within: float
    ) -> Iterator[tuple[A, R | None, BaseException | None] | None]:
        """Worker messages arriving within `within` seconds, at most `most`: what is reported
        in one group."""
        until = time.monotonic() + within
        for _ in range(most):
            left = until - time.monotonic()
            try:
                result = self.results.get(timeout=left) if left > 0 else self.results.get_nowait()
            except queue.Empty:
                return
            yield result

    def _take(
        self,
        result: tuple[A, R | None, BaseException | None] | None,
        on_outcome: Callable[[R], None],
    ) -> int:
        """Handle one worker message; 1 if it says that the worker ended."""
        if result is None:
            return 1
        action, outcome, failure = result
        with self.starting:
            self.in_flight.pop(id(action), None)
        if failure is not None:
            raise failure
        if outcome is None:
            self.stopped.append(action)
        else:
            on_outcome(outcome)
        return 0

    def _work(self) -> None:
        """One worker: take the next action unless a stop was asked, run it, report it."""
        with worker_context(self.batch):
            try:
                while True:
                    with self.starting:
                        if self.cancel.is_set() or self.batch.abandoned or not self.todo:
                            return
                        action = self.todo.popleft()
                        self.in_flight[id(action)] = action
                        if self.on_start is not None:
                            self.on_start(action)
                    try:
                        self.results.put((action, self.perform(action), None))
                    except Stopped:
                        self.results.put((action, None, None))
                    except BaseException as exc:  # lost credentials and the like end the run
                        self.results.put((action, None, exc))
                        return
            finally:
                self.results.put(None)
