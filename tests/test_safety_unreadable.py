"""A folder that cannot be read (the root included) takes its whole subtree out of the plan:
it never reads as "deleted", whatever the drive's size (issue 9, item 2)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from clouddrive.core.models import ActionKind
from clouddrive.local import scanner
from tests.drivekit import Shared, sync, write

DELETES = {ActionKind.DELETE_LOCAL, ActionKind.DELETE_REMOTE}


@pytest.fixture
def unreadable(monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    """A function that makes a folder unlistable: a real chmod when not root; as root (who
    reads everything) a PermissionError injected at the scanner's directory read."""
    changed: list[tuple[Path, int]] = []
    blocked: set[str] = set()
    real = scanner._list_dir

    def list_dir(folder: str) -> list[os.DirEntry[str]]:
        if os.path.realpath(folder) in blocked:
            raise PermissionError(13, "Permission denied", folder)
        return real(folder)

    monkeypatch.setattr(scanner, "_list_dir", list_dir)

    def make(folder: Path) -> None:
        if os.geteuid() == 0:
            blocked.add(os.path.realpath(folder))
        else:
            changed.append((folder, folder.stat().st_mode & 0o777))
            folder.chmod(0o311)  # not listable, files still reachable (as in the issue)

    yield make
    for folder, mode in changed:
        folder.chmod(mode)


@pytest.mark.parametrize("count", [5, 60], ids=["small", "past-the-guard"])
@pytest.mark.parametrize("where", [".", "sub"], ids=["root", "subfolder"])
def test_unreadable_folder_plans_no_delete(shared: Shared, tmp_path, unreadable, count, where):
    ann = shared.drive(tmp_path / "ann", "ann")
    bob = shared.drive(tmp_path / "bob", "bob")
    folder = "" if where == "." else "sub/"
    for i in range(count):
        write(ann.root, f"{folder}f{i:03}.txt", f"file {i}")
    sync(ann)
    sync(bob)
    # Someone else deletes one file in that folder: no delete may come down into it either.
    (bob.root / f"{folder}f000.txt").unlink()
    sync(bob)
    before = shared.latest()

    unreadable(ann.root if where == "." else ann.root / "sub")  # type: ignore[operator]
    report = sync(ann)
    kinds = {a.kind for a in report.plan.actions}
    assert not kinds & DELETES, report.plan.actions
    assert where in {s.path for s in report.plan.skipped}
    assert shared.latest() == before
    assert (ann.root / f"{folder}f000.txt").exists()
    ann.close()
    bob.close()
