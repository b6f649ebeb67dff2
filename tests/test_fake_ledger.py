"""The in-memory ledger (`tests/fakes/ledger.py`) held to the S3 contract: the assertions of
`tests/test_remote_contract.py` that SeaweedFS and moto pass, run on the fake (those that need
a boto3 client or a real server's bucket checks stay there); then engine behaviour that the
scenario files cannot express, on the fake."""

from __future__ import annotations

from pathlib import Path

import pytest

from clouddrive import errors
from clouddrive.drive import Drive
from clouddrive.local.config import DriveConfig
from clouddrive.local.scanner import FsTraits
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
    pass


def drive_on(bucket: FakeBucket, root: Path, user: str) -> Drive:
    root.mkdir(parents=True)
    cfg = DriveConfig(bucket=bucket.name, prefix="team", user=user, workers=2)
    cfg.save(root)
    return Drive(root, cfg, remote=FakeRemote(bucket, "team"), fs_traits=FsTraits())  # type: ignore[arg-type]


class TestEngineOnTheFake:
    def test_purged_history_trips_the_vanished_guard(self, tmp_path: Path) -> None:
        """A key purged outside clouddrive (no entry at all) stops the sync; nothing changes;
        --force uploads the local copy again."""
        bucket = FakeBucket()
        a = drive_on(bucket, tmp_path / "a", "ann")
        write(a.root, "k.txt", "keep me")
        sync(a)
        bucket.purge("team/k.txt")
        with pytest.raises(errors.GuardTripped, match="vanished"):
            a.sync()
        assert tree(a.root) == {"k.txt": b"keep me"} and "team/k.txt" not in bucket.keys
        sync(a, force=True)
        assert bucket.newest("team/k.txt").body == b"keep me"  # type: ignore[union-attr]

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
