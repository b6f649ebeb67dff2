"""The `clouddrive` command: exit codes, one-line errors, confirmation, JSON, init checks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from clouddrive.cli.main import main
from tests.drivekit import Shared, tree, write
from tests.servers import s3_client


def init(root: Path, shared: Shared, *extra: str) -> int:
    return main(
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
            *extra,
        ]
    )


def one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    captured = capsys.readouterr()
    lines = [line for line in captured.err.splitlines() if line.strip()]
    assert len(lines) == 1, captured.err
    assert "Traceback" not in captured.err
    return lines[0]


class TestInit:
    def test_init_writes_config_without_secrets(self, shared, tmp_path, capsys) -> None:
        """init checks the bucket and writes config.toml with no credential in it."""
        assert init(tmp_path / "d", shared) == 0
        text = (tmp_path / "d/.clouddrive/config.toml").read_text()
        assert f'bucket = "{shared.bucket}"' in text and 'prefix = "team"' in text
        assert "testing" not in text  # the session's fake secret
        assert "Drive ready" in capsys.readouterr().out

    def test_wrong_bucket_is_one_line_and_writes_nothing(self, shared, tmp_path, capsys) -> None:
        """A bucket that does not exist: exit 1, one line, no drive created."""
        shared.bucket = "no-such-bucket-here"
        assert init(tmp_path / "d", shared) == 1
        assert "bucket 'no-such-bucket-here' does not exist" in one_error_line(capsys)
        assert not (tmp_path / "d").exists()

    def test_missing_credentials(self, shared, tmp_path, capsys, monkeypatch) -> None:
        """No credentials in the AWS chain: exit 1 and a hint, nothing written."""
        monkeypatch.delenv("AWS_ACCESS_KEY_ID")
        monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
        assert init(tmp_path / "d", shared) == 1
        assert "no AWS credentials found" in one_error_line(capsys)
        assert not (tmp_path / "d").exists()

    def test_unversioned_bucket_needs_consent(
        self, seaweedfs, make_bucket, tmp_path, capsys
    ) -> None:
        """Without a terminal, init refuses to enable versioning unless --yes."""
        shared = Shared(seaweedfs.endpoint_url, make_bucket(seaweedfs, versioning=False))
        assert init(tmp_path / "d", shared) == 1
        line = one_error_line(capsys)
        assert "no terminal" in line
        # what needs confirming, and the flag that gives it (issue 12.13)
        assert f"Bucket '{shared.bucket}' has versioning off" in line
        assert "Enable versioning now?" in line and line.endswith("rerun with --yes to confirm")
        assert not (tmp_path / "d").exists()
        client = s3_client(shared.endpoint_url)
        assert client.get_bucket_versioning(Bucket=shared.bucket).get("Status") is None
        assert init(tmp_path / "d", shared, "--yes") == 0
        assert client.get_bucket_versioning(Bucket=shared.bucket)["Status"] == "Enabled"


class TestSync:
    def test_status_json_then_sync(self, shared, tmp_path, capsys) -> None:
        """status --json shows the plan; sync --yes runs it; then everything is in sync."""
        root = tmp_path / "d"
        assert init(root, shared) == 0
        write(root, "a.txt", "a")
        capsys.readouterr()
        assert main(["--root", str(root), "status", "--json"]) == 0
        plan = json.loads(capsys.readouterr().out)
        assert [(a["action"], a["path"]) for a in plan["actions"]] == [("upload", "a.txt")]
        assert main(["--root", str(root), "sync", "--yes"]) == 0
        assert shared.latest() == {"a.txt": b"a"}
        capsys.readouterr()
        assert main(["--root", str(root), "status"]) == 0
        assert "Everything is in sync." in capsys.readouterr().out

    def test_without_terminal_sync_refuses_and_changes_nothing(
        self, shared, tmp_path, capsys
    ) -> None:
        """No stdin terminal and no --yes: exit 1, nothing uploaded."""
        root = tmp_path / "d"
        assert init(root, shared) == 0
        write(root, "a.txt", "a")
        capsys.readouterr()
        assert main(["--root", str(root), "sync"]) == 1
        assert "--yes" in capsys.readouterr().err
        assert shared.latest() == {}

    def test_dry_run_changes_nothing(self, shared, tmp_path, capsys) -> None:
        """--dry-run prints the plan and leaves both sides alone."""
        root = tmp_path / "d"
        assert init(root, shared) == 0
        write(root, "a.txt", "a")
        capsys.readouterr()
        assert main(["--root", str(root), "sync", "--dry-run", "--json"]) == 0
        report = json.loads(capsys.readouterr().out)
        assert report["dry_run"] is True and report["done"] == []
        assert report["plan"]["counts"] == {"upload": 1}
        assert shared.latest() == {}

    def test_skipped_files_exit_3(self, shared, tmp_path, capsys) -> None:
        """A skipped key is reported, the rest synced, and the exit code says so."""
        root = tmp_path / "d"
        assert init(root, shared) == 0
        client = s3_client(shared.endpoint_url)
        client.put_object(Bucket=shared.bucket, Key="team/ok.txt", Body=b"ok")
        client.put_object(Bucket=shared.bucket, Key="team/bad\tname", Body=b"x")
        assert main(["--root", str(root), "sync", "--yes"]) == 3
        assert "control character" in capsys.readouterr().out  # in the plan, by name
        assert tree(root) == {"ok.txt": b"ok"}

    def test_guard_is_exit_1(self, shared, tmp_path, capsys) -> None:
        """A tripped guard is a refusal: exit 1 with the reason on one line."""
        root = tmp_path / "d"
        assert init(root, shared) == 0
        write(root, "a.txt", "a")
        assert main(["--root", str(root), "sync", "--yes"]) == 0
        (root / "a.txt").unlink()
        capsys.readouterr()
        assert main(["--root", str(root), "sync", "--yes", "--max-delete", "0"]) == 1
        assert "deletes 1 files on S3" in one_error_line(capsys)

    def test_reset_forgets_state_and_nothing_else(self, shared, tmp_path, capsys) -> None:
        """reset removes the base; the next sync adopts equal files without any transfer."""
        root = tmp_path / "d"
        assert init(root, shared) == 0
        write(root, "a.txt", "a")
        assert main(["--root", str(root), "sync", "--yes"]) == 0
        assert main(["--root", str(root), "reset", "--yes"]) == 0
        assert not (root / ".clouddrive/state.db").exists()
        capsys.readouterr()
        assert main(["--root", str(root), "sync", "--yes", "--json"]) == 0
        report = json.loads(capsys.readouterr().out)
        assert [a["action"] for a in report["done"]] == ["record"]
        assert len(shared.versions("a.txt")) == 1


class TestErrors:
    def test_not_a_drive(self, tmp_path, capsys) -> None:
        """Outside a drive: exit 1, one line naming the fix."""
        assert main(["--root", str(tmp_path), "status"]) == 1
        assert "clouddrive init" in one_error_line(capsys)

    def test_no_traceback_from_the_real_command(self, tmp_path) -> None:
        """The installed entry point prints one line, never a traceback."""
        result = subprocess.run(
            [sys.executable, "-m", "clouddrive", "--root", str(tmp_path), "sync", "--yes"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 1
        assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr

    def test_help_lists_the_commands(self, capsys) -> None:
        """--help names every command of this release."""
        with pytest.raises(SystemExit):
            main(["--help"])
        out = capsys.readouterr().out
        for command in (
            *("init", "status", "sync", "reset", "demo", "app", "server", "lifecycle", "doctor"),
            *("deleted", "restore-deleted", "history", "restore", "activity", "undo"),
            *("link", "completion", "watch", "import-s3synchrony"),
        ):
            assert command in out


class TestEmbeddedDemo:
    def test_demo_runs_offline_on_the_embedded_server(self, tmp_path) -> None:
        """`clouddrive demo` starts SeaweedFS itself, creates a drive and syncs it."""
        env = {**os.environ, "XDG_DATA_HOME": str(tmp_path / "data")}
        for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
            env.pop(var, None)  # the embedded server needs no credentials
        demo = tmp_path / "demo"
        try:
            result = subprocess.run(
                [sys.executable, "-m", "clouddrive", "demo", str(demo)],
                capture_output=True,
                text=True,
                timeout=180,
                env=env,
            )
            assert result.returncode == 0, result.stdout + result.stderr
            assert "local S3 server at http://127.0.0.1:" in result.stdout
            assert "README.txt" in result.stdout
            again = subprocess.run(
                [sys.executable, "-m", "clouddrive", "--root", str(demo), "status"],
                capture_output=True,
                text=True,
                timeout=60,
                env=env,
            )
            assert again.returncode == 0 and "Everything is in sync." in again.stdout
        finally:
            subprocess.run(
                [sys.executable, "-m", "clouddrive", "server", "stop"],
                capture_output=True,
                timeout=60,
                env=env,
            )
