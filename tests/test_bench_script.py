"""scripts/bench.py runs end to end (`--quick`, one scenario group) and reports what it says:
a row per scenario with every installed tool's median and the ratio to the fastest peer.
Speed itself is never asserted here: that depends on the machine (docs/performance.md)."""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "bench.py"


@pytest.mark.slow
def test_quick_bench_prints_medians_and_ratios(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--json", "--only", "download"],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    doc = json.loads(done.stdout)
    assert doc["quick"] is True
    peers = [p for p in ("s5cmd", "rclone", "aws") if shutil.which(p)]
    assert doc["tools"] == ["clouddrive", *peers]
    [upload, download] = doc["rows"]
    assert upload["scenario"].startswith("first upload")
    assert download["scenario"].startswith("download")
    for row in doc["rows"]:
        assert row["failed"] == []
        for tool in doc["tools"]:
            assert row["seconds"][tool] > 0
            assert row["seconds"][tool] == statistics.median(row["runs"][tool])
            assert row["rss_mib"][tool] > 1  # the program's own peak, not 0 and not ours
        if peers:
            fastest = min(row["seconds"][p] for p in peers)
            assert row["ratio"] == pytest.approx(row["seconds"]["clouddrive"] / fastest)
        else:
            assert row["ratio"] is None


@pytest.mark.parametrize("only", ["uplod", "upload,bigg", ","])
def test_a_scenario_group_that_does_not_exist_is_refused(only: str, tmp_path: Path) -> None:
    """A typo in `--only` must not run nothing and print an empty table."""
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--only", only],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert done.returncode == 2
    assert "no scenario group" in done.stderr
    assert "choose from upload, download, resync, history, big, rss" in done.stderr
    assert done.stdout == ""
