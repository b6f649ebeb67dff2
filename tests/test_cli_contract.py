"""The command line's contract with scripts and shells (issue 12): usage errors are one line
and exit 1, `--json` gives one object on stdout for every outcome (errors included), plans
have one shape whether dry run or applied, and a closed pipe ends quietly."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from clouddrive.cli.interrupt import EXIT_INTERRUPTED
from clouddrive.cli.main import EXIT_PIPE_CLOSED, main
from clouddrive.cli.syncing import finish
from clouddrive.core.models import Plan
from clouddrive.sync.report import SyncReport
from tests.drivekit import Shared, write


def _init(root: Path, shared: Shared) -> None:
    assert (
        main(
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
                "ann",
            ]
        )
        == 0
    )


def _json_error(capsys: pytest.CaptureFixture[str]) -> dict[str, object]:
    captured = capsys.readouterr()
    document = json.loads(captured.out)  # exactly one JSON document on stdout
    assert document["ok"] is False
    error = document["error"]
    assert set(error) == {"kind", "message", "exit_code"}
    assert len(captured.err.strip().splitlines()) == 1  # and the one line on stderr
    return dict(error)


class TestUsageErrors:
    @pytest.mark.parametrize(
        ("argv", "help_of"),
        [
            (["nosuch"], "clouddrive"),
            (["sync", "--bogus"], "clouddrive sync"),
            (["history"], "clouddrive history"),
            (["sync", "--max-delete", "many"], "clouddrive sync"),
            (["lifecycle", "apply", "--keep-versions", "x"], "clouddrive lifecycle apply"),
        ],
    )
    def test_one_line_exit_1_and_where_help_is(self, argv, help_of, capsys) -> None:
        """Bad input is exit 1 with one line (the README's rule), not argparse's usage block
        and exit 2 (which means a remote or local failure here)."""
        assert main(argv) == 1
        captured = capsys.readouterr()
        lines = captured.err.strip().splitlines()
        assert len(lines) == 1, captured.err
        assert lines[0].startswith("clouddrive: ") and "usage:" not in captured.err
        assert lines[0].endswith(f"see '{help_of} --help'")
        assert captured.out == ""

    def test_usage_error_with_json(self, capsys) -> None:
        assert main(["history", "--json"]) == 1
        error = _json_error(capsys)
        assert error["kind"] == "usage" and error["exit_code"] == 1

    def test_setup_script_usage_error_is_one_line(self) -> None:
        script = Path(__file__).parent.parent / "scripts/setup_lifecycle.py"
        done = subprocess.run(
            [sys.executable, str(script), "--keep-versions", "x"], capture_output=True, text=True
        )
        assert done.returncode == 1
        assert len(done.stderr.strip().splitlines()) == 1 and "--help" in done.stderr


class TestJsonOutcomes:
    def test_errors_are_one_json_object(self, shared, tmp_path, capsys) -> None:
        """`history nope --json`, `undo nope --json`, `restore --version zzz --json`: one
        object on stdout with the error, never a plan or nothing."""
        root = tmp_path / "d"
        _init(root, shared)
        write(root, "a.txt", "a")
        assert main(["--root", str(root), "sync", "--yes"]) == 0
        capsys.readouterr()
        assert main(["--root", str(root), "history", "nope", "--json"]) == 1
        assert "nope" in str(_json_error(capsys)["message"])
        assert main(["--root", str(root), "undo", "nope", "--json"]) == 1
        assert _json_error(capsys)["exit_code"] == 1
        assert main(["--root", str(root), "restore", "a.txt", "--version", "zzz", "--json"]) == 1
        assert "zzz" in str(_json_error(capsys)["message"])

    def test_outside_a_drive(self, tmp_path, capsys, monkeypatch) -> None:
        monkeypatch.chdir(tmp_path)
        assert main(["status", "--json"]) == 1
        assert _json_error(capsys)["kind"] == "not_a_drive"

    def test_reports_that_exit_1_carry_the_error_too(
        self, seaweedfs, make_bucket, tmp_path, capsys
    ) -> None:
        """doctor and `lifecycle show` on an unversioned bucket exit 1 with their report, and
        the error object beside it: every non-zero exit has `ok: false` and `error`."""
        bucket = make_bucket(seaweedfs, versioning=False)
        root = Shared(seaweedfs.endpoint_url, bucket).drive(tmp_path / "d", "ann").root
        assert main(["--root", str(root), "doctor", "--json"]) == 1
        report = json.loads(capsys.readouterr().out)
        assert report["ok"] is False and report["error"]["kind"] == "checks_failed"
        assert "versioning" in report["error"]["message"] and report["checks"]
        assert main(["--root", str(root), "lifecycle", "show", "--json"]) == 1
        view = json.loads(capsys.readouterr().out)
        assert view["ok"] is False and view["error"]["kind"] == "versioning_not_enabled"
        assert view["versioning"] == "Off"

    def test_sync_plan_has_one_shape(self, shared, tmp_path, capsys) -> None:
        """A dry run has no run id (nothing ran), and the same keys as a run."""
        root = tmp_path / "d"
        _init(root, shared)
        write(root, "a.txt", "a")
        capsys.readouterr()
        assert main(["--root", str(root), "sync", "--dry-run", "--json"]) == 0
        dry = json.loads(capsys.readouterr().out)
        assert dry["run_id"] is None and dry["dry_run"] is True
        assert main(["--root", str(root), "sync", "--yes", "--json"]) == 0
        ran = json.loads(capsys.readouterr().out)
        assert ran["run_id"] and ran["dry_run"] is False
        assert set(dry) == set(ran) and set(dry["plan"]) == set(ran["plan"])

    def test_restore_plan_has_one_shape(self, shared, tmp_path, capsys) -> None:
        root = tmp_path / "d"
        _init(root, shared)
        write(root, "a.txt", "one")
        assert main(["--root", str(root), "sync", "--yes"]) == 0
        write(root, "a.txt", "two")
        assert main(["--root", str(root), "sync", "--yes"]) == 0
        capsys.readouterr()
        assert main(["--root", str(root), "history", "a.txt", "--json"]) == 0
        old = json.loads(capsys.readouterr().out)["versions"][-1]["version_id"]
        restore = ["--root", str(root), "restore", "a.txt", "--version", old, "--json"]
        assert main([*restore, "--dry-run"]) == 0
        dry = json.loads(capsys.readouterr().out)
        assert dry["run_id"] is None and dry["dry_run"] is True and dry["plan"]["steps"]
        assert main([*restore, "--yes"]) == 0
        ran = json.loads(capsys.readouterr().out)
        assert ran["run_id"] and ran["dry_run"] is False
        assert set(dry) == set(ran) and set(dry["plan"]) == set(ran["plan"])

    def test_a_stopped_sync_is_an_error_with_its_report(self, capsys) -> None:
        """Ctrl-C during `sync --json` (exit 130): the error shape, what was done beside it."""
        report = SyncReport(Plan(), "run1", cancelled=True)
        assert finish(report, as_json=True) == EXIT_INTERRUPTED
        document = json.loads(capsys.readouterr().out)
        assert document["ok"] is False and document["error"]["kind"] == "interrupted"
        assert document["run_id"] == "run1" and document["done"] == []


class TestClosedPipe:
    @pytest.mark.parametrize(
        "argv",
        [
            ["lifecycle", "policy", "--bucket", "b", "--prefix", "p"],  # plain print
            ["completion", "bash"],
            ["server", "status"],  # rich console
        ],
    )
    def test_quiet_like_ls(self, argv, tmp_path) -> None:
        """`clouddrive ... | head -1`: the reader goes away before the output is written; no
        "internal error: BrokenPipeError", no exit 1, but 141 as `ls | head` gives."""
        proc = subprocess.Popen(
            [sys.executable, "-m", "clouddrive", *argv],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={**os.environ, "XDG_DATA_HOME": str(tmp_path)},
        )
        assert proc.stdout is not None and proc.stderr is not None
        proc.stdout.close()  # before the interpreter has even started: every write fails
        stderr = proc.stderr.read()
        assert proc.wait(timeout=60) == EXIT_PIPE_CLOSED, stderr
        assert stderr == b""
