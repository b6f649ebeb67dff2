"""The app's screens on the fixed fake drive (tests/tui/fakes.py), by behaviour rather than
by look: what reaches the drive API, and what the journal says."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from clouddrive import errors
from clouddrive.tui.screens.activity import ActivityScreen
from clouddrive.tui.screens.deleted import DeletedScreen
from clouddrive.tui.screens.find_file import FindFileScreen
from clouddrive.tui.screens.history import HistoryScreen
from clouddrive.tui.screens.sync import FIND_LIMIT, SyncScreen
from tests.fakes.ledger import FakeBucket
from tests.test_fake_ledger import drive_on
from tests.tui.fakes import fake_app
from tests.tui.pilotkit import SIZE, journal, settle, wait_for


def test_find_a_file_lists_what_the_drive_api_finds() -> None:
    """f asks the drive (not the disk) for its files, and offers them with the plan's paths."""
    app, drive = fake_app(files=["notes/a.md", "zeta.txt"])
    seen: dict[str, Any] = {}

    async def main() -> None:
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            await pilot.press("f")
            await wait_for(pilot, lambda: isinstance(app.screen, FindFileScreen))
            screen = app.screen
            assert isinstance(screen, FindFileScreen)
            await wait_for(pilot, lambda: screen.paths is not None, what="files listed")
            seen["paths"] = screen.paths

    asyncio.run(main())
    assert ("local_files", FIND_LIMIT) in drive.calls
    assert {"notes/a.md", "zeta.txt", "docs/report.txt"} <= set(seen["paths"])
    assert seen["paths"] == sorted(seen["paths"])


def test_drive_local_files_uses_the_scanner(tmp_path: Path) -> None:
    """The real `Drive.local_files`: sorted, limited, without ignored or internal files."""
    drive = drive_on(FakeBucket(), tmp_path / "d", "ann")
    for name in ("b.txt", "a/c.txt", "skip.log", ".clouddrive/x"):
        (drive.root / name).parent.mkdir(parents=True, exist_ok=True)
        (drive.root / name).write_text(name)
    (drive.root / ".clouddriveignore").write_text("*.log\n")
    assert drive.local_files() == [".clouddriveignore", "a/c.txt", "b.txt"]
    assert drive.local_files(2) == [".clouddriveignore", "a/c.txt"]


@pytest.mark.parametrize(
    ("key", "screen", "method", "doing"),
    [
        ("", SyncScreen, "status", "checking for changes"),
        ("a", ActivityScreen, "activity", "reading the activity"),
        ("d", DeletedScreen, "deleted", "reading recently deleted"),
        ("h", HistoryScreen, "history", "reading the history of docs/report.txt"),
    ],
)
def test_a_failure_is_noted_once(key: str, screen: type[Any], method: str, doing: str) -> None:
    """A failed read is one line in the journal (each class of a screen handles its share of
    `Failed`; none passes it on to a base that Textual calls anyway), and the table stops
    showing that it is loading."""
    app, drive = fake_app()

    def fail(*args: Any, **kwargs: Any) -> Any:
        raise errors.RemoteError("S3 is down")

    seen: dict[str, Any] = {}

    async def main() -> None:
        async with app.run_test(size=SIZE) as pilot:
            if key:
                await settle(pilot)
                setattr(drive, method, fail)
                await pilot.press(key)
                await wait_for(pilot, lambda: isinstance(app.screen, screen))
            await settle(pilot)
            seen["journal"] = journal(app)
            if key:
                seen["loading"] = app.screen.table.loading  # type: ignore[attr-defined]

    if not key:
        setattr(drive, method, fail)
    asyncio.run(main())
    assert seen["journal"].count(f"{doing} failed: S3 is down") == 1
    assert not seen.get("loading")
