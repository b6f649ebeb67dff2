"""The app's pure parts (times, progress counting) and how the CLI opens it."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from clouddrive.cli.main import main
from clouddrive.core.models import Action, ActionKind, LocalChange, LocalFile, Plan, RemoteChange
from clouddrive.sync.outcome import Outcome
from clouddrive.tui.fmt import Clock, ago, duration
from clouddrive.tui.tracker import ACTION_WEIGHT, SyncTracker
from tests.drivekit import Shared, write

NOW = datetime(2025, 3, 14, 10, 0, tzinfo=UTC)
CLOCK = Clock(now=lambda: NOW, tz=UTC)


class TestTimes:
    @pytest.mark.parametrize(
        ("delta", "text"),
        [
            (timedelta(seconds=10), "just now"),
            (timedelta(minutes=5), "5 min ago"),
            (timedelta(hours=3, minutes=59), "3 h ago"),
            (timedelta(days=1, hours=2), "yesterday"),
            (timedelta(days=4), "4 days ago"),
            (timedelta(days=30), "2025-02-12"),
            (timedelta(minutes=-10), "2025-03-14 10:10"),
        ],
    )
    def test_ago(self, delta: timedelta, text: str) -> None:
        """Times read the way people say them, against the injected clock."""
        assert ago(NOW - delta, CLOCK) == text

    def test_duration(self) -> None:
        """Seconds, then minutes and seconds, then hours and minutes."""
        assert [duration(s) for s in (8.4, 184, 7500)] == ["8 s", "3 min 4 s", "2 h 5 min"]


def _upload(path: str, size: int) -> Action:
    return Action(
        ActionKind.UPLOAD,
        path,
        LocalChange.CREATED,
        RemoteChange.ABSENT,
        local=LocalFile(path, size, 1, "0" * 64),
    )


class TestTracker:
    def test_counts_rate_and_time_left(self) -> None:
        """Bytes and files done, failures, in flight, rate and time left from the clock."""
        t = [100.0]
        tracker = SyncTracker(lambda: t[0])
        a, b, c = _upload("a", 1000), _upload("b", 3000), _upload("c", 4000)
        record = Action(ActionKind.RECORD, "r", LocalChange.UNCHANGED, RemoteChange.UNCHANGED)
        tracker.planned(Plan(actions=(a, b, c, record)))
        tracker.begin()
        for action in (a, b, record):
            tracker.started(action)
        t[0] = 102.0
        tracker.finished(Outcome(a))
        tracker.finished(Outcome(record))
        tracker.finished(Outcome(b, error="boom"))
        tracker.started(c)
        done, snap = tracker.drain()
        assert [o.action.path for o in done] == ["a", "r", "b"]
        assert (snap.bytes_done, snap.bytes_total) == (4000, 8000)
        assert (snap.files_done, snap.files_total, snap.failed) == (2, 3, 1)
        assert [x.path for x in snap.in_flight] == ["c"]
        work = 8000 + 3 * ACTION_WEIGHT
        assert snap.rate == 2000 and snap.fraction == (4000 + 2 * ACTION_WEIGHT) / work
        assert snap.seconds_left == pytest.approx(2 * (1 - snap.fraction) / snap.fraction)
        assert tracker.drain()[0] == []

    def test_bytes_count_as_they_stream(self) -> None:
        """Issue 13 item 3: a file's bytes move the bar while it is sent (capped at its
        size: a retried request sends them again), not only when it finishes."""
        t = [0.0]
        tracker = SyncTracker(lambda: t[0])
        big = _upload("big.iso", 100 * 2**20)
        tracker.planned(Plan(actions=(big,)))
        tracker.begin()
        tracker.started(big)
        tracker.moved("big.iso", 40 * 2**20)
        tracker.moved("not-in-flight", 10)
        t[0] = 4.0
        _, snap = tracker.drain()
        assert snap.bytes_done == 40 * 2**20 and 0.39 < snap.fraction < 0.41
        assert snap.seconds_left is not None and 5 < snap.seconds_left < 7  # ~6 s, not minutes
        tracker.moved("big.iso", 90 * 2**20)  # a retry: counted up to the size only
        assert tracker.drain()[1].bytes_done == 100 * 2**20
        tracker.finished(Outcome(big))
        assert tracker.drain()[1].bytes_done == 100 * 2**20

    def test_deletes_move_the_bar_and_no_estimate_from_nothing(self) -> None:
        """Deletes (no bytes) count as work; the first seconds say "estimating", never a
        wild guess from one finished file."""
        t = [0.0]
        tracker = SyncTracker(lambda: t[0])
        deletes = [
            Action(ActionKind.DELETE_REMOTE, f"d{i}", LocalChange.DELETED, RemoteChange.UNCHANGED)
            for i in range(100)
        ]
        big = _upload("big.iso", 2**30)
        tracker.planned(Plan(actions=(*deletes, big)))
        tracker.begin()
        t[0] = 0.5
        for action in deletes[:50]:
            tracker.started(action)
            tracker.finished(Outcome(action))
        snap = tracker.drain()[1]
        assert snap.fraction > 0.005 and snap.seconds_left is None
        t[0] = 3.0
        for action in deletes[50:]:
            tracker.started(action)
            tracker.finished(Outcome(action))
        assert tracker.drain()[1].fraction > 0.01


class TestCli:
    def test_no_terminal_prints_status_and_says_why(self, seaweedfs, bucket, tmp_path) -> None:
        """Without a terminal, `clouddrive` prints the status with one line saying why."""
        shared = Shared(seaweedfs.endpoint_url, bucket)
        drive = shared.drive(tmp_path / "d", "ann")
        write(drive.root, "a.txt", "a")
        result = subprocess.run(
            [sys.executable, "-m", "clouddrive", "--root", str(drive.root)],
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr
        assert "no terminal for the interactive app" in result.stderr
        assert "a.txt" in result.stdout and "upload" in result.stdout

    def test_not_a_drive_is_one_line_before_any_app(self, tmp_path: Path, capsys) -> None:
        """`clouddrive app` outside a drive fails like any command (exit 1, one line)."""
        from clouddrive.tui import run_app

        with pytest.raises(Exception, match="not inside a clouddrive folder"):
            run_app(tmp_path)
        assert main(["--root", str(tmp_path), "status"]) == 1
