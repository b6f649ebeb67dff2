"""Bad input on the command line found by trying it from outside: one line, the right exit
code, and nothing changed (no folder made, no prefix marked on S3, no sync run)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from clouddrive import errors
from clouddrive.cli.common import pasteable
from clouddrive.cli.main import main
from clouddrive.ledger.presign import check_life
from clouddrive.local.config import DriveConfig
from tests.drivekit import Shared


def one_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert "Traceback" not in err and "internal error" not in err
    return err


@pytest.mark.parametrize("kind", ["file", "folder with files"])
def test_demo_refuses_a_folder_that_is_not_new(
    kind: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The demo syncs without asking, so it only ever makes a new folder: never one that
    holds the user's files (or a drive of theirs, which it used to sync with --yes)."""
    target = tmp_path / "mine"
    if kind == "file":
        target.write_text("keep\n")
    else:
        target.mkdir()
        (target / "notes.txt").write_text("keep\n")
    before = sorted(p.name for p in tmp_path.rglob("*"))
    assert main(["demo", str(target)]) == 1
    err = one_line(capsys)
    assert "a demo makes a new folder; nothing was changed" in err
    assert f"clouddrive demo {tmp_path / 'mine-2'}" in err  # a name that is free
    assert sorted(p.name for p in tmp_path.rglob("*")) == before


def test_a_root_whose_name_is_too_long_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--root", str(tmp_path / ("x" * 300)), "status"]) == 2
    assert "File name too long" in one_line(capsys)


def test_init_where_no_folder_can_be_made_marks_nothing_on_s3(
    shared: Shared, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "afile").write_text("a file, not a folder\n")
    words = ["--bucket", shared.bucket, "--endpoint-url", shared.endpoint_url, "--yes"]
    for folder in (tmp_path / "afile" / "x", tmp_path / ("y" * 300)):
        assert main(["init", str(folder), "--prefix", "lost", *words]) == 2
        one_line(capsys)
    listed = shared.client().list_object_versions(Bucket=shared.bucket, Prefix="lost/")
    assert "Versions" not in listed and "DeleteMarkers" not in listed


def test_init_that_fails_after_making_the_folder_takes_it_back(
    shared: Shared, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "new" / "drive"
    words = ["--endpoint-url", shared.endpoint_url, "--yes", "--prefix", "p"]
    assert main(["init", str(folder), "--bucket", "no-such-bucket", *words]) == 1
    one_line(capsys)
    assert not (tmp_path / "new").exists()


@pytest.mark.parametrize(
    ("flag", "value"),
    [
        ("--prefix", "a/../b"),
        ("--prefix", " "),
        ("--prefix", "x/.clouddrive"),
        ("--prefix", "p" * 600),
        ("--user", "new\nline"),
        ("--user", "a\tb"),
        ("--user", " "),
        ("--profile", ""),
        ("--profile", "a\tb"),
    ],
)
def test_a_prefix_user_or_profile_name_that_cannot_be_carried_is_refused(
    flag: str, value: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "d"
    assert main(["init", str(folder), "--bucket", "b", flag, value]) == 1
    assert f"argument {flag}: " in one_line(capsys)
    assert not folder.exists()


@pytest.mark.parametrize(
    "words",
    [
        ["sync", "--max-delete", "-1"],
        ["watch", "--max-delete", "-3"],
        ["activity", "--limit", "-1"],
        ["sync", "--max-delete", "many"],
    ],
)
def test_a_count_below_0_or_not_a_number_is_refused(
    words: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--root", str(tmp_path), *words]) == 1
    assert f"argument {words[1]}: {words[2]!r} is " in one_line(capsys)


def test_a_suggested_command_gets_the_root_where_it_would_find_no_drive(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "drive"
    (root / "docs").mkdir(parents=True)
    message = "no run x on this drive (see 'clouddrive activity')"
    assert pasteable(message, root) == message  # not a drive: 'clouddrive init' stays as is
    DriveConfig(bucket="b", prefix="p", user="ann").save(root)
    monkeypatch.chdir(tmp_path)  # outside: the command alone would find no drive
    assert pasteable(message, root) == (
        f"no run x on this drive (see 'clouddrive --root {root} activity')"
    )
    assert pasteable("see 'clouddrive --root /x activity'", root).count("--root") == 1
    assert pasteable(message, None) == message  # no --root given: found from here
    monkeypatch.chdir(root / "docs")  # inside: it works as it is
    assert pasteable(message, root) == message


def test_an_error_from_outside_the_drive_suggests_what_works_when_pasted(
    shared: Shared,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    shared.drive(tmp_path / "d", "ann").close()
    monkeypatch.chdir(tmp_path)
    assert main(["--root", "d", "undo", "ffffffffff"]) == 1
    err = one_line(capsys)
    suggested = err.split("(see '")[1].split("')")[0]
    assert suggested == f"clouddrive --root {tmp_path / 'd'} activity"
    assert main(suggested.split()[1:]) == 0  # pasted (less the program's name)


def test_a_question_refused_without_a_terminal_reads_as_one_sentence(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    DriveConfig(bucket="b", prefix="p", user="ann").save(tmp_path)
    assert main(["--root", str(tmp_path), "reset"]) == 1  # pytest's stdin is no terminal
    assert "afresh. Nothing was changed; rerun with --yes to confirm" in one_line(capsys)


def test_a_link_life_past_the_limit_is_named_as_asked() -> None:
    with pytest.raises(errors.UserError, match=r"at most 7 days .*, not 7 days 0:00:01;"):
        check_life(None, timedelta(seconds=7 * 86400 + 1))


def test_init_shows_a_folder_name_as_it_is_not_as_markup_or_lines(
    shared: Shared, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "[bold]odd\nname"
    words = ["--endpoint-url", shared.endpoint_url, "--yes", "--user", "[red]ann"]
    assert main(["init", str(folder), "--bucket", shared.bucket, "--prefix", "odd", *words]) == 0
    ready = capsys.readouterr().out.splitlines()[0]
    assert ready.startswith("Drive ready: ") and "[bold]odd\\nname" in ready
    assert ready.endswith("as [red]ann")
