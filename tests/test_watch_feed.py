"""The remote change feed against SeaweedFS: records by others are news once, whatever the
writer's clock (within the look-back window); own records, download-only runs and records
outside the window are not; an open record is news again when its run completes."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from clouddrive.drive import Drive
from clouddrive.history.records import RunAction, RunRecord, record_relkey
from clouddrive.live.feed import ChangeFeed
from clouddrive.live.service import launchd_plist, systemd_unit


def _put(drive: Drive, record: RunRecord) -> str:
    relkey = record_relkey(record.started, record.user, record.run_id)
    drive.remote.put_bytes(relkey, json.dumps(record.to_json()).encode())
    return relkey


def _record(run_id: str, started: datetime, *, op: str = "upload", done: bool = True) -> RunRecord:
    return RunRecord(
        run_id=run_id,
        user="bob",
        host="elsewhere",
        started=started,
        finished=started + timedelta(seconds=1) if done else None,
        actions=(RunAction(op, f"{run_id}.txt", "v1"),),
    )


def test_feed_reports_each_change_by_others_once(two: tuple[Drive, Drive]) -> None:
    a, _b = two
    now = datetime.now(UTC)
    _put(a, _record("before", now - timedelta(minutes=1)))
    feed = ChangeFeed(a.remote)
    feed.prime()
    assert feed.poll() == []  # what was there at the start is not news

    _put(a, _record("skewed", now - timedelta(minutes=3)))  # a clock 3 minutes behind
    _put(a, _record("mine", now))
    feed.note_own("mine")
    _put(a, _record("pulled", now, op="download"))  # changed nothing on S3
    _put(a, _record("ancient", now - timedelta(minutes=30)))  # outside the window
    assert [r.run_id for r in feed.poll()] == ["skewed"]
    assert feed.poll() == []  # once only

    relkey = _put(a, _record("long", now, done=False))  # written at the start of a run
    assert [r.run_id for r in feed.poll()] == ["long"]
    assert feed.poll() == []
    a.remote.put_bytes(relkey, json.dumps(_record("long", now).to_json()).encode())
    assert [r.run_id for r in feed.poll()] == ["long"]  # completed: the rest of its work
    assert feed.poll() == []


def test_service_files_name_the_drive_and_the_watch_command(tmp_path: Path) -> None:
    root = tmp_path / "Team Drive"
    unit = systemd_unit("/usr/bin/clouddrive", root)
    assert f'ExecStart="/usr/bin/clouddrive" "--root" "{root}" "watch"\n' in unit
    assert "KillSignal=SIGTERM" in unit and "WantedBy=default.target" in unit
    plist = launchd_plist("/usr/bin/clouddrive", root)
    assert f"<string>{root}</string>" in plist and "<string>watch</string>" in plist
    assert "org.clouddrive.watch.Team-Drive" in plist


def test_a_service_keeps_the_watchs_flags_and_the_folders_name_as_written(
    tmp_path: Path,
) -> None:
    """systemd expands `%d`, `$HOME` and C escapes in ExecStart: a folder named so must
    reach the watch as it is named, and so must the flags the watch was given."""
    root = tmp_path / 'pc%d $HOME "q" \\x'
    flags = ["--poll", "3", "--max-delete", "10"]
    unit = systemd_unit("/usr/bin/clouddrive", root, flags)
    exec_start = next(line for line in unit.splitlines() if line.startswith("ExecStart="))
    # systemd reads `%%` as %, `$$` as $, and \" and \\ inside double quotes as " and \
    folder = f'"{tmp_path}/pc%%d $$HOME \\"q\\" \\\\x"'
    assert exec_start == (
        f'ExecStart="/usr/bin/clouddrive" "--root" {folder} "watch" '
        '"--poll" "3" "--max-delete" "10"'
    )
    assert "Description=clouddrive watch of " + str(root).replace("%", "%%") in unit
    plist = launchd_plist("/usr/bin/clouddrive", root, flags)
    assert "<string>--poll</string>\n    <string>3</string>" in plist


def test_print_service_passes_the_flags_given(
    two: tuple[Drive, Drive], capsys: pytest.CaptureFixture[str]
) -> None:
    from clouddrive.cli.main import main

    a, _b = two
    words = ["--root", str(a.root), "watch", "--print-service", "systemd", "--settle", "2.5"]
    assert main(words) == 0
    assert '"watch" "--settle" "2.5"\n' in capsys.readouterr().out


def test_help_names_watch_and_import(capsys: pytest.CaptureFixture[str]) -> None:
    from clouddrive.cli.main import main

    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert "watch" in out and "import-s3synchrony" in out


def test_watch_once_and_print_service_from_the_cli(
    two: tuple[Drive, Drive], capsys: pytest.CaptureFixture[str]
) -> None:
    from clouddrive.cli.main import main

    a, b = two
    (a.root / "cron.txt").write_text("from cron")
    assert main(["--root", str(a.root), "watch", "--once"]) == 0
    assert "synced: 1 " in " ".join(capsys.readouterr().out.split())
    assert main(["--root", str(b.root), "watch", "--once"]) == 0
    assert (b.root / "cron.txt").read_text() == "from cron"
    capsys.readouterr()
    assert main(["--root", str(b.root), "watch", "--print-service", "systemd"]) == 0
    unit = capsys.readouterr().out
    assert f'"--root" "{b.root}" "watch"' in unit and unit.startswith("# ~/.config/systemd/user/")
