"""Racily clean (git's rule): a same-size edit within one mtime tick of the base is still seen
(issue 9, item 3). The mtime is set back with os.utime, as a file system with 1-2 s
timestamps would leave it."""

from __future__ import annotations

import os
from pathlib import Path

from tests.drivekit import Shared, conflict_copies, sync, tree, write


def edit_in_the_same_tick(path: Path, content: bytes) -> None:
    """Replace the content (same size) and keep the mtime the base recorded."""
    st = path.stat()
    assert len(content) == st.st_size
    path.write_bytes(content)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))


def test_same_tick_edit_is_uploaded(two, shared: Shared) -> None:
    ann, _bob = two
    write(ann.root, "notes.txt", "aaaa")
    sync(ann)
    edit_in_the_same_tick(ann.root / "notes.txt", b"bbbb")
    report = sync(ann)
    assert [a.kind.value for a in report.plan.actions] == ["upload"]
    assert shared.latest() == {"notes.txt": b"bbbb"}
    # Hashed again (still racily clean) and found equal: nothing to do.
    assert ann.status().is_empty


def test_same_tick_edit_then_remote_change_is_a_conflict(two, shared: Shared) -> None:
    ann, bob = two
    write(ann.root, "notes.txt", "aaaa")
    sync(ann)
    sync(bob)
    edit_in_the_same_tick(ann.root / "notes.txt", b"bbbb")
    write(bob.root, "notes.txt", "cccc")
    sync(bob)
    report = sync(ann)
    assert [a.kind.value for a in report.plan.actions] == ["conflict"]
    files = tree(ann.root)
    assert files["notes.txt"] == b"cccc"
    assert list(conflict_copies(files).values()) == [b"bbbb"]
    assert b"bbbb" in shared.all_contents()
