"""The program's entry (`clouddrive`, `python -m clouddrive`): `main`'s exit code, with the
garbage collector set for a process that runs one command (see `entry_point`)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from clouddrive.cli.main import YOUNG_OBJECTS_PER_COLLECTION

PROBE = textwrap.dedent(
    """
    import atexit, gc
    from clouddrive.cli import main as cli

    kept = []

    def at_exit():
        # what the command left was frozen: no young objects for the last collection
        print("after", gc.get_count()[0] < 1000)

    def command():
        print("during", gc.isenabled(), gc.get_threshold()[0], gc.get_freeze_count() > 0)
        kept.extend([] for _ in range(5000))  # objects alive when the command ends
        print("young", gc.get_count()[0] > 4000)
        return 3

    atexit.register(at_exit)
    cli.main = command
    cli.entry_point()
    """
)


def test_the_entry_exits_with_mains_code_and_freezes_what_lives_to_the_end() -> None:
    run = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=60, check=False
    )
    assert run.returncode == 3, run.stderr
    assert run.stdout.split("\n")[:3] == [
        f"during True {YOUNG_OBJECTS_PER_COLLECTION} True",  # on, imports frozen out
        "young True",
        "after True",
    ]


def test_python_dash_m_runs_the_entry() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "clouddrive", "--version"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("clouddrive ")
