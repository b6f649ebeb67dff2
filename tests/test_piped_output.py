"""Output to a pipe or a file is never wrapped or cut: every path stays whole on its line,
so `grep`, `cut` and copy-paste work (it was wrapped at 80 columns, mid-word)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.drivekit import Shared, sync, write

LONG = "docs/specifications/2026/quarterly-planning/engineering/storage-layer-design-review.md"


def piped(root: Path, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "clouddrive", "--root", str(root), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={"COLUMNS": "80", **_env()},
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def _env() -> dict[str, str]:
    import os

    return dict(os.environ)


def whole(text: str, path: str) -> bool:
    return any(path in line for line in text.splitlines())


def test_piped_status_deleted_activity_history_keep_paths_whole(
    shared: Shared, tmp_path: Path
) -> None:
    assert len(LONG) > 80
    drive = shared.drive(tmp_path / "ann", "ann")
    write(drive.root, LONG, "draft")
    assert whole(piped(drive.root, "status"), LONG)
    sync(drive)
    write(drive.root, LONG, "second draft")
    sync(drive)
    assert whole(piped(drive.root, "history", LONG), LONG)
    activity = piped(drive.root, "activity")
    assert all(len(line) <= 400 for line in activity.splitlines())
    assert "…" not in activity and "..." not in activity.replace("... and", "")
    (drive.root / LONG).unlink()
    sync(drive)
    deleted = piped(drive.root, "deleted", "--all")
    assert whole(deleted, LONG)
    lines = deleted.splitlines()
    assert not any(line.startswith(("ons/", "ing/")) for line in lines)  # no wrapped tails
