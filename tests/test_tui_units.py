"""The app's pure parts (times, progress counting) and how the CLI opens it."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from clouddrive.cli.main import main
from clouddrive.core.models import Action, ActionKind, LocalChange, LocalFile, Plan, RemoteChange
from clouddrive.sync.executor import Outcome
from clouddrive.tui.fmt import Clock, ago, duration
from clouddrive.tui.tracker import SyncTracker
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
        assert snap.rate == 2000 and snap.seconds_left == 2 and snap.fraction == 0.5
        assert tracker.drain()[0] == []


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
