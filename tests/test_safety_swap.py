"""A file replaced by a folder of the same name (or the reverse) converges in one run on
every drive, and a local edit of the old name is kept as a conflict copy (issue 9, item 4)."""

from __future__ import annotations

import shutil

from clouddrive.core.models import ActionKind
from clouddrive.sync.report import SyncReport
from tests.drivekit import Shared, conflict_copies, sync, tree, write

K = ActionKind


def kinds(report: SyncReport) -> list[tuple[str, ActionKind]]:
    return sorted((a.path, a.kind) for a in report.plan.visible())


def test_file_becomes_folder(two, shared: Shared) -> None:
    ann, bob = two
    write(ann.root, "a", "file a")
    write(ann.root, "x.txt", "x")
    sync(ann)
    sync(bob)
    (ann.root / "a").unlink()
    write(ann.root, "a/b", "inside a")
    report = sync(ann)
    assert kinds(report) == [("a", K.DELETE_REMOTE), ("a/b", K.UPLOAD)]
    assert shared.latest() == {"a/b": b"inside a", "x.txt": b"x"}

    report = sync(bob)
    assert kinds(report) == [("a", K.DELETE_LOCAL), ("a/b", K.DOWNLOAD)]
    assert not report.plan.skipped
    assert tree(bob.root) == {"a/b": b"inside a", "x.txt": b"x"}
    assert ann.status().is_empty and bob.status().is_empty


def test_file_becomes_folder_while_edited_elsewhere(two, shared: Shared) -> None:
    ann, bob = two
    write(ann.root, "a", "file a")
    sync(ann)
    sync(bob)
    (ann.root / "a").unlink()
    write(ann.root, "a/b", "inside a")
    sync(ann)
    write(bob.root, "a", "bob's edit of a")

    report = sync(bob)
    [(copy_path, kind)] = [(a.conflict_path, a.kind) for a in report.plan.actions if a.path == "a"]
    assert kind is K.CONFLICT and copy_path is not None
    assert copy_path.startswith("a (conflict bob ")
    files = tree(bob.root)
    assert files == {"a/b": b"inside a", copy_path: b"bob's edit of a"}
    sync(ann)
    assert tree(ann.root) == files
    assert shared.latest() == files
    assert ann.status().is_empty and bob.status().is_empty


def folder_becomes_file_on_s3(shared: Shared) -> None:
    """Another user's drive replaces folder `a/` by a file `a` (done with the S3 client, as
    a tool other than clouddrive would)."""
    client = shared.client()
    for name in ("a/b", "a/c"):
        client.delete_object(Bucket=shared.bucket, Key=f"{shared.prefix}/{name}")
    client.put_object(Bucket=shared.bucket, Key=f"{shared.prefix}/a", Body=b"now a file")


def test_folder_becomes_file(two, shared: Shared) -> None:
    ann, bob = two
    write(ann.root, "a/b", "b")
    write(ann.root, "a/c", "c")
    sync(ann)
    sync(bob)
    folder_becomes_file_on_s3(shared)
    for drive in (ann, bob):
        report = sync(drive)
        assert kinds(report) == [
            ("a", K.DOWNLOAD),
            ("a/b", K.DELETE_LOCAL),
            ("a/c", K.DELETE_LOCAL),
        ]
        assert tree(drive.root) == {"a": b"now a file"}
    assert shared.latest() == {"a": b"now a file"}
    assert ann.status().is_empty and bob.status().is_empty


def test_folder_becomes_file_while_edited_elsewhere(two, shared: Shared) -> None:
    ann, bob = two
    write(ann.root, "a/b", "b")
    write(ann.root, "a/c", "c")
    sync(ann)
    sync(bob)
    folder_becomes_file_on_s3(shared)
    write(bob.root, "a/b", "bob's edit of b")

    sync(bob)
    files = tree(bob.root)
    copies = conflict_copies(files)
    [(copy_path, content)] = copies.items()
    assert copy_path.startswith("a (conflict bob ") and copy_path.endswith("/b")
    assert content == b"bob's edit of b"
    assert files == {"a": b"now a file", copy_path: b"bob's edit of b"}
    sync(ann)
    assert tree(ann.root) == files
    assert shared.latest() == files
    assert ann.status().is_empty and bob.status().is_empty


def test_folder_becomes_file_from_a_drive_on_seaweedfs(two, shared: Shared) -> None:
    """SeaweedFS answers 412 to `If-None-Match: *` on a key that is also a folder of other
    keys (even deleted ones); the ledger tells that from a lost race (no current object at
    the key, keys below it) and puts the file up."""
    ann, _bob = two
    write(ann.root, "a/b", "b")
    sync(ann)
    shutil.rmtree(ann.root / "a")
    write(ann.root, "a", "now a file")
    report = sync(ann)
    assert kinds(report) == [("a", K.UPLOAD), ("a/b", K.DELETE_REMOTE)]
    assert shared.latest() == {"a": b"now a file"}


def test_swap_here_loses_to_an_edit_there_file_for_folder(two, shared: Shared) -> None:
    """Bob edits `e/s.txt` while ann replaces the folder `e/` by a file `e`: the edit beats
    ann's delete, so `e/s.txt` comes down to ann and her file `e` is kept as a conflict copy
    (both drives converge; before, both names were skipped as a collision forever)."""
    ann, bob = two
    write(ann.root, "e/s.txt", "s")
    sync(ann)
    sync(bob)
    write(bob.root, "e/s.txt", "bob's edit of s")
    sync(bob)
    shutil.rmtree(ann.root / "e")
    write(ann.root, "e", "ann's file e")

    report = sync(ann)
    assert not report.plan.skipped
    files = tree(ann.root)
    [copy_path] = conflict_copies(files)
    assert copy_path.startswith("e (conflict ann ")
    assert files == {"e/s.txt": b"bob's edit of s", copy_path: b"ann's file e"}
    sync(bob)
    assert tree(bob.root) == files
    assert shared.latest() == files
    assert ann.status().is_empty and bob.status().is_empty


def test_swap_here_loses_to_an_edit_there_folder_for_file(two, shared: Shared) -> None:
    """Bob edits the file `e` while ann replaces it by a folder `e/` (with `e/s.txt`): bob's
    `e` comes down to ann and her `e/s.txt` is kept under a renamed folder."""
    ann, bob = two
    write(ann.root, "e", "file e")
    sync(ann)
    sync(bob)
    write(bob.root, "e", "bob's edit of e")
    sync(bob)
    (ann.root / "e").unlink()
    write(ann.root, "e/s.txt", "ann's s")

    report = sync(ann)
    assert not report.plan.skipped
    files = tree(ann.root)
    [copy_path] = conflict_copies(files)
    assert copy_path.startswith("e (conflict ann ") and copy_path.endswith("/s.txt")
    assert files == {"e": b"bob's edit of e", copy_path: b"ann's s"}
    sync(bob)
    assert tree(bob.root) == files
    assert shared.latest() == files
    assert ann.status().is_empty and bob.status().is_empty
