"""Small transfers sent ahead (`sync/fetchahead.py`): many requests in flight from the
reporting thread, each download checked and landed (and each upload's version taken)
through `Executor.execute` as its answer arrives; a transfer that fails is done again by the
workers; a stop sends nothing more."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import pytest

from clouddrive.core.models import Action
from clouddrive.ledger.objects import Objects
from clouddrive.ledger.pending import PendingDownload, PendingUpload
from clouddrive.sync.order import SMALL_FILE_FACTOR
from clouddrive.testing.faultproxy import Fault, FaultProxy, Rule
from tests.drivekit import Shared, sync, tree, write

FILES = {f"d{i % 3}/f{i:03}.txt": f"small file {i}\n" * (i % 7 + 1) for i in range(150)}


class Spy:
    """Counts one kind of transfer: the ones the workers made (`by_workers`), the ones sent
    ahead (`sent`), and the most of those in flight at once."""

    def __init__(
        self, monkeypatch: pytest.MonkeyPatch, kind: Literal["download", "upload"]
    ) -> None:
        self.by_workers = 0
        self.sent = 0
        self.finished = 0
        self.most_in_flight = 0
        self.lock = threading.Lock()
        start_name = f"start_{kind}"
        by_worker, start = getattr(Objects, kind), getattr(Objects, start_name)
        pending = PendingDownload if kind == "download" else PendingUpload
        finish = pending.finish

        def counted_by_worker(objects: Objects, *args: Any, **kwargs: Any) -> Any:
            with self.lock:
                self.by_workers += 1
            return by_worker(objects, *args, **kwargs)

        def counted_start(objects: Objects, *args: Any, **kwargs: Any) -> Any:
            sent = start(objects, *args, **kwargs)
            # sent ahead: with the callback that tells its end (a worker's download has none)
            if sent is not None and (len(args) > 2 or kwargs.get("on_done")):
                with self.lock:
                    self.sent += 1
                    self.most_in_flight = max(self.most_in_flight, self.sent - self.finished)
            return sent

        def counted_finish(transfer: Any) -> Any:
            with self.lock:
                self.finished += 1
            return finish(transfer)

        monkeypatch.setattr(Objects, kind, counted_by_worker)
        monkeypatch.setattr(Objects, start_name, counted_start)
        monkeypatch.setattr(pending, "finish", counted_finish)


@pytest.fixture
def uploaded(shared: Shared, tmp_path: Path) -> Shared:
    ann = shared.drive(tmp_path / "ann", "ann")
    for path, text in FILES.items():
        write(ann.root, path, text)
    sync(ann)
    ann.close()
    return shared


def test_small_downloads_are_sent_ahead_and_land_with_their_bases(
    uploaded: Shared, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spy = Spy(monkeypatch, "download")
    bob = uploaded.drive(tmp_path / "bob", "bob")
    report = sync(bob)
    assert len(report.done) == len(FILES)
    assert (spy.sent, spy.by_workers) == (len(FILES), 0)  # none went through a worker
    assert 1 < spy.most_in_flight <= bob.config.workers * SMALL_FILE_FACTOR
    assert tree(bob.root) == {p: t.encode() for p, t in FILES.items()}
    latest = {p: e.version_id for p, e in bob.remote.list_latest().entries.items()}
    assert {p: b.version_id for p, b in bob.state.load().items()} == latest
    assert bob.status().is_empty  # the bases match the files as landed
    assert not list((bob.root / ".clouddrive" / "tmp").iterdir())


@pytest.fixture
def proxy(seaweedfs) -> Iterator[FaultProxy]:  # type: ignore[no-untyped-def]
    with FaultProxy(seaweedfs.endpoint_url) as p:
        yield p


def test_a_failed_fetch_is_downloaded_again_by_the_workers(
    uploaded: Shared, proxy: FaultProxy, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Error answers and cut bodies on the fetches sent ahead: those files come down through
    the workers (which retry as usual), the others land at once; nothing fails."""
    faulty = Shared(proxy.endpoint_url, uploaded.bucket, uploaded.prefix)
    bob = faulty.drive(tmp_path / "bob", "bob")
    proxy.add(Rule(Fault.INTERNAL, operation="GetObject", times=3))
    proxy.add(Rule(Fault.TRUNCATE_BODY, operation="GetObject", times=2))
    spy = Spy(monkeypatch, "download")
    report = sync(bob)
    assert not report.failed
    assert proxy.fired(Fault.INTERNAL) == 3 and proxy.fired(Fault.TRUNCATE_BODY) == 2
    assert spy.by_workers == 5  # the five that failed ahead, once each through a worker
    assert tree(bob.root) == {p: t.encode() for p, t in FILES.items()}
    assert bob.status().is_empty


def test_a_stop_sends_nothing_more_and_the_rest_comes_next_time(
    uploaded: Shared, tmp_path: Path
) -> None:
    bob = uploaded.drive(tmp_path / "bob", "bob")
    cancel = threading.Event()
    started: list[str] = []
    after_stop: list[str] = []

    def on_start(action: Action) -> None:
        (after_stop if cancel.is_set() else started).append(action.path)
        if len(started) == 10:
            cancel.set()

    report = bob.sync(cancel=cancel, on_start=on_start)
    assert report.cancelled
    assert (len(started), after_stop) == (10, [])
    done = {o.action.path for o in report.done}
    assert done <= set(started)
    assert set(tree(bob.root)) == done  # only what was sent and answered landed
    assert set(bob.state.load()) == done
    again = sync(bob)
    assert {o.action.path for o in again.done} == set(FILES) - done
    assert tree(bob.root) == {p: t.encode() for p, t in FILES.items()}


def test_small_uploads_are_sent_ahead_with_their_metadata_and_bases(
    shared: Shared, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ann = shared.drive(tmp_path / "ann", "ann")
    for path, text in FILES.items():
        write(ann.root, path, text)
    spy = Spy(monkeypatch, "upload")
    assert len(sync(ann).done) == len(FILES)
    assert (spy.sent, spy.by_workers) == (len(FILES), 0)  # none went through a worker
    first = ann.state.load()
    edited = sorted(FILES)[:10]
    for path in edited:
        write(ann.root, path, "edited\n")
    assert len(sync(ann).done) == len(edited)  # If-Match on each base, sent ahead too
    assert (spy.sent, spy.by_workers) == (len(FILES) + len(edited), 0)
    assert ann.status().is_empty
    bases = ann.state.load()
    for path in edited[:3]:
        head = ann.remote.head_version(path, bases[path].version_id)["Metadata"]
        assert head["clouddrive-user"] == "ann"
        assert head["clouddrive-parent"] == first[path].version_id
        assert head["clouddrive-sha256"] == bases[path].sha256
    bob = shared.drive(tmp_path / "bob", "bob")
    sync(bob)
    assert tree(bob.root) == tree(ann.root)


def test_a_failed_upload_is_sent_again_by_the_workers(
    shared: Shared, proxy: FaultProxy, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    faulty = Shared(proxy.endpoint_url, shared.bucket, shared.prefix)
    ann = faulty.drive(tmp_path / "ann", "ann")
    for path, text in FILES.items():
        write(ann.root, path, text)
    proxy.add(Rule(Fault.INTERNAL, operation="PutObject", path="/d1/", times=3))
    spy = Spy(monkeypatch, "upload")
    report = sync(ann)
    assert not report.failed and len(report.done) == len(FILES)
    assert proxy.fired(Fault.INTERNAL) == 3
    assert spy.by_workers == 3  # the three refused ahead, once each through a worker
    assert {p: d.decode() for p, d in shared.latest().items()} == FILES
    assert ann.status().is_empty


_SIGNAL_STORM = """
import os, random, signal, threading, time
from clouddrive.sync.fetchahead import _Window

window = _Window(None, [], None, None, 1)  # only its wait for news is used here
signal.signal(signal.SIGINT, lambda signum, frame: None)  # as the CLI's Ctrl-C handler


def storm() -> None:
    for _ in range(300):
        time.sleep(random.uniform(0.001, 0.02))
        os.kill(os.getpid(), signal.SIGINT)


threading.Thread(target=storm, daemon=True).start()
longest, end = 0.0, time.monotonic() + 4
while time.monotonic() < end:
    began = time.monotonic()
    assert window._next_news(0.05) is None
    longest = max(longest, time.monotonic() - began)
print(longest)
"""


def test_the_wait_for_answers_times_out_while_signals_arrive() -> None:
    """The thread that waits for answers is the one a Ctrl-C interrupts, and it sees the
    stop only when its wait returns. On Python 3.11 a `SimpleQueue.get(timeout=...)` that
    a signal interrupts could wait forever: one run in about fifteen of a Ctrl-C with the
    server paused never ended (`test_interrupt.py`)."""
    done = subprocess.run(
        [sys.executable, "-c", _SIGNAL_STORM], capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert float(done.stdout) < 1.0
