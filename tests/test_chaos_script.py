"""scripts/chaos.py stays runnable, and its verdicts hold on a short run with a fresh seed.

One run per test session (a fixture); each verdict of its report is its own test, so that a
verdict still failing on a known hole is marked as such without hiding the others.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # a seeded chaos run: seconds of real syncing

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "chaos.py"
ROUNDS = 30


@dataclass(frozen=True)
class ChaosRun:
    seed: int
    code: int
    output: str
    rows: dict[str, str]

    def count(self, row: str) -> int:
        return int(self.rows[row].split()[0])

    def details(self) -> str:
        return f"seed {self.seed} (rerun: CLOUDDRIVE_CHAOS_SEED={self.seed})\n{self.output}"


@pytest.fixture(scope="module")
def chaos_run() -> ChaosRun:
    """A short run with faults, kills and the hostile world, on a fresh seed (printed)."""
    drawn = os.environ.get("CLOUDDRIVE_CHAOS_SEED")
    seed = int(drawn) if drawn else secrets.randbelow(1_000_000)
    args = ["--rounds", str(ROUNDS), "--seed", str(seed), "--fault-rate", "0.3"]
    result = subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        capture_output=True,
        text=True,
        timeout=280,
    )
    rows = {}  # report rows are "  NAME (padded to 28) VALUE"; detail lines have a colon
    for line in result.stdout.splitlines():
        name = line[2:30].strip()
        if line.startswith("  ") and name and ":" not in name:
            rows[name] = line[30:].strip()
    return ChaosRun(seed, result.returncode, result.stdout + result.stderr, rows)


@pytest.mark.timeout(300)
def test_the_run_completes_with_its_report(chaos_run: ChaosRun) -> None:
    """Every round ran; the hostile world really acted; the verdict line matches the code."""
    assert chaos_run.rows.get("rounds") == str(ROUNDS), chaos_run.details()
    assert chaos_run.code in (0, 1), chaos_run.details()
    hostile = [
        "kills at random moments",
        "SIGINTs of a child sync",
        "in-process interrupts",
        "file/folder swaps",
        "same-tick edits",
        "syncs, a folder unreadable",
        "uploads by another tool",
        "outside hard deletes",
    ]
    assert sum(chaos_run.count(row) for row in hostile) > 0, chaos_run.details()
    verdict = "chaos: OK" if chaos_run.code == 0 else "chaos: FAILED"
    assert verdict in chaos_run.output, chaos_run.details()


@pytest.mark.timeout(300)
def test_nothing_is_written_outside_the_roots(chaos_run: ChaosRun) -> None:
    assert chaos_run.count("writes outside the roots") == 0, chaos_run.details()


@pytest.mark.timeout(300)
def test_nothing_entrusted_is_lost(chaos_run: ChaosRun) -> None:
    assert chaos_run.count("lost contents") == 0, chaos_run.details()


@pytest.mark.timeout(300)
def test_no_delete_is_planned_under_an_unreadable_folder(chaos_run: ChaosRun) -> None:
    assert chaos_run.count("deletes under unreadable") == 0, chaos_run.details()


@pytest.mark.timeout(300)
def test_every_delete_names_its_deleter(chaos_run: ChaosRun) -> None:
    assert chaos_run.count("deletes naming no deleter") == 0, chaos_run.details()


@pytest.mark.timeout(300)
def test_the_same_content_is_never_a_conflict(chaos_run: ChaosRun) -> None:
    assert chaos_run.count("identical conflict copies") == 0, chaos_run.details()


@pytest.mark.timeout(300)
@pytest.mark.xfail(
    strict=False,
    reason="known residual (issue 9 follow-up): in rare histories a file/folder swap name "
    "(e/s.txt with seed 333 at 200 rounds) stays apart between drives; nothing is lost",
)
def test_the_drives_converge(chaos_run: ChaosRun) -> None:
    assert chaos_run.rows["rounds to converge"] != "NEVER", chaos_run.details()
