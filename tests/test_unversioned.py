"""A bucket that keeps no versions gives no false reassurance: `deleted` and `lifecycle show`
say versioning is off and exit 1, instead of "Nothing deleted" or "recoverable forever"."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from clouddrive.embedded.launch import ServerInfo
from tests.drivekit import Shared


@pytest.fixture
def unversioned_drive(
    seaweedfs: ServerInfo, make_bucket: Callable[..., str], tmp_path: Path
) -> Path:
    bucket = make_bucket(seaweedfs, versioning=False)
    drive = Shared(seaweedfs.endpoint_url, bucket).drive(tmp_path / "ann", "ann")
    return drive.root


def cli(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "clouddrive", "--root", str(root), *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_deleted_says_versioning_is_off(unversioned_drive: Path) -> None:
    done = cli(unversioned_drive, "deleted")
    assert done.returncode == 1
    assert "Nothing deleted" not in done.stdout
    assert "versioning is not enabled on bucket" in done.stderr
    assert done.stderr.count("\n") == 1


def test_lifecycle_show_says_nothing_is_recoverable(unversioned_drive: Path) -> None:
    done = cli(unversioned_drive, "lifecycle", "show")
    assert done.returncode == 1
    assert "recoverable (and billed) forever" not in done.stdout + done.stderr
    assert "versioning is off" in done.stderr and "cannot be recovered" in done.stderr
    as_json = cli(unversioned_drive, "lifecycle", "show", "--json")
    assert as_json.returncode == 1 and '"versioning": "Off"' in as_json.stdout
