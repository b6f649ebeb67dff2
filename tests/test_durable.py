"""Downloads are made durable before they land: small files share flushes (group commit).

The rule under test: `make_durable` returns only after a flush that *started after it was
called* has finished, since a flush already running may have begun before the caller's
bytes were written. Fake flushes record when they ran; real ones run on Linux.
"""

from __future__ import annotations

import errno
import os
import sys
import threading
import time
from pathlib import Path

import pytest

from clouddrive.local import durable
from clouddrive.local.durable import GROUP_LIMIT, Durable


class Flushes:
    """A fake syncfs: each call takes a little while and is recorded as (start, end)."""

    def __init__(self, took: float = 0.01) -> None:
        self.took = took
        self.runs: list[tuple[float, float]] = []
        self.running = 0
        self.overlapped = False
        self.fail_next = False
        self._lock = threading.Lock()

    def __call__(self, fd: int) -> None:
        os.fstat(fd)  # a real, open descriptor of the folder
        with self._lock:
            self.running += 1
            self.overlapped |= self.running > 1
            fail, self.fail_next = self.fail_next, False
        start = time.monotonic()
        time.sleep(self.took)
        with self._lock:
            self.running -= 1
            self.runs.append((start, time.monotonic()))
        if fail:
            raise OSError(errno.EIO, os.strerror(errno.EIO))


def small_file(folder: Path, name: str) -> Path:
    path = folder / name
    path.write_bytes(b"x" * 100)
    return path


def test_every_caller_waits_for_a_flush_that_started_after_it(tmp_path: Path) -> None:
    flushes = Flushes()
    files = Durable(tmp_path, syncfs=flushes)
    calls: list[tuple[float, float]] = []
    lock = threading.Lock()

    def worker(n: int) -> None:
        for i in range(10):
            path = small_file(tmp_path, f"{n}-{i}")
            called = time.monotonic()
            files.make_durable(path, 100)
            with lock:
                calls.append((called, time.monotonic()))

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(calls) == 160
    assert not flushes.overlapped  # one flush at a time
    for called, returned in calls:
        assert any(called <= start and end <= returned for start, end in flushes.runs)
    assert len(flushes.runs) < len(calls) / 2  # callers shared flushes


def test_a_failed_flush_fails_its_callers_and_the_next_one_is_tried_again(
    tmp_path: Path,
) -> None:
    flushes = Flushes(took=0)
    files = Durable(tmp_path, syncfs=flushes)
    flushes.fail_next = True
    with pytest.raises(OSError) as caught:
        files.make_durable(small_file(tmp_path, "a"), 100)
    assert caught.value.errno == errno.EIO
    files.make_durable(small_file(tmp_path, "b"), 100)
    assert len(flushes.runs) == 2


def test_large_files_and_systems_without_syncfs_get_an_fsync_each(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    synced: list[int] = []
    real = os.fsync

    def fsync(fd: int) -> None:
        synced.append(os.fstat(fd).st_size)
        real(fd)

    monkeypatch.setattr(durable.os, "fsync", fsync)
    flushes = Flushes(took=0)
    big = tmp_path / "big"
    big.write_bytes(b"x" * (GROUP_LIMIT + 1))
    Durable(tmp_path, syncfs=flushes).make_durable(big, GROUP_LIMIT + 1)
    assert synced == [GROUP_LIMIT + 1] and flushes.runs == []
    Durable(tmp_path, syncfs=None).make_durable(small_file(tmp_path, "a"), 100)
    assert synced == [GROUP_LIMIT + 1, 100]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="syncfs is Linux's")
def test_linux_flushes_with_syncfs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The real thing: libc's syncfs is found and used, no fsync per file."""
    monkeypatch.setattr(durable.os, "fsync", lambda fd: pytest.fail("fsync per file"))
    files = Durable(tmp_path)
    for i in range(3):
        files.make_durable(small_file(tmp_path, str(i)), 100)
    assert callable(files._syncfs)


def test_a_slow_shared_flush_ends_sharing_for_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A syncfs slowed by other programs' dirty data (longer than SLOW_FLUSH) is not
    repeated: each file after it waits for its own fsync only."""
    monkeypatch.setattr(durable, "SLOW_FLUSH", 0.01)
    synced: list[int] = []
    real = os.fsync
    monkeypatch.setattr(durable.os, "fsync", lambda fd: (synced.append(fd), real(fd)))
    flushes = Flushes(took=0.02)
    files = Durable(tmp_path, syncfs=flushes)
    files.make_durable(small_file(tmp_path, "a"), 100)
    assert len(flushes.runs) == 1 and synced == []
    files.make_durable(small_file(tmp_path, "b"), 100)
    files.make_durable(small_file(tmp_path, "c"), 100)
    assert len(flushes.runs) == 1 and len(synced) == 2
