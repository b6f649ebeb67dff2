"""A conditional delete whose answer is lost: the retry meets the drive's own delete marker
(412), and the run still names who deleted the file (no anonymous delete)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from clouddrive.history.views import UNKNOWN
from clouddrive.testing.faultproxy import Fault, FaultProxy, Rule
from tests.drivekit import Shared, sync, write


@pytest.fixture
def proxy(seaweedfs) -> Iterator[FaultProxy]:  # type: ignore[no-untyped-def]
    with FaultProxy(seaweedfs.endpoint_url) as p:
        yield p


def test_lost_delete_answer_names_the_deleter(seaweedfs, bucket, proxy, tmp_path) -> None:  # type: ignore[no-untyped-def]
    direct = Shared(seaweedfs.endpoint_url, bucket)
    faulty = Shared(proxy.endpoint_url, direct.bucket, direct.prefix)
    ann = faulty.drive(tmp_path / "a", "ann")
    write(ann.root, "gone.txt", "x")
    sync(ann)
    (ann.root / "gone.txt").unlink()
    proxy.add(Rule(Fault.RESET_AFTER_FORWARD, operation="DeleteObject", times=1))
    sync(ann)
    assert proxy.fired(Fault.RESET_AFTER_FORWARD) == 1
    assert ann.status().is_empty
    [deleted] = ann.deleted()
    assert deleted.path == "gone.txt"
    assert deleted.deleted_by == "ann"
    assert deleted.deleted_by != UNKNOWN


def test_a_lost_delete_reported_failed_still_names_the_deleter(  # type: ignore[no-untyped-def]
    seaweedfs, bucket, proxy, tmp_path
) -> None:
    """The answer is lost, the retry meets the marker (412), and the listing that would
    recognise it fails too: the run finishes with the delete recorded as failed, yet S3
    holds the marker. Its deleter is still the run that planned it, and `undo` reverts it."""
    direct = Shared(seaweedfs.endpoint_url, bucket)
    faulty = Shared(proxy.endpoint_url, direct.bucket, direct.prefix)
    ann = faulty.drive(tmp_path / "a", "ann")
    bob = direct.drive(tmp_path / "b", "bob")
    write(ann.root, "gone.txt", "x")
    write(ann.root, "kept.txt", "y")
    sync(ann)
    (ann.root / "gone.txt").unlink()
    proxy.add(Rule(Fault.RESET_AFTER_FORWARD, operation="DeleteObject", times=1))
    # only the per-key listing names the key in its query; the drive's listing does not
    proxy.add(Rule(Fault.INTERNAL, operation="ListObjectVersions", path=r"gone\.txt", times=None))
    report = ann.sync()
    assert proxy.fired(Fault.RESET_AFTER_FORWARD) == 1
    assert proxy.fired(Fault.INTERNAL) >= 1
    assert [o.action.path for o in report.failed] == ["gone.txt"]
    assert direct.latest().get("gone.txt") is None  # S3 applied it

    [deleted] = bob.deleted()
    assert (deleted.path, deleted.deleted_by) == ("gone.txt", "ann")
    undone = bob.undo(report.run_id)
    assert not undone.failed
    assert direct.latest().get("gone.txt") == b"x"
