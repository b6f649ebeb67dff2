"""Logs and messages (issue 9 item 16, the local part; item 9): one clear line for a full disk
and a damaged state database, a log for a run that only skipped files, names escaped in the
log and on the terminal, and a pull that applies the guards and says what it kept aside."""

from __future__ import annotations

import errno
import logging
import os
import shlex
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from clouddrive import errors
from clouddrive.cli.main import main
from clouddrive.drive import Drive
from clouddrive.ledger.pending import PendingDownload
from clouddrive.sync.guards import DEFAULT_MAX_DELETE
from tests.drivekit import Shared, sync, tree, write


def run_cli(capsys: pytest.CaptureFixture[str], root: Path, *args: str) -> tuple[int, str, str]:
    code = main(["--root", str(root), *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def one_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


def logs_of(root: Path) -> list[Path]:
    return sorted((root / ".clouddrive" / "logs").glob("*.log"))


class TestDiskFull:
    def test_a_full_disk_under_the_log_is_one_line(
        self, shared: Shared, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch
    ) -> None:
        drive = shared.drive(tmp_path / "ann", "ann")
        write(drive.root, "a.txt", "a")
        drive.close()

        def full(self: logging.FileHandler) -> Any:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), self.baseFilename)

        monkeypatch.setattr(logging.FileHandler, "_open", full)
        code, _, err = run_cli(capsys, drive.root, "sync", "--yes")
        line = one_line(err)
        assert code == errors.EXIT_FAILURE
        assert line.startswith("clouddrive: the disk is full (writing "), line
        assert ".clouddrive/logs/" in line and "free some space" in line

    def test_a_full_disk_under_the_state_database_is_one_line(
        self, shared: Shared, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch
    ) -> None:
        drive = shared.drive(tmp_path / "ann", "ann")
        write(drive.root, "a.txt", "a")
        sync(drive)
        drive.close()
        for i in range(200):
            write(drive.root, f"more/{i}.txt", "x" * 100 + f"{i}")
        connect = sqlite3.connect

        def no_room_to_grow(*args: Any, **kwargs: Any) -> sqlite3.Connection:
            """SQLite's own 'disk is full' (SQLITE_FULL): the file may not grow past now."""
            db = connect(*args, **kwargs)
            pages = db.execute("PRAGMA page_count").fetchone()[0]
            db.execute(f"PRAGMA max_page_count = {max(pages, 2)}")
            return db

        monkeypatch.setattr(sqlite3, "connect", no_room_to_grow)
        code, _, err = run_cli(capsys, drive.root, "sync", "--yes", "-q")
        line = one_line(err)
        assert code == errors.EXIT_FAILURE
        assert "state.db is full" in line or "holding" in line, line
        assert "free some space" in line and "OperationalError" not in line


class TestDamagedState:
    def test_names_a_reset_that_works_when_pasted(
        self, shared: Shared, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        drive = shared.drive(tmp_path / "my drive", "ann")
        write(drive.root, "a.txt", "a")
        sync(drive)
        drive.close()
        (drive.root / ".clouddrive" / "state.db").write_bytes(b"this is not SQLite" * 500)
        for name in ("state.db-wal", "state.db-shm"):
            (drive.root / ".clouddrive" / name).unlink(missing_ok=True)

        code, _, err = run_cli(capsys, drive.root, "status")
        line = one_line(err)
        assert code == errors.EXIT_FAILURE
        assert "damaged" in line and "DatabaseError" not in line, line
        command = shlex.split(line.split(" with: ", 1)[1])
        assert command[0] == "clouddrive" and "reset" in command
        pasted = subprocess.run(
            [sys.executable, "-m", "clouddrive", *command[1:]],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            timeout=120,
        )
        assert pasted.returncode == 0, pasted.stderr
        code, _, err = run_cli(capsys, drive.root, "status")
        assert code == 0, err
        again = Drive.open(drive.root)
        sync(again)  # adopts what is already equal
        assert set(again.state.load()) == {"a.txt"}
        again.close()


class TestRunLogs:
    def test_a_run_that_only_skipped_files_writes_a_log(
        self, shared: Shared, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        drive = shared.drive(tmp_path / "ann", "ann")
        write(drive.root, "a.txt", "a")
        sync(drive)
        drive.close()
        before = set(logs_of(drive.root))
        (drive.root / "link").symlink_to(drive.root / "a.txt")
        bad = os.fsencode(drive.root) + b"/bad\xff.txt"
        with open(bad, "wb") as fh:
            fh.write(b"not UTF-8")

        code, out, err = run_cli(capsys, drive.root, "sync", "--yes")
        assert code == errors.EXIT_PARTIAL
        assert "Traceback" not in err and "Logging error" not in err
        [log] = set(logs_of(drive.root)) - before
        text = log.read_text(encoding="utf-8")
        assert "skipped link: symbolic link" in text
        assert "skipped bad\\udcff.txt: name is not valid UTF-8" in text
        assert "log: " in out

    def test_names_are_escaped_in_the_log_and_on_the_terminal(
        self, shared: Shared, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        drive = shared.drive(tmp_path / "ann", "ann")
        write(drive.root, "evil\nFAKE done.txt", "x")
        write(drive.root, "[red]tag.txt", "y")
        drive.close()

        code, out, err = run_cli(capsys, drive.root, "sync", "--yes")
        assert code == errors.EXIT_PARTIAL
        for text in (out, err):
            assert not any(line.startswith("FAKE") for line in text.splitlines()), text
        assert "evil\\nFAKE done.txt" in out  # the skipped line of the plan, escaped
        assert "[red]tag.txt" in out  # plan table and outcome: a name is never markup
        [log] = logs_of(drive.root)
        lines = log.read_text(encoding="utf-8").splitlines()
        assert not any(line.startswith("FAKE") for line in lines)
        assert any("evil\\nFAKE done.txt" in line for line in lines)

    def test_the_plan_table_escapes_names(
        self, shared: Shared, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A key with a control character that another tool wrote, as the plan shows it."""
        drive = shared.drive(tmp_path / "ann", "ann")
        write(drive.root, "tab\there.txt", "x")  # skipped as unsafe, shown escaped
        drive.close()
        code, out, _ = run_cli(capsys, drive.root, "status")
        assert code == 0
        assert "tab\\there.txt" in out and "\t" not in out

    def test_time_travel_listings_escape_names(
        self, shared: Shared, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A deleted key whose name reads as rich markup is shown as it is (keys with control
        characters never reach a listing: they are skipped as unsafe)."""
        drive = shared.drive(tmp_path / "ann", "ann")
        drive.close()
        client = shared.client()
        key = f"{shared.prefix}/[red]line.txt"
        client.put_object(Bucket=shared.bucket, Key=key, Body=b"x")
        client.delete_object(Bucket=shared.bucket, Key=key)
        code, out, err = run_cli(capsys, drive.root, "deleted")
        assert code == 0, err
        assert "[red]line.txt" in out, out


class TestPullGuards:
    def test_pull_applies_the_mass_delete_guard(self, two: tuple[Drive, Drive]) -> None:
        a, b = two
        count = DEFAULT_MAX_DELETE + 10
        for i in range(count):
            write(a.root, f"docs/{i}.txt", f"{i}")
        sync(a)
        sync(b)
        for i in range(count):
            (b.root / f"docs/{i}.txt").unlink()
        sync(b, force=True)

        with pytest.raises(errors.GuardTripped):
            a.pull(["docs"])
        assert len(tree(a.root)) == count  # nothing was deleted here

    def test_a_local_edit_racing_a_download_is_named_in_outcome_and_log(
        self, two: tuple[Drive, Drive], monkeypatch
    ) -> None:
        a, b = two
        write(a.root, "f.txt", "v1")
        sync(a)
        sync(b)
        write(b.root, "f.txt", "v2 from bob")
        sync(b)

        fetched = PendingDownload.finish  # how every small download ends, sent ahead or not

        def racing(self: PendingDownload) -> Any:
            result = fetched(self)
            write(a.root, "f.txt", "ann's edit, made during the download")
            return result

        monkeypatch.setattr(PendingDownload, "finish", racing)
        report = a.pull(["f.txt"])
        [outcome] = report.done
        assert outcome.note is not None and "kept as" in outcome.note
        copy = outcome.note.split("kept as '")[1].rstrip("'")
        files = tree(a.root)
        assert files["f.txt"] == b"v2 from bob"
        assert files[copy] == b"ann's edit, made during the download"
        assert report.log_path is not None
        assert copy in report.log_path.read_text(encoding="utf-8")


def test_lines_held_for_a_group_are_dropped_quietly_on_a_full_disk(tmp_path: Path) -> None:
    """The run's log flushes a group of outcomes' lines at once; a disk that fills then
    drops them, as a single line is dropped (the run goes on; its outcome says the rest)."""
    from clouddrive.sync.run import _RunLogHandler

    handler = _RunLogHandler(tmp_path / "run.log", encoding="utf-8")
    record = logging.LogRecord("t", logging.INFO, __file__, 1, "download a.txt", None, None)
    with handler.held():
        handler.emit(record)
        assert (tmp_path / "run.log").read_text() == ""  # held: not written yet

    def full() -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    assert handler.stream is not None
    with handler.held():
        handler.emit(record)
        handler.stream.flush = full  # type: ignore[method-assign]
    assert handler.lost == 1
    handler.stream.flush = lambda: None  # type: ignore[method-assign]
    handler.close()
    assert (tmp_path / "run.log").read_text().count("download a.txt") >= 1
