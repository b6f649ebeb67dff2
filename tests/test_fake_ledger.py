"""The in-memory ledger (`tests/fakes/ledger.py`) held to the S3 contract: the assertions of
`tests/test_remote_contract.py` that SeaweedFS and moto pass, run on the fake (those that need
a boto3 client or a real server's bucket checks stay there); then engine and executor
behaviour that the scenario files cannot express, on the fake."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from clouddrive import errors
from clouddrive.drive import Drive
from clouddrive.local.config import DriveConfig
from clouddrive.local.scanner import FsTraits
from clouddrive.sync.executor import Executor
from tests import test_remote_contract as contract
from tests.drivekit import sync, tree, write
from tests.fakes.ledger import FakeBucket, FakeRemote


@pytest.fixture
def remote() -> FakeRemote:
    return FakeRemote(FakeBucket(), "drive")


class TestLedger(contract.TestLedger):
    test_internal_and_placeholder_keys_are_not_files = None  # type: ignore[assignment]
    test_hostile_keys_are_skipped_with_reasons = None  # type: ignore[assignment]

    def test_internal_and_raw_keys(self, remote: FakeRemote) -> None:
        """Run records and console folder markers never list as files; an unsafe key is
        reported with its reason (the contract's test, without a boto3 client)."""
        remote.put_bytes(".clouddrive/runs/r.json", b"{}")
        remote.store.add("drive/folder/", b"")
        remote.store.add("drive/ctl\t.txt", b"x")
        remote.upload("real.txt", b"r", metadata=contract.meta(b"r"), if_match=None)
        listing = remote.list_latest()
        assert set(listing.entries) == {"real.txt"}
        assert [s.reason for s in listing.skipped] == ["control character in name"]


class TestConditionalWrites(contract.TestConditionalWrites):
    def test_conditional_delete_refuses_a_stale_etag(self, remote: FakeRemote) -> None:
        """A delete If-Match a version that is no longer latest is refused (S3's 412)."""
        first = remote.upload("g.txt", b"one", metadata=contract.meta(b"one"), if_match=None)
        remote.upload("g.txt", b"two", metadata=contract.meta(b"two"), if_match=first.etag)
        with pytest.raises(errors.PreconditionFailed):
            remote.delete("g.txt", if_match=first.etag)
        assert [v["IsDeleteMarker"] for v in remote.versions("g.txt")] == [False, False]


class TestReads(contract.TestReads):
    # Another tool's multipart upload needs a real client (boto3's upload_file) and
    # S3's multipart ETags; the fake has neither: it runs on SeaweedFS and moto only.
    test_another_tools_multipart_object_is_compared_by_content = None  # type: ignore[assignment]


def drive_on(bucket: FakeBucket, root: Path, user: str) -> Drive:
    root.mkdir(parents=True)
    cfg = DriveConfig(bucket=bucket.name, prefix="team", user=user, workers=2)
    cfg.save(root)
    return Drive(root, cfg, remote=FakeRemote(bucket, "team"), fs_traits=FsTraits())  # type: ignore[arg-type]


class TestEngineOnTheFake:
    def test_one_purged_key_is_put_back_and_the_rest_syncs(self, tmp_path: Path) -> None:
        """A key purged outside clouddrive (no entry at all) is handled per key: the local
        copy goes up again, visibly (plan.vanished), and the rest of the sync goes on."""
        bucket = FakeBucket()
        a = drive_on(bucket, tmp_path / "a", "ann")
        write(a.root, "k.txt", "keep me")
        sync(a)
        bucket.purge("team/k.txt")
        write(a.root, "other.txt", "new")
        report = a.sync()
        assert report.plan.vanished == ("k.txt",) and not report.failed
        assert bucket.newest("team/k.txt").body == b"keep me"  # type: ignore[union-attr]
        assert bucket.newest("team/other.txt").body == b"new"  # type: ignore[union-attr]

    def test_many_purged_keys_stop_the_run_until_allowed(self, tmp_path: Path) -> None:
        """More than 50 keys, and most of the drive, vanishing at once stops the run; only
        --allow-vanished (not --force) lets it put them all back."""
        bucket = FakeBucket()
        a = drive_on(bucket, tmp_path / "a", "ann")
        for i in range(60):
            write(a.root, f"k{i}.txt", f"keep {i}")
        sync(a)
        for i in range(60):
            bucket.purge(f"team/k{i}.txt")
        with pytest.raises(errors.GuardTripped, match="vanished"):
            a.sync()
        with pytest.raises(errors.GuardTripped, match="vanished"):
            a.sync(force=True)
        assert all(f"team/k{i}.txt" not in bucket.keys for i in range(60))
        a.sync(allow_vanished=True)
        assert bucket.newest("team/k7.txt").body == b"keep 7"  # type: ignore[union-attr]

    def test_every_sync_that_changes_something_writes_a_run_record(self, tmp_path: Path) -> None:
        """One record per changing run, under PREFIX/.clouddrive/runs/, read back by activity."""
        bucket = FakeBucket()
        a = drive_on(bucket, tmp_path / "a", "ann")
        write(a.root, "x.txt", "x")
        sync(a)
        sync(a)  # nothing to do: no record
        runs = [k for k in bucket.keys if k.startswith("team/.clouddrive/runs/")]
        assert len(runs) == 1
        [record] = a.activity()
        assert record.user == "ann" and [(x.op, x.path) for x in record.actions] == [
            ("upload", "x.txt")
        ]

    def test_a_mass_delete_stops_to_ask(self, tmp_path: Path) -> None:
        """Deleting more than the threshold (and half the base) on S3 stops the sync."""
        bucket = FakeBucket()
        a = drive_on(bucket, tmp_path / "a", "ann")
        for i in range(6):
            write(a.root, f"f{i}.txt", str(i))
        sync(a)
        for i in range(6):
            (a.root / f"f{i}.txt").unlink()
        with pytest.raises(errors.GuardTripped, match="deletes 6 files on S3"):
            a.sync(max_delete=5)
        assert all(not bucket.newest(f"team/f{i}.txt").is_marker for i in range(6))  # type: ignore[union-attr]


class TestExecutorOnTheFake:
    def _run(self, drive: Drive, plan_actions: Any) -> list[Any]:
        outcomes: list[Any] = []
        executor = Executor(drive.root, drive.remote, user=drive.user, workers=2)
        executor.run(plan_actions, outcomes.append)
        return outcomes

    def test_a_file_edited_after_planning_is_not_uploaded(self, tmp_path: Path) -> None:
        """The upload re-checks the file against the plan: an edit since is left for the
        next run, and S3 gets nothing."""
        bucket = FakeBucket()
        a = drive_on(bucket, tmp_path / "a", "ann")
        write(a.root, "x.txt", "planned")
        plan = a.status()
        write(a.root, "x.txt", "edited since the plan")
        [outcome] = self._run(a, plan.actions)
        assert outcome.error and "changed while syncing" in outcome.error
        assert "team/x.txt" not in bucket.keys

    @pytest.mark.parametrize("swap", ["symlink", "fifo", "same-size-edit", "grown", "gone"])
    def test_a_file_swapped_after_planning_is_not_uploaded(self, tmp_path: Path, swap: str) -> None:
        """What the upload reads is checked through the descriptor it reads with: a link,
        a FIFO (never waited on), an edit of the same size, a longer file or no file at all
        since the plan is left for the next run, and S3 gets nothing."""
        import os

        bucket = FakeBucket()
        a = drive_on(bucket, tmp_path / "a", "ann")
        target = a.root / "x.txt"
        write(a.root, "x.txt", "planned")
        plan = a.status()
        planned = target.stat()
        target.unlink()
        if swap == "symlink":
            (tmp_path / "elsewhere").write_text("planned")
            target.symlink_to(tmp_path / "elsewhere")
        elif swap == "fifo":
            os.mkfifo(target)
        elif swap == "same-size-edit":
            target.write_text("PLANNED")
            os.utime(target, ns=(planned.st_atime_ns, planned.st_mtime_ns))  # one mtime tick
        elif swap == "grown":
            target.write_text("planned and more")
        [outcome] = self._run(a, plan.actions)
        assert outcome.error and "changed while syncing" in outcome.error, outcome.error
        assert "team/x.txt" not in bucket.keys

    def test_a_download_over_a_file_edited_since_keeps_the_edit_aside(self, tmp_path: Path) -> None:
        """A local edit made between planning and a download is kept as a conflict copy,
        never overwritten."""
        bucket = FakeBucket()
        a, b = drive_on(bucket, tmp_path / "a", "ann"), drive_on(bucket, tmp_path / "b", "bob")
        write(a.root, "y.txt", "one")
        sync(a)
        sync(b)
        write(a.root, "y.txt", "two")
        sync(a)
        plan = b.status()
        write(b.root, "y.txt", "bob's edit, unplanned")
        [outcome] = self._run(b, plan.actions)
        assert outcome.ok
        files = tree(b.root)
        assert files.pop("y.txt") == b"two"
        assert list(files.values()) == [b"bob's edit, unplanned"]
        assert "(conflict bob " in next(iter(files))

    def test_a_lost_race_asks_for_a_replan(self, tmp_path: Path) -> None:
        """A conditional upload that another writer beat (412) is not an error: the outcome
        asks the engine to re-read the key and plan it again; nothing is overwritten."""
        bucket = FakeBucket()
        a = drive_on(bucket, tmp_path / "a", "ann")
        write(a.root, "z.txt", "mine")
        plan = a.status()
        bucket.add("team/z.txt", b"theirs")
        [outcome] = self._run(a, plan.actions)
        assert outcome.replan and not outcome.ok
        assert [i.body for i in bucket.keys["team/z.txt"]] == [b"theirs"]
