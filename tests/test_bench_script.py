"""scripts/bench.py runs end to end (`--quick`, one scenario group) and reports what it says:
a row per scenario with every installed tool's median and the ratio to the fastest peer.
Speed itself is never asserted here: that depends on the machine (docs/performance.md)."""

from __future__ import annotations

import importlib.util
import json
import shutil
import statistics
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

pytestmark = pytest.mark.slow

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "bench.py"


def _bench_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_script", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up while defined
    spec.loader.exec_module(module)
    return module


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


@pytest.mark.parametrize(
    ("text", "expected"), [("1048576\n", 1048576), ("junk", None), (None, None)]
)
def test_memory_handed_back_is_read_where_the_kernel_counts_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str | None, expected: int | None
) -> None:
    bench = _bench_module()
    counter = tmp_path / "reported_kib"
    if text is not None:
        counter.write_text(text)
    monkeypatch.setattr(bench, "_REPORTED_KIB", counter)
    assert bench.returned_to_host_kib() == expected


def test_the_table_says_when_memory_went_back_to_the_host() -> None:
    bench = _bench_module()
    row = bench.Row(
        "one 512 MiB file down", {"clouddrive": 2.0, "s5cmd": 1.0}, {"clouddrive": 70, "s5cmd": 16}
    )
    note = bench.memory_note(1024, 1024 + 3 * 1024 * 1024)
    assert note is not None and "3.0 GiB" in note
    table = bench.markdown({row.scenario: row}, ["clouddrive", "s5cmd"], "2 cores", note)
    assert table.splitlines()[-1] == note
    # nothing handed back, or a kernel that does not say: no note
    assert bench.memory_note(1024, 1024) is None
    assert bench.memory_note(None, 5) is None
    assert note not in bench.markdown({row.scenario: row}, ["clouddrive", "s5cmd"], "2 cores")
