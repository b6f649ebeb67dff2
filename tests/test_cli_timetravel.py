"""The time-travel commands: deleted, restore-deleted, history, restore, activity, undo."""

from __future__ import annotations

import json
import shlex
import time
from pathlib import Path

import pytest

from clouddrive import errors
from clouddrive.cli.main import main
from clouddrive.cli.timetravel import drive_path
from clouddrive.history.views import console_url, s3_uri
from tests.drivekit import Shared, sha, tree, write
from tests.test_timetravel import next_second


def init(root: Path, shared: Shared, user: str) -> None:
    code = main(
        [
            "init",
            str(root),
            "--bucket",
            shared.bucket,
            "--prefix",
            shared.prefix,
            "--endpoint-url",
            shared.endpoint_url,
            "--user",
            user,
        ]
    )
    assert code == 0


def run(root: Path, *args: str) -> int:
    return main(["--root", str(root), *args])


def as_json(capsys: pytest.CaptureFixture[str], root: Path, *args: str) -> object:
    capsys.readouterr()
    assert run(root, *args, "--json") == 0
    return json.loads(capsys.readouterr().out)


def one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    captured = capsys.readouterr()
    lines = [line for line in captured.err.splitlines() if line.strip()]
    assert len(lines) == 1, captured.err
    assert "Traceback" not in captured.err
    return lines[0]


@pytest.fixture
def ann_bob(shared: Shared, tmp_path: Path) -> tuple[Path, Path]:
    ann, bob = tmp_path / "ann", tmp_path / "bob"
    init(ann, shared, "ann")
    init(bob, shared, "bob")
    return ann, bob


class TestDeletedAndRestoreDeleted:
    def test_two_users_delete_see_restore_and_converge(self, ann_bob, shared, capsys) -> None:
        """A deletes, B sees who and when, restores; both end with the original bytes."""
        ann, bob = ann_bob
        write(ann, "report.txt", "original bytes")
        assert run(ann, "sync", "--yes") == 0
        assert run(bob, "sync", "--yes") == 0
        (ann / "report.txt").unlink()
        assert run(ann, "sync", "--yes") == 0
        assert run(bob, "sync", "--yes") == 0
        assert tree(bob) == {}
        listing = as_json(capsys, bob, "deleted")
        (gone,) = listing["deleted"]  # type: ignore[index]
        assert (gone["path"], gone["deleted_by"], gone["author"], gone["size"]) == (
            "report.txt",
            "ann",
            "ann",
            14,
        )
        assert gone["deleted_at"].endswith("+00:00")
        assert run(bob, "deleted") == 0
        table = capsys.readouterr().out
        assert "report.txt" in table and "ann" in table and "just now" in table
        assert run(bob, "restore-deleted", "report.txt", "--yes") == 0
        out = capsys.readouterr().out
        assert "restored report.txt" in out and "here report.txt" in out
        assert tree(bob) == {"report.txt": b"original bytes"}  # at once, before any sync
        assert run(ann, "sync", "--yes") == 0
        assert run(bob, "sync", "--yes") == 0
        assert tree(ann) == tree(bob) == {"report.txt": b"original bytes"}
        history = as_json(capsys, ann, "history", "report.txt")["versions"]  # type: ignore[index]
        assert [(v["type"], v["author"]) for v in history] == [
            ("version", "bob"),
            ("delete-marker", "ann"),
            ("version", "ann"),
        ]
        assert history[0]["restored_from"] == history[2]["version_id"]

    def test_without_terminal_it_refuses_and_changes_nothing(self, ann_bob, shared, capsys) -> None:
        """No --yes and no terminal: exit 1, the plan shown, nothing restored."""
        ann, _ = ann_bob
        write(ann, "f.txt", "f")
        assert run(ann, "sync", "--yes") == 0
        (ann / "f.txt").unlink()
        assert run(ann, "sync", "--yes") == 0
        capsys.readouterr()
        assert run(ann, "restore-deleted", "f.txt") == 1
        captured = capsys.readouterr()
        assert "f.txt" in captured.out and "--yes" in captured.err
        assert shared.latest() == {} and tree(ann) == {}

    def test_a_deleted_folder_is_one_line_and_all_lists_every_file(
        self, ann_bob, shared, capsys
    ) -> None:
        """3,000 deletes were 15,014 lines: a folder is one line with its count; --all and
        --json list every file; looking inside the folder shows its files."""
        ann, _ = ann_bob
        for i in range(12):
            write(ann, f"specs/part{i:02d}.md", f"part {i}")
        write(ann, "notes.txt", "n")
        write(ann, "keep/alone.txt", "a")
        assert run(ann, "sync", "--yes") == 0
        for name in [*(f"specs/part{i:02d}.md" for i in range(12)), "notes.txt", "keep/alone.txt"]:
            (ann / name).unlink()
        assert run(ann, "sync", "--yes") == 0
        capsys.readouterr()
        assert run(ann, "deleted") == 0
        grouped = capsys.readouterr().out
        assert "specs/ (12 files)" in grouped and "part03" not in grouped
        assert "notes.txt" in grouped and "keep/alone.txt" in grouped  # one file stays itself
        assert "--all lists all 14 files" in grouped
        assert run(ann, "deleted", "--all") == 0
        every = capsys.readouterr().out
        assert all(f"specs/part{i:02d}.md" in every for i in range(12))
        assert run(ann, "deleted", "specs") == 0
        inside = capsys.readouterr().out
        assert all(f"specs/part{i:02d}.md" in inside for i in range(12))
        assert len(as_json(capsys, ann, "deleted")["deleted"]) == 14  # type: ignore[index]

    def test_path_that_is_not_deleted_is_one_clear_line(self, ann_bob, shared, capsys) -> None:
        """Restoring a live file: exit 1, one line saying why, no new version."""
        ann, _ = ann_bob
        write(ann, "alive.txt", "here")
        assert run(ann, "sync", "--yes") == 0
        capsys.readouterr()
        assert run(ann, "restore-deleted", "alive.txt", "--yes") == 1
        assert "alive.txt: not deleted" in one_error_line(capsys)
        assert len(shared.versions("alive.txt")) == 1

    def test_all_with_since_and_a_partial_result(self, ann_bob, shared, capsys) -> None:
        """--all restores every deleted file; a named live path alongside makes exit 3."""
        ann, _ = ann_bob
        for name in ("a.txt", "b.txt", "live.txt"):
            write(ann, name, name)
        assert run(ann, "sync", "--yes") == 0
        (ann / "a.txt").unlink()
        assert run(ann, "sync", "--yes") == 0
        assert run(ann, "restore-deleted", "a.txt", "live.txt", "--yes") == 3
        (ann / "b.txt").unlink()
        assert run(ann, "sync", "--yes") == 0
        report = as_json(capsys, ann, "restore-deleted", "--all", "--since", "1h", "--yes")
        assert [d["path"] for d in report["done"]] == ["b.txt"]  # type: ignore[index]
        assert tree(ann) == {"a.txt": b"a.txt", "b.txt": b"b.txt", "live.txt": b"live.txt"}
        assert run(ann, "restore-deleted", "--all", "--yes") == 0
        assert "Nothing to change" in capsys.readouterr().out


class TestRestore:
    def test_a_relative_moment_is_resolved_once_and_shown_exactly(
        self, ann_bob, shared, capsys
    ) -> None:
        """`--at 2s --dry-run` prints the moment it used as a command that runs exactly that
        plan; pasted after more changes land, it does the same steps, not a later moment's."""
        ann, _ = ann_bob
        write(ann, "docs/a.txt", "a0")
        assert run(ann, "sync", "--yes") == 0
        time.sleep(8)
        write(ann, "docs/b.txt", "b0")  # exists after the moment: the plan deletes it
        assert run(ann, "sync", "--yes") == 0
        capsys.readouterr()
        assert run(ann, "restore", "docs", "--at", "5s", "--dry-run") == 0
        shown = capsys.readouterr().out
        [hint] = [line for line in shown.splitlines() if line.startswith("To run exactly")]
        command = shlex.split(hint.split(": ", 1)[1])
        # run from outside the drive, so it names the drive as the command was given it
        assert command[:2] == ["clouddrive", "--root"] and Path(command[2]) == ann.resolve()
        assert command[3:6] == ["restore", "docs", "--at"]
        dry = as_json(capsys, ann, "restore", "docs", "--at", command[6], "--dry-run")["plan"]  # type: ignore[index]
        next_second()
        write(ann, "docs/c.txt", "c0")  # lands later: a re-resolved "1s" would now differ
        assert run(ann, "sync", "--yes") == 0
        again = as_json(capsys, ann, *command[3:], "--dry-run")["plan"]  # type: ignore[index]
        assert again["at"] == dry["at"]  # type: ignore[index]
        assert {s["path"] for s in again["steps"]} == {  # type: ignore[index]
            s["path"]
            for s in dry["steps"]  # type: ignore[index]
        } | {"docs/c.txt"}

    def test_version_and_folder_at_a_moment(self, ann_bob, shared, capsys) -> None:
        """--version brings one version back; --at a folder, after a dry run, every file."""
        ann, bob = ann_bob
        write(ann, "proj/a.txt", "a0")
        write(ann, "proj/b.txt", "b0")
        assert run(ann, "sync", "--yes") == 0
        then = {p: sha(c) for p, c in tree(ann).items()}
        moment = next_second().isoformat()
        write(ann, "proj/a.txt", "a1")
        (ann / "proj/b.txt").unlink()
        write(ann, "proj/c.txt", "c1")
        assert run(ann, "sync", "--yes") == 0
        plan = as_json(capsys, bob, "restore", "proj", "--at", moment, "--dry-run")["plan"]  # type: ignore[index]
        assert {s["path"]: s["action"] for s in plan["steps"]} == {  # type: ignore[index]
            "proj/a.txt": "restore",
            "proj/b.txt": "restore",
            "proj/c.txt": "delete",
        }
        assert len(shared.versions("proj/c.txt")) == 1  # the dry run changed nothing
        assert run(bob, "restore", "proj", "--at", moment, "--yes") == 0
        assert {p: sha(c) for p, c in tree(bob).items()} == then
        assert run(ann, "sync", "--yes") == 0
        assert {p: sha(c) for p, c in tree(ann).items()} == then
        history = as_json(capsys, ann, "history", "proj/a.txt")["versions"]  # type: ignore[index]
        a1 = history[1]["version_id"]
        assert run(ann, "restore", "proj/a.txt", "--version", a1, "--yes") == 0
        assert tree(ann)["proj/a.txt"] == b"a1"
        capsys.readouterr()
        assert run(ann, "restore", "proj/a.txt", "--version", a1, "--yes") == 1
        assert "already has the content of" in one_error_line(capsys)


class TestActivityAndUndo:
    def test_feed_then_undo_one_run(self, ann_bob, shared, capsys) -> None:
        """activity names who did what; undo RUN_ID reverts that run only."""
        ann, bob = ann_bob
        write(ann, "keep.txt", "k0")
        write(ann, "x.txt", "x0")
        assert run(ann, "sync", "--yes") == 0
        write(ann, "x.txt", "x1")
        write(ann, "y.txt", "y1")
        assert run(ann, "sync", "--yes") == 0
        assert run(bob, "sync", "--yes") == 0
        write(bob, "keep.txt", "k1 by bob")
        assert run(bob, "sync", "--yes") == 0
        feed = as_json(capsys, bob, "activity")["runs"]  # type: ignore[index]
        assert [(r["user"], r["kind"]) for r in feed] == [
            ("bob", "sync"),
            ("bob", "sync"),
            ("ann", "sync"),
            ("ann", "sync"),
        ]
        target = feed[2]
        assert {(a["op"], a["path"]) for a in target["actions"]} == {
            ("upload", "x.txt"),
            ("upload", "y.txt"),
        }
        assert run(bob, "activity") == 0
        assert target["run_id"] in capsys.readouterr().out
        assert run(bob, "undo", target["run_id"][:6], "--yes") == 0
        assert shared.latest() == {"keep.txt": b"k1 by bob", "x.txt": b"x0"}
        assert tree(bob) == shared.latest()
        feed = as_json(capsys, ann, "activity", "--since", "1h", "--limit", "1")
        assert feed["runs"][0]["kind"] == "undo" and feed["more"] is True  # type: ignore[index]
        assert feed["runs"][0]["undo_of"] == target["run_id"]  # type: ignore[index]
        assert run(ann, "sync", "--yes") == 0
        assert tree(ann) == shared.latest()


class TestErrors:
    def test_bad_input_is_one_line_exit_1(self, ann_bob, capsys) -> None:
        """A bad WHEN, a folder for history, an unknown run: exit 1, one line each."""
        ann, _ = ann_bob
        write(ann, "dir/f.txt", "f")
        assert run(ann, "sync", "--yes") == 0
        capsys.readouterr()
        assert run(ann, "deleted", "--since", "yesterday") == 1
        assert "cannot read the time" in one_error_line(capsys)
        assert run(ann, "history", "dir") == 1
        assert "is a folder" in one_error_line(capsys)
        assert run(ann, "undo", "ffffffffff", "--yes") == 1
        assert "no run ffffffffff" in one_error_line(capsys)
        assert run(ann, "restore-deleted", "--yes") == 1
        assert "--all" in one_error_line(capsys)


class TestPaths:
    def test_relative_to_the_current_folder_inside_the_drive(self, tmp_path, monkeypatch) -> None:
        """Inside the drive, PATH counts from the current folder; outside, from the root."""
        root = tmp_path / "drive"
        (root / "docs/sub").mkdir(parents=True)
        assert drive_path(root, "a.txt", cwd=root / "docs") == "docs/a.txt"
        assert drive_path(root, "../b.txt", cwd=root / "docs/sub") == "docs/b.txt"
        assert drive_path(root, ".", cwd=root / "docs") == "docs"
        assert drive_path(root, ".", cwd=root) == ""
        assert drive_path(root, "docs/a.txt", cwd=tmp_path) == "docs/a.txt"
        assert drive_path(root, str(root / "docs/gone.txt"), cwd=tmp_path) == "docs/gone.txt"
        with pytest.raises(errors.UserError, match="outside the drive"):
            drive_path(root, "../../elsewhere.txt", cwd=root / "docs")
        with pytest.raises(errors.UserError, match="outside the drive"):
            drive_path(root, str(tmp_path / "x"), cwd=root)

    @pytest.mark.parametrize("arg", ["", " "])
    def test_an_empty_path_is_refused_not_taken_for_the_whole_drive(
        self, arg: str, tmp_path: Path
    ) -> None:
        """`restore "$UNSET" --at 1h` must not plan a restore of everything."""
        with pytest.raises(errors.UserError, match="an empty path"):
            drive_path(tmp_path, arg, cwd=tmp_path)


class TestWhereOnS3:
    def test_history_names_the_s3_uri_and_no_console_link_off_aws(
        self, ann_bob, capsys, shared: Shared
    ) -> None:
        """`history` shows where the file is on S3 (s3pathlib); SeaweedFS has no console."""
        ann, _ = ann_bob
        write(ann, "my docs/a b.txt", "x")
        assert run(ann, "sync", "--yes") == 0
        doc = as_json(capsys, ann, "history", "my docs/a b.txt")
        assert doc["uri"] == f"s3://{shared.bucket}/{shared.prefix}/my docs/a b.txt"  # type: ignore[index]
        assert doc["console_url"] is None  # type: ignore[index]
        assert run(ann, "history", "my docs/a b.txt") == 0
        assert f"On S3: s3://{shared.bucket}/{shared.prefix}/my docs/a b.txt" in (
            capsys.readouterr().out
        )

    def test_console_links_only_for_aws(self) -> None:
        assert s3_uri("b", "team/") == "s3://b/team/"
        link = console_url("b", "team/a b.txt", region="eu-west-1")
        assert link is not None and "console.aws.amazon.com" in link and "eu-west-1" in link
        aws = console_url("b", "team/", endpoint_url="https://s3.eu-west-1.amazonaws.com")
        assert aws is not None and "b" in aws
        assert console_url("b", "team/", endpoint_url="http://127.0.0.1:8333") is None


class TestRefused:
    def test_every_path_refused_is_one_line_naming_each_and_json_keeps_it(
        self, ann_bob, shared, capsys
    ) -> None:
        """Found from outside: the reasons came as lines of their own before the error,
        and `--json` printed the error alone, without them."""
        ann, _ = ann_bob
        write(ann, "a.txt", "a")
        write(ann, "b.txt", "b")
        assert run(ann, "sync", "--yes") == 0
        capsys.readouterr()
        assert run(ann, "restore-deleted", "a.txt", "b.txt", "--yes") == 1
        line = one_error_line(capsys)
        assert "a.txt: not deleted" in line and "b.txt: not deleted" in line
        assert line.endswith("; nothing was changed")
        assert run(ann, "restore-deleted", "a.txt", "b.txt", "--yes", "--json") == 1
        message = json.loads(capsys.readouterr().out)["error"]["message"]
        assert "a.txt: not deleted" in message and "b.txt: not deleted" in message
