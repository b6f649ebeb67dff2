"""scripts/chaos.py stays runnable: a short seeded run reports nothing lost or escaped."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # a seeded chaos run: seconds of real syncing

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "chaos.py"


@pytest.mark.timeout(300)
def test_short_chaos_run_is_clean() -> None:
    """A dozen rounds with faults and kills: lost 0, outside 0, converged."""
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--rounds", "12", "--seed", "3", "--fault-rate", "0.3"],
        capture_output=True,
        text=True,
        timeout=280,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    lines = dict(
        line.strip().rsplit(None, 1) for line in result.stdout.splitlines() if line.startswith("  ")
    )
    assert lines["lost contents"] == "0"
    assert lines["writes outside the roots"] == "0"
    assert lines["rounds"] == "12"
    assert "chaos: OK" in result.stdout
