"""The drive lock: one sync per drive, the refusal names the holder, a dead holder frees it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from clouddrive.errors import LockHeld
from clouddrive.local.lock import DriveLock

_HOLD = (
    "import sys, time; from pathlib import Path; from clouddrive.local.lock import DriveLock;"
    "lock = DriveLock(Path(sys.argv[1])); lock.acquire(); print('held', flush=True);"
    "time.sleep(120)"
)


def test_a_second_holder_in_this_process_is_refused_with_our_pid(tmp_path: Path) -> None:
    path = tmp_path / ".clouddrive" / "lock"
    with DriveLock(path):
        with pytest.raises(LockHeld) as caught:
            DriveLock(path).acquire()
        assert str(caught.value) == (
            f"another clouddrive sync of this drive is running (pid {os.getpid()}); "
            "wait for it to finish"
        )
    with DriveLock(path):  # released: free again
        pass
    assert not path.with_name("lock.pid").exists()


def test_another_process_holding_it_is_named_and_its_death_frees_the_lock(
    tmp_path: Path,
) -> None:
    path = tmp_path / "lock"
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLD, str(path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(LockHeld, match=rf"\(pid {holder.pid}\)"):
            DriveLock(path).acquire()
    finally:
        holder.kill()  # a crash: no release, no clean-up
        holder.wait()
    with DriveLock(path) as lock:  # the OS dropped the dead holder's lock
        assert lock.pid_path.read_text() == str(os.getpid())


def test_holder_unknown_when_the_pid_note_is_missing(tmp_path: Path) -> None:
    path = tmp_path / "lock"
    with DriveLock(path) as lock:
        lock.pid_path.unlink()
        with pytest.raises(LockHeld, match=r"\(pid unknown\)"):
            DriveLock(path).acquire()
