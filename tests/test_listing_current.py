"""A drive with bases reads the current objects, not every version: history costs nothing,
and every remote change still shows (an edit, a delete, the same bytes again)."""

from __future__ import annotations

from typing import Any

from clouddrive.core.models import ActionKind
from clouddrive.drive import Drive
from tests.drivekit import Shared, sync, tree, write


def version_listings(drive: Drive) -> list[str]:
    """The prefixes of every ListObjectVersions call the drive's client makes from now on."""
    prefixes: list[str] = []

    def hook(params: dict[str, Any], **_: Any) -> None:
        prefixes.append(str(params.get("Prefix", "")))

    drive.remote.client.meta.events.register("provide-client-params.s3.ListObjectVersions", hook)
    return prefixes


def test_deep_history_no_op_lists_no_versions(seaweedfs, bucket, tmp_path) -> None:
    shared = Shared(seaweedfs.endpoint_url, bucket)
    a = shared.drive(tmp_path / "a", "ann")
    for n in range(4):  # four versions of every file
        for i in range(5):
            write(a.root, f"d/f{i}.txt", f"version {n} of {i}")
        sync(a)
    listed = version_listings(a)
    report = sync(a)
    assert report.plan.is_empty
    assert listed == []


def test_remote_changes_are_read_key_by_key(seaweedfs, bucket, tmp_path) -> None:
    shared = Shared(seaweedfs.endpoint_url, bucket)
    a = shared.drive(tmp_path / "a", "ann")
    for i in range(5):
        write(a.root, f"f{i}.txt", f"content {i}")
    sync(a)
    client = shared.client()
    client.put_object(Bucket=bucket, Key="team/f0.txt", Body=b"edited by bob")
    client.delete_object(Bucket=bucket, Key="team/f1.txt")
    client.put_object(Bucket=bucket, Key="team/f2.txt", Body=b"content 2")  # the same bytes
    client.put_object(Bucket=bucket, Key="team/new.txt", Body=b"new")
    listed = version_listings(a)
    report = sync(a)
    kinds = {o.action.path: o.action.kind for o in report.done}
    assert kinds == {
        "f0.txt": ActionKind.DOWNLOAD,
        "f1.txt": ActionKind.DELETE_LOCAL,
        "new.txt": ActionKind.DOWNLOAD,
    }
    assert tree(a.root) == shared.latest()
    assert "team/" not in listed and set(listed) == {"team/f0.txt", "team/f1.txt", "team/new.txt"}
    assert a.status().is_empty
