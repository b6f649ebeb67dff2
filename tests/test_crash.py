"""A run killed at any step converges when run again: no conflict, no duplicate, no half file."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.drivekit import Shared, conflict_copies, sync, tree, write
from tests.runkit import cli

KILLED = -signal.SIGKILL


@pytest.fixture
def pair(shared: Shared, tmp_path: Path):  # type: ignore[no-untyped-def]
    a = shared.drive(tmp_path / "ann", "ann")
    b = shared.drive(tmp_path / "bob", "bob")
    write(a.root, "keep.txt", "unchanged")
    write(a.root, "edit.txt", "old")
    write(a.root, "drop.txt", "to be deleted")
    sync(a)
    sync(b)
    a.close()
    b.close()
    return a, b


def assert_converged(shared: Shared, *drives) -> dict[str, bytes]:  # type: ignore[no-untyped-def]
    """Every drive syncs twice more; all trees equal the remote's latest state."""
    for _ in range(2):
        for d in drives:
            result = cli(d.root, "sync", "--yes", "-q")
            assert result.returncode == 0, result.stderr
    trees = [tree(d.root) for d in drives]
    assert all(t == trees[0] for t in trees)
    assert trees[0] == shared.latest()
    for d in drives:
        assert not list((d.root / ".clouddrive" / "tmp").glob("*.part"))
    return trees[0]


def change_a(a) -> None:  # type: ignore[no-untyped-def]
    write(a.root, "edit.txt", "new content")
    write(a.root, "fresh/new.txt", "brand new")
    (a.root / "drop.txt").unlink()


class TestCrashPoints:
    @pytest.mark.parametrize("point", ["after-upload", "after-delete-remote"])
    def test_uploader_killed_between_write_and_record(self, pair, shared, point) -> None:
        """Killed after the S3 write, before its base: the rerun adopts, never re-uploads."""
        a, b = pair
        change_a(a)
        assert cli(a.root, "sync", "--yes", "-q", crash=point).returncode == KILLED
        result = cli(a.root, "sync", "--yes", "-q")
        assert result.returncode == 0, result.stderr
        files = assert_converged(shared, a, b)
        assert files == {
            "keep.txt": b"unchanged",
            "edit.txt": b"new content",
            "fresh/new.txt": b"brand new",
        }
        assert len(shared.versions("edit.txt")) == 2  # old + new: no duplicate upload
        assert len(shared.versions("fresh/new.txt")) == 1
        assert [v["IsDeleteMarker"] for v in shared.versions("drop.txt")] == [True, False]

    @pytest.mark.parametrize(
        "point", ["after-download-temp", "after-download-replace", "after-delete-local"]
    )
    def test_downloader_killed_mid_action(self, pair, shared, point) -> None:
        """Killed between temp file, rename and record: every file is old or new, then new."""
        a, b = pair
        change_a(a)
        assert cli(a.root, "sync", "--yes", "-q").returncode == 0
        assert cli(b.root, "sync", "--yes", "-q", crash=point).returncode == KILLED
        mid = tree(b.root)
        assert mid.get("edit.txt") in (b"old", b"new content")
        assert mid.get("fresh/new.txt") in (None, b"brand new")
        assert mid.get("drop.txt") in (None, b"to be deleted")
        files = assert_converged(shared, b, a)
        assert not conflict_copies(files)
        assert files["edit.txt"] == b"new content"
        assert len(shared.versions("edit.txt")) == 2

    def test_killed_after_conflict_rename(self, pair, shared) -> None:
        """Killed after moving the local side aside: both contents survive, one copy only."""
        a, b = pair
        write(a.root, "edit.txt", "ann's version")
        write(b.root, "edit.txt", "bob's version")
        assert cli(a.root, "sync", "--yes", "-q").returncode == 0
        assert (
            cli(b.root, "sync", "--yes", "-q", crash="after-conflict-rename").returncode == KILLED
        )
        files = assert_converged(shared, b, a)
        assert files["edit.txt"] == b"ann's version"
        assert list(conflict_copies(files).values()) == [b"bob's version"]


class TestTransferInternals:
    def test_killed_mid_multipart_upload(self, shared, tmp_path) -> None:
        """Killed between parts: no half object becomes a version; the rerun uploads it once."""
        a = shared.drive(tmp_path / "ann", "ann", multipart_threshold_mib=5, part_size_mib=5)
        big = os.urandom(12 * 1024 * 1024)
        write(a.root, "big.bin", big)
        a.close()
        assert cli(a.root, "sync", "--yes", "-q", crash="mid-multipart").returncode == KILLED
        assert shared.latest() == {}
        assert cli(a.root, "sync", "--yes", "-q").returncode == 0
        assert shared.latest() == {"big.bin": big}
        assert len(shared.versions("big.bin")) == 1

    def test_killed_mid_listing(self, pair, shared) -> None:
        """Killed while reading the listing: nothing was changed, the rerun converges."""
        a, b = pair
        for drive in (a, b):
            cfg = drive.config.__class__(**{**drive.config.__dict__, "list_page_size": 1})
            cfg.save(drive.root)
        change_a(a)
        assert cli(a.root, "sync", "--yes", "-q", crash="mid-listing").returncode == KILLED
        assert shared.latest() == {
            "keep.txt": b"unchanged",
            "edit.txt": b"old",
            "drop.txt": b"to be deleted",
        }
        files = assert_converged(shared, a, b)
        assert files["edit.txt"] == b"new content" and "drop.txt" not in files


class TestRandomKills:
    def test_kills_at_random_moments_converge(self, shared, tmp_path) -> None:
        """A big run killed again and again at random times still converges exactly."""
        a = shared.drive(tmp_path / "ann", "ann")
        b = shared.drive(tmp_path / "bob", "bob")
        rng = random.Random(7)
        expected = {}
        for i in range(120):
            content = f"file {i} ".encode() * rng.randint(1, 4000)
            write(a.root, f"dir{i % 7}/f{i}.bin", content)
            expected[f"dir{i % 7}/f{i}.bin"] = content
        for drive in (a, b):
            for _ in range(4):
                proc = subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "clouddrive",
                        "--root",
                        str(drive.root),
                        "sync",
                        "--yes",
                        "-q",
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
                time.sleep(rng.uniform(0.4, 1.6))
                proc.kill()
                proc.wait()
                for path, content in tree(drive.root).items():
                    assert content == expected[path], f"{path} is half-written"
        files = assert_converged(shared, a, b)
        assert files == expected
        for path in expected:
            assert len(shared.versions(path)) == 1, path
