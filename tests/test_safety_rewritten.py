"""History rewritten from outside: a base whose version was hard-deleted is never read as an
ordinary remote change (issue 9, item 1). The local copy is kept and put back, visibly."""

from __future__ import annotations

import dataclasses
import time

from clouddrive.core.models import ActionKind, RemoteChange
from clouddrive.core.planner import CLOCK_SKEW_NS
from tests.drivekit import Shared, sync, tree, write


def hard_delete_latest(shared: Shared, path: str) -> None:
    """What an admin with s3:DeleteObjectVersion does: remove the current version for good."""
    latest = shared.versions(path)[0]
    assert latest["IsLatest"]
    shared.client().delete_object(
        Bucket=shared.bucket, Key=f"{shared.prefix}/{path}", VersionId=latest["VersionId"]
    )


def test_older_version_made_current_is_not_downloaded_over_ours(two, shared: Shared) -> None:
    ann, bob = two
    write(ann.root, "f.txt", "first")
    sync(ann)
    write(ann.root, "f.txt", "second")
    sync(ann)
    sync(bob)
    hard_delete_latest(shared, "f.txt")
    assert shared.latest() == {"f.txt": b"first"}

    report = sync(bob)
    [action] = report.plan.actions
    assert (action.kind, action.remote_change) == (ActionKind.UPLOAD, RemoteChange.REWRITTEN)
    assert tree(bob.root) == {"f.txt": b"second"}
    assert shared.latest() == {"f.txt": b"second"}

    # ann held the same lost version: she adopts bob's copy, no second upload.
    before = len(shared.versions("f.txt"))
    report = sync(ann)
    # The same bytes at the key: nothing to do (a current-objects listing sees her base's
    # ETag and size), or a record of bob's version id (a full version listing): no upload.
    assert [a.kind for a in report.plan.actions] in ([], [ActionKind.RECORD])
    assert tree(ann.root) == {"f.txt": b"second"}
    assert len(shared.versions("f.txt")) == before
    assert ann.status().is_empty and bob.status().is_empty


def test_older_delete_marker_made_current_does_not_delete_ours(two, shared: Shared) -> None:
    ann, bob = two
    write(ann.root, "f.txt", "old")
    sync(ann)
    (ann.root / "f.txt").unlink()
    sync(ann)
    write(ann.root, "f.txt", "reborn")
    sync(ann)
    sync(bob)
    hard_delete_latest(shared, "f.txt")
    assert shared.latest() == {}

    report = sync(bob)
    [action] = report.plan.actions
    assert (action.kind, action.remote_change) == (ActionKind.UPLOAD, RemoteChange.REWRITTEN)
    assert tree(bob.root) == {"f.txt": b"reborn"}
    assert shared.latest() == {"f.txt": b"reborn"}
    sync(ann)
    assert tree(ann.root) == {"f.txt": b"reborn"}


def test_a_local_edit_of_the_lost_version_goes_up(two, shared: Shared) -> None:
    ann, bob = two
    write(ann.root, "f.txt", "first")
    sync(ann)
    write(ann.root, "f.txt", "second")
    sync(ann)
    sync(bob)
    hard_delete_latest(shared, "f.txt")
    write(bob.root, "f.txt", "bob's edit")
    report = sync(bob)
    assert [a.kind for a in report.plan.actions] == [ActionKind.UPLOAD]
    assert shared.latest() == {"f.txt": b"bob's edit"}
    assert tree(bob.root) == {"f.txt": b"bob's edit"}


def test_a_newer_version_whose_old_base_expired_is_downloaded(two, shared: Shared) -> None:
    """Noncurrent-version lifecycle removes bob's old base version long after ann wrote a
    newer one: that is an ordinary remote change, not a rollback to undo."""
    ann, bob = two
    write(ann.root, "f.txt", "first")
    sync(ann)
    sync(bob)
    # bob recorded his base long ago (as an offline drive would have).
    base = bob.state.load()["f.txt"]
    bob.state.put(dataclasses.replace(base, recorded_ns=time.time_ns() - 2 * CLOCK_SKEW_NS))
    write(ann.root, "f.txt", "second")
    sync(ann)
    old = [v for v in shared.versions("f.txt") if not v["IsLatest"]]
    shared.client().delete_object(
        Bucket=shared.bucket, Key=f"{shared.prefix}/f.txt", VersionId=old[0]["VersionId"]
    )
    report = sync(bob)
    [action] = report.plan.actions
    assert (action.kind, action.remote_change) == (ActionKind.DOWNLOAD, RemoteChange.MODIFIED)
    assert tree(bob.root) == {"f.txt": b"second"}
    assert shared.latest() == {"f.txt": b"second"}
