"""Every fix a message offers works when pasted (issue 12, item 2 and "Done when").

The commands are taken from what clouddrive prints (doctor's `command`s and its text lines,
and the error lines of sync, status and `lifecycle show`), pasted into a new process as they
are, on the session's SeaweedFS (a custom endpoint) and on an embedded server of the test's
own; each must exit 0 and fix what it said. A command that asks first gets its "y" on a
terminal (a pty), as a person pasting it would answer.
"""

from __future__ import annotations

import json
import os
import pty
import shlex
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from clouddrive.embedded.registry import (
    default_data_dir,
    ensure_embedded,
    registration,
    stop_embedded,
)
from clouddrive.embedded.stop import stop_server
from clouddrive.local.config import DriveConfig
from tests.servers import s3_client

pytestmark = pytest.mark.slow  # real servers, real processes


@dataclass
class Target:
    """Where the drives of a test live: a custom endpoint, or the embedded server."""

    name: str
    endpoint_url: str
    embedded: bool

    def bucket(self, *, versioning: bool) -> str:
        name = f"fix-{uuid.uuid4().hex[:10]}"
        client = s3_client(self.endpoint_url)
        client.create_bucket(Bucket=name)
        if versioning:
            client.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
        return name

    def drive(self, root: Path, bucket: str) -> Path:
        """A drive's folder on `bucket` (its config as init writes it for this target)."""
        root.mkdir(parents=True)
        DriveConfig(
            bucket=bucket,
            prefix="team",
            endpoint_url=None if self.embedded else self.endpoint_url,
            user="ann",
            embedded=self.embedded,
        ).save(root)
        return root

    def versioning(self, bucket: str) -> str:
        return str(s3_client(self.endpoint_url).get_bucket_versioning(Bucket=bucket).get("Status"))

    def suspend(self, bucket: str) -> None:
        s3_client(self.endpoint_url).put_bucket_versioning(
            Bucket=bucket, VersioningConfiguration={"Status": "Suspended"}
        )


@pytest.fixture(params=["custom", "embedded"])
def target(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[Target]:
    if request.param == "custom":
        yield Target("custom", request.getfixturevalue("seaweedfs").endpoint_url, False)
        return
    # an embedded server of this test's own: the pasted commands find it through the same
    # user data folder (XDG_DATA_HOME is in the environment they inherit)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    data_dir = default_data_dir()
    info = ensure_embedded(data_dir)
    try:
        yield Target("embedded", info.endpoint_url, True)
    finally:
        record = registration(data_dir)
        stop_embedded(data_dir)
        if record is not None and record.pid is not None:
            stop_server(record.pid)


def clouddrive(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """One clouddrive command in a new process, no terminal (as a script runs it)."""
    return subprocess.run(
        [sys.executable, "-m", "clouddrive", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=180,
        stdin=subprocess.DEVNULL,
    )


def paste(command: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run `command` exactly as printed, on a terminal that answers "y" to each question."""
    words = shlex.split(command)
    assert words[0] == "clouddrive", command
    master, slave = pty.openpty()
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "clouddrive", *words[1:]],
            stdin=slave,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=cwd,
        )
        os.write(master, b"y\ny\ny\n")  # buffered by the terminal until each question reads
        out, err = proc.communicate(timeout=180)
    finally:
        os.close(slave)
        os.close(master)
    done = subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
    assert done.returncode == 0, f"{command!r} exited {done.returncode}: {err}"
    return done


def fix_of(stderr: str) -> str:
    """The command an error line ends with ("... with: COMMAND")."""
    [line] = stderr.strip().splitlines()
    assert " with: " in line, line
    return line.rsplit(" with: ", 1)[1]


def doctor(root: Path) -> dict[str, dict[str, str]]:
    done = clouddrive("--root", str(root), "doctor", "--json", cwd=root.parent)
    report = json.loads(done.stdout)
    return {check["name"]: check for check in report["checks"]}


def doctor_text(root: Path) -> list[str]:
    return clouddrive("--root", str(root), "doctor", cwd=root.parent).stdout.splitlines()


class TestVersioningFixes:
    def test_sync_on_a_bucket_without_versioning(self, target: Target, tmp_path: Path) -> None:
        bucket = target.bucket(versioning=False)
        root = target.drive(tmp_path / "drive", bucket)
        (root / "a.txt").write_text("a", encoding="utf-8")
        refused = clouddrive("sync", "--yes", cwd=root)
        assert refused.returncode == 1, refused.stderr
        command = fix_of(refused.stderr)
        assert command == "clouddrive init"
        paste(command, cwd=root)  # "in the drive's folder", as the line says
        assert target.versioning(bucket) == "Enabled"
        assert clouddrive("sync", "--yes", cwd=root).returncode == 0

    def test_sync_on_a_suspended_bucket(self, target: Target, tmp_path: Path) -> None:
        bucket = target.bucket(versioning=True)
        root = target.drive(tmp_path / "drive", bucket)
        target.suspend(bucket)
        refused = clouddrive("status", cwd=root)
        if refused.returncode == 0:  # status may only read: the sync is what refuses
            refused = clouddrive("sync", "--yes", cwd=root)
        assert refused.returncode == 1, refused.stderr
        command = fix_of(refused.stderr)
        assert command == "clouddrive init --reenable-versioning"
        # the one rule: without the named flag, even --yes does not turn it back on
        plain = clouddrive("init", "--yes", cwd=root)
        assert plain.returncode == 1 and "--reenable-versioning" in plain.stderr
        assert target.versioning(bucket) == "Suspended"
        paste(command, cwd=root)
        assert target.versioning(bucket) == "Enabled"

    def test_doctor_on_a_bucket_without_versioning_or_rules(
        self, target: Target, tmp_path: Path
    ) -> None:
        """Paste each command doctor prints until it has none left: versioning on, rules set."""
        bucket = target.bucket(versioning=False)
        root = target.drive(tmp_path / "my drive", bucket)  # a space: the command quotes it
        pasted: list[str] = []
        for _ in range(4):
            checks = doctor(root)
            commands = [c["command"] for c in checks.values() if c.get("command")]
            if not commands:
                break
            lines = doctor_text(root)
            for command in commands:  # the text shows the same command, whole, at the end
                assert any(line.endswith(f"fix: {checks_fix(checks, command)}") for line in lines)
            assert commands[0] not in pasted, f"{commands[0]!r} did not fix it"
            paste(commands[0], cwd=tmp_path)  # doctor's commands work from anywhere
            pasted.append(commands[0])
        checks = doctor(root)
        assert checks["versioning"]["verdict"] == "ok"
        assert checks["lifecycle"]["verdict"] == "ok", checks["lifecycle"]
        assert len(pasted) == 2 and shlex.split(pasted[0])[-1] == "init"
        assert shlex.split(pasted[1])[1:3] == ["lifecycle", "apply"]
        assert "--endpoint-url" in pasted[1]  # the drive's endpoint, or it would go to AWS
        assert target.versioning(bucket) == "Enabled"

    def test_doctor_on_a_suspended_bucket(self, target: Target, tmp_path: Path) -> None:
        bucket = target.bucket(versioning=True)
        root = target.drive(tmp_path / "drive", bucket)
        target.suspend(bucket)
        check = doctor(root)["versioning"]
        assert check["verdict"] == "fail" and check["command"].endswith("--reenable-versioning")
        paste(check["command"], cwd=tmp_path)
        assert target.versioning(bucket) == "Enabled"
        assert doctor(root)["versioning"]["verdict"] == "ok"


def checks_fix(checks: dict[str, dict[str, str]], command: str) -> str:
    check = next(c for c in checks.values() if c.get("command") == command)
    return f"{check['fix']}: {command}"


class TestOtherFixes:
    def test_the_next_steps_after_init(self, target: Target, tmp_path: Path) -> None:
        """init run from elsewhere: the commands it suggests name the drive's folder."""
        bucket = target.bucket(versioning=True)
        made = clouddrive(
            "init",
            "my drive",
            "--bucket",
            bucket,
            "--prefix",
            "team",
            "--endpoint-url",
            target.endpoint_url,
            cwd=tmp_path,
        )
        assert made.returncode == 0, made.stderr
        (tmp_path / "my drive" / "a.txt").write_text("a", encoding="utf-8")
        commands = [
            line.split(" with: ", 1)[1] for line in made.stdout.splitlines() if " with: " in line
        ]
        assert [shlex.split(c)[-1] for c in commands] == ["status", "sync"]
        assert "a.txt" in paste(commands[0], cwd=tmp_path).stdout
        assert "Done: 1 upload" in paste(commands[1], cwd=tmp_path).stdout

    def test_lifecycle_show_outside_a_drive(self, target: Target, tmp_path: Path) -> None:
        """`lifecycle show --bucket ...` with no rules names the apply command with the same
        flags (the endpoint included), and that command sets them."""
        bucket = target.bucket(versioning=True)
        flags = ["--bucket", bucket, "--prefix", "team", "--endpoint-url", target.endpoint_url]
        shown = clouddrive("lifecycle", "show", *flags, cwd=tmp_path)
        assert shown.returncode == 0, shown.stderr
        [line] = [line for line in shown.stdout.splitlines() if " with: " in line]
        command = line.rsplit(" with: ", 1)[1]
        paste(command, cwd=tmp_path)
        again = clouddrive("lifecycle", "show", *flags, "--json", cwd=tmp_path)
        assert json.loads(again.stdout)["clouddrive_rules"], again.stdout

    def test_import_s3synchrony_on_a_suspended_bucket(self, target: Target, tmp_path: Path) -> None:
        bucket = target.bucket(versioning=True)
        target.suspend(bucket)
        data = tmp_path / "Data"
        (data / ".S3").mkdir(parents=True)
        (data / "a.txt").write_text("a", encoding="utf-8")
        flags = ["--bucket", bucket, "--prefix", "proj", "--endpoint-url", target.endpoint_url]
        refused = clouddrive("import-s3synchrony", str(data), *flags, "--yes", cwd=tmp_path)
        assert refused.returncode == 1, refused.stderr
        assert target.versioning(bucket) == "Suspended"  # --yes alone does not turn it on
        paste(fix_of(refused.stderr), cwd=tmp_path)
        assert target.versioning(bucket) == "Enabled"
        again = clouddrive("import-s3synchrony", str(data), *flags, "--yes", cwd=tmp_path)
        assert again.returncode == 0, again.stderr

    @pytest.mark.parametrize("versioning", ["off", "suspended"])
    def test_lifecycle_show_on_an_unversioned_bucket(
        self, target: Target, tmp_path: Path, versioning: str
    ) -> None:
        bucket = target.bucket(versioning=versioning == "suspended")
        if versioning == "suspended":
            target.suspend(bucket)
        flags = ["--bucket", bucket, "--prefix", "team", "--endpoint-url", target.endpoint_url]
        refused = clouddrive("lifecycle", "show", *flags, cwd=tmp_path)
        assert refused.returncode == 1, refused.stderr
        paste(fix_of(refused.stderr), cwd=tmp_path)
        assert target.versioning(bucket) == "Enabled"
        again = clouddrive("lifecycle", "show", *flags, "--json", cwd=tmp_path)
        assert again.returncode == 0 and json.loads(again.stdout)["clouddrive_rules"]

    def test_a_damaged_state_database(self, target: Target, tmp_path: Path) -> None:
        bucket = target.bucket(versioning=True)
        root = target.drive(tmp_path / "my drive", bucket)
        (root / "a.txt").write_text("a", encoding="utf-8")
        assert clouddrive("sync", "--yes", cwd=root).returncode == 0
        (root / ".clouddrive" / "state.db").write_bytes(b"this is not SQLite" * 500)
        for name in ("state.db-wal", "state.db-shm"):
            (root / ".clouddrive" / name).unlink(missing_ok=True)
        refused = clouddrive("status", cwd=root)
        assert refused.returncode == 2, refused.stderr
        paste(fix_of(refused.stderr), cwd=tmp_path)
        assert clouddrive("status", cwd=root).returncode == 0
