"""What `status` and `sync` tell the user (issue 12, items 6, 8, 9 and 15): the run's
counts match the plan that was shown, a conflict has one name from `status` to `sync` and
shows each side's size, skipped files are named in the plan on stdout, and `-q` is quiet."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from clouddrive.cli.main import main
from tests.drivekit import Shared, tree, write
from tests.servers import s3_client


def run(capsys: pytest.CaptureFixture[str], root: Path, *args: str) -> tuple[int, str, str]:
    code = main(["--root", str(root), *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def synced(shared: Shared, root: Path, user: str, files: dict[str, str]) -> Path:
    drive = shared.drive(root, user)
    for path, text in files.items():
        write(root, path, text)
    drive.close()
    return root


class TestPlanAndDoneAgree:
    def test_done_counts_what_the_plan_showed(self, shared, tmp_path, capsys) -> None:
        """After `reset`, "Plan: 1 download" ends "Done: 1 download; 3 already in sync,
        recorded", not "Done: 4 action(s)"."""
        ann = synced(shared, tmp_path / "ann", "ann", {"a.txt": "a", "b.txt": "b", "c.txt": "c"})
        assert run(capsys, ann, "sync", "--yes")[0] == 0
        bob = synced(shared, tmp_path / "bob", "bob", {})
        assert run(capsys, bob, "sync", "--yes")[0] == 0
        write(bob, "new.txt", "from bob")
        assert run(capsys, bob, "sync", "--yes")[0] == 0
        assert run(capsys, ann, "reset", "--yes")[0] == 0
        code, out, _ = run(capsys, ann, "sync", "--yes")
        assert code == 0
        assert "Plan: 1 download\n" in out
        assert "Done: 1 download; 3 already in sync, recorded." in out

    def test_uploads_only(self, shared, tmp_path, capsys) -> None:
        ann = synced(shared, tmp_path / "ann", "ann", {f"f{i}.txt": str(i) for i in range(5)})
        code, out, _ = run(capsys, ann, "sync", "--yes")
        assert code == 0 and "Plan: 5 upload\n" in out and "Done: 5 upload." in out


class TestConflicts:
    def test_one_name_from_status_to_sync_and_each_sides_size(
        self, shared, tmp_path, capsys
    ) -> None:
        ann = synced(shared, tmp_path / "ann", "ann", {"r.txt": "base"})
        assert run(capsys, ann, "sync", "--yes")[0] == 0
        bob = synced(shared, tmp_path / "bob", "bob", {})
        assert run(capsys, bob, "sync", "--yes")[0] == 0
        write(bob, "r.txt", "bob's much longer edit")  # 22 bytes
        assert run(capsys, bob, "sync", "--yes")[0] == 0
        write(ann, "r.txt", "ann's")  # 5 bytes
        code, status, _ = run(capsys, ann, "status")
        assert code == 0
        [name] = re.findall(r"'(r \(conflict ann [^)]*\)\.txt)'", status)
        assert "5 B here, 22 B on S3" in status  # not "27 B"
        time.sleep(1.1)  # the planning time moves on; the name must not
        code, out, _ = run(capsys, ann, "sync", "--yes")
        assert code == 0 and name in out
        assert tree(ann)[name] == b"ann's"


class TestSkippedFiles:
    @pytest.fixture
    def drive_with_a_skip(self, shared: Shared, tmp_path: Path) -> Path:
        root = synced(shared, tmp_path / "ann", "ann", {})
        s3_client(shared.endpoint_url).put_object(
            Bucket=shared.bucket, Key=f"{shared.prefix}/bad\tname", Body=b"x"
        )
        return root

    def test_sync_names_the_skip_and_does_not_say_all_is_in_sync(
        self, drive_with_a_skip, capsys
    ) -> None:
        code, out, _ = run(capsys, drive_with_a_skip, "sync", "--yes")
        assert code == 3
        assert "bad\\tname" in out and "skipped" in out
        assert "Everything is in sync." not in out

    def test_status_names_the_skipped_file(self, drive_with_a_skip, capsys) -> None:
        code, out, _ = run(capsys, drive_with_a_skip, "status")
        assert code == 0
        assert "bad\\tname" in out and "1 skipped" in out

    def test_quiet_sync_still_names_it_on_stderr(self, drive_with_a_skip, capsys) -> None:
        code, out, err = run(capsys, drive_with_a_skip, "sync", "--yes", "-q")
        assert code == 3 and out == ""
        assert "bad\\tname" in err


class TestQuiet:
    def test_quiet_sync_with_yes_prints_nothing_when_all_goes_well(
        self, shared, tmp_path, capsys
    ) -> None:
        """README: `--quiet` prints only errors and skipped files (and the plan when it
        asks): a cron job's `sync -q --yes` is silent unless something needs attention."""
        ann = synced(shared, tmp_path / "ann", "ann", {"a.txt": "a", "b.txt": "b"})
        code, out, err = run(capsys, ann, "sync", "--yes", "-q")
        assert (code, out, err) == (0, "", "")
        assert set(tree(ann)) == {"a.txt", "b.txt"}
        write(ann, "a.txt", "changed")
        code, out, err = run(capsys, ann, "sync", "--yes", "--quiet")
        assert (code, out, err) == (0, "", "")

    def test_quiet_still_shows_the_plan_it_asks_about(self, shared, tmp_path, capsys) -> None:
        ann = synced(shared, tmp_path / "ann", "ann", {"a.txt": "a"})
        code, out, err = run(capsys, ann, "sync", "-q")  # no terminal: it shows, then refuses
        assert code == 1
        assert "a.txt" in out and "Plan: 1 upload" in out
        assert "--yes" in err
