"""`clouddrive watch` as a process: SIGINT or SIGTERM ends it within seconds, exit 0, with no
half-written file; and a watch that survives its S3 server stopping and coming back."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from clouddrive.drive import Drive
from clouddrive.embedded.launch import start_server
from clouddrive.embedded.stop import stop_server
from clouddrive.live.loop import WatchOptions
from clouddrive.live.status import Phase
from clouddrive.testing.faultproxy import FaultProxy
from tests.drivekit import Shared, sync, tree, write
from tests.servers import create_bucket
from tests.watchkit import wait_for, watching

REPO = Path(__file__).resolve().parent.parent


def _watch_process(root: Path, *flags: str) -> tuple[subprocess.Popen[str], list[str]]:
    """`clouddrive --root ROOT watch FLAGS` with its output collected line by line."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1", "COLUMNS": "200"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "clouddrive", "--root", str(root), "watch", *flags],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    lines: list[str] = []

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line.rstrip("\n"))

    threading.Thread(target=read, daemon=True).start()
    return proc, lines


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_stops_watch_within_seconds_with_exit_0(
    two: tuple[Drive, Drive], shared: Shared, sig: signal.Signals
) -> None:
    a, b = two
    for i in range(40):
        write(a.root, f"batch/{i:02}.bin", os.urandom(64 * 1024))
    sync(a)
    proc, lines = _watch_process(b.root, "--poll", "1")
    try:
        wait_for(lambda: any("watching" in line for line in lines), 30)
        time.sleep(0.3)  # the first sync (40 downloads) is under way
        proc.send_signal(sig)
        start = time.monotonic()
        code = proc.wait(timeout=10)
        took = time.monotonic() - start
    finally:
        if proc.poll() is None:
            proc.kill()
    assert code == 0, lines
    assert took < 5, f"took {took:.1f}s to stop"
    wait_for(lambda: lines and lines[-1].endswith("stopped"), 5)
    assert not [line for line in lines if "Traceback" in line or "error" in line.lower()]
    # No half-written file: whatever arrived is whole.
    remote = shared.latest()
    for path, content in tree(b.root).items():
        assert remote[path] == content, path


@pytest.mark.slow
def test_watch_survives_the_server_stopping_and_coming_back(tmp_path: Path) -> None:
    """A dedicated SeaweedFS, reached through a fixed address (a pass-through proxy), is
    stopped for 30 s and started again on the same data; the watch goes offline once, backs
    off, comes back by itself and syncs what changed meanwhile."""
    data = tmp_path / "weed"
    info = start_server(data, detach=False)
    proxy = FaultProxy(info.endpoint_url)
    try:
        shared = Shared(proxy.endpoint_url, create_bucket(info))
        a = shared.drive(tmp_path / "ann", "ann")
        opts = WatchOptions(
            poll=1.0, full_every=3600, settle=0.3, backoff_initial=0.5, backoff_max=4.0
        )
        with watching(a, opts) as ra:
            wait_for(lambda: ra.watcher.status.snapshot().syncs >= 1, 30)
            stop_server(info.pid)
            write(a.root, "offline.txt", "written while S3 was away")
            wait_for(lambda: ra.watcher.status.snapshot().phase is Phase.OFFLINE, 15)
            time.sleep(30)
            assert ra.watcher.status.snapshot().phase is Phase.OFFLINE
            info = start_server(data, detach=False)
            proxy._up_port = urlsplit(info.endpoint_url).port or 80  # same address for clouddrive
            wait_for(
                lambda: shared.latest().get("offline.txt") == b"written while S3 was away",
                opts.backoff_max + 15,
            )
        offline = [line for line in ra.lines if line.startswith("offline:")]
        assert len(offline) == 1, ra.lines
        assert "back online" in ra.lines
        assert len(ra.lines) <= 3, ra.lines  # no error storm
        a.close()
    finally:
        proxy.close()
        stop_server(info.pid)
