"""`clouddrive doctor`: passes on a right drive, names the exact problem and its fix otherwise."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse

from clouddrive.admin import doctor
from clouddrive.admin.checks import DoctorReport, Verdict, clock_check
from clouddrive.admin.rules import LifecycleSettings, build_rules
from clouddrive.cli.main import main
from clouddrive.drive import Drive
from clouddrive.ledger import RetryPolicy, connect
from clouddrive.local.config import DriveConfig
from clouddrive.local.scanner import FsTraits
from tests.authkit import READER
from tests.servers import s3_client

FAST = RetryPolicy(attempts=2, initial=0.01, maximum=0.05)
REQUIRED = ("credentials", "bucket", "versioning", "conditional-writes", "permissions")


def make_drive(root: Path, endpoint: str, bucket: str, prefix: str = "team") -> Drive:
    """A drive on `bucket` (config saved, so the CLI finds it too)."""
    root.mkdir(parents=True, exist_ok=True)
    cfg = DriveConfig(bucket=bucket, prefix=prefix, endpoint_url=endpoint, user="ann")
    cfg.save(root)
    return Drive(root, cfg, retry=FAST, fs_traits=FsTraits())


def with_remote(drive: Drive) -> Drive:
    """The same drive with its remote made here, so a test can hook into its requests."""
    cfg = drive.config
    remote = connect(cfg.bucket, cfg.prefix, endpoint_url=cfg.endpoint_url, retry=FAST)
    return Drive(drive.root, cfg, remote=remote, fs_traits=FsTraits())


def probe_versions(endpoint: str, bucket: str) -> list[dict[str, Any]]:
    resp = s3_client(endpoint).list_object_versions(Bucket=bucket, Prefix="team/.clouddrive/")
    return [*resp.get("Versions", []), *resp.get("DeleteMarkers", [])]


def verdicts(report: DoctorReport) -> dict[str, str]:
    return {c.name: c.verdict.value for c in report.checks}


class TestHealthyDrive:
    def test_passes_and_explains_the_lifecycle(self, s3_backend, make_bucket, tmp_path, capsys):
        """A right drive: exit 0, every check ok, lifecycle in words, the probe cleaned up."""
        bucket = make_bucket(s3_backend)
        s3_client(s3_backend.endpoint_url).put_bucket_lifecycle_configuration(
            Bucket=bucket,
            LifecycleConfiguration={
                "Rules": build_rules("team", LifecycleSettings(keep_versions=0))
            },
        )
        make_drive(tmp_path / "d", s3_backend.endpoint_url, bucket)
        assert main(["--root", str(tmp_path / "d"), "doctor", "--json"]) == 0
        report = json.loads(capsys.readouterr().out)
        assert report["ok"] is True
        assert {c["name"]: c["verdict"] for c in report["checks"]} == {
            name: "ok" for name in (*REQUIRED, "lifecycle", "clock")
        }
        lifecycle = next(c for c in report["checks"] if c["name"] == "lifecycle")
        assert lifecycle["detail"].startswith("deleted files recoverable for 30 days")
        assert probe_versions(s3_backend.endpoint_url, bucket) == []

    def test_human_output_is_one_line_per_check(self, seaweedfs, bucket, tmp_path, capsys):
        """Without --json: a line per check with its verdict; no lifecycle rules is a warning."""
        make_drive(tmp_path / "d", seaweedfs.endpoint_url, bucket)
        assert main(["--root", str(tmp_path / "d"), "doctor"]) == 0
        lines = capsys.readouterr().out.splitlines()
        assert lines[1].startswith("ok   credentials: found in environment variables")
        warn = next(line for line in lines if line.startswith("warn lifecycle:"))
        assert "history grows forever" in warn and "fix:" in warn
        assert "clouddrive lifecycle apply --bucket" in warn
        assert lines[-1] == "Sync can run; see the warnings above."


class TestNamedProblems:
    def test_versioning_off(self, s3_backend, make_bucket, tmp_path, capsys) -> None:
        """Versioning never enabled: versioning fails with the command that fixes it; exit 1."""
        bucket = make_bucket(s3_backend, versioning=False)
        make_drive(tmp_path / "d", s3_backend.endpoint_url, bucket)
        assert main(["--root", str(tmp_path / "d"), "doctor", "--json"]) == 1
        report = json.loads(capsys.readouterr().out)
        failed = [c for c in report["checks"] if c["verdict"] == "fail"]
        assert [c["name"] for c in failed] == ["versioning"]
        assert failed[0]["detail"].startswith(f"off on bucket '{bucket}'")
        root = tmp_path / "d"
        assert failed[0]["command"] == f"clouddrive --root {root} init"

    def test_suspended_versioning(self, seaweedfs, bucket, tmp_path) -> None:
        """Suspended versioning is named as such."""
        s3_client(seaweedfs.endpoint_url).put_bucket_versioning(
            Bucket=bucket, VersioningConfiguration={"Status": "Suspended"}
        )
        report = doctor.run(make_drive(tmp_path / "d", seaweedfs.endpoint_url, bucket))
        check = report.check("versioning")
        assert check.verdict is Verdict.FAIL and check.detail.startswith("suspended")
        assert "re-enable it deliberately" in check.fix
        assert check.command.endswith(" init --reenable-versioning")

    def test_wrong_credentials(self, auth_server, tmp_path, capsys) -> None:
        """A server that checks keys refuses the session's keys: the credentials line says so."""
        bucket = auth_server.create_bucket(f"wc-{uuid.uuid4().hex[:8]}")
        make_drive(tmp_path / "d", auth_server.endpoint_url, bucket)
        assert main(["--root", str(tmp_path / "d"), "doctor", "--json"]) == 1
        report = json.loads(capsys.readouterr().out)
        creds = report["checks"][0]
        assert creds["name"] == "credentials" and creds["verdict"] == "fail"
        assert "environment variables" in creds["detail"] and "rejected" in creds["detail"]
        assert "InvalidAccessKeyId" in creds["detail"]
        assert "check the access key and secret" in creds["fix"]
        assert all(c["verdict"] == "skip" for c in report["checks"][1:])

    def test_missing_credentials(self, seaweedfs, bucket, tmp_path, monkeypatch) -> None:
        """No credentials anywhere: the first line fails with where to put them."""
        monkeypatch.delenv("AWS_ACCESS_KEY_ID")
        monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
        report = doctor.run(make_drive(tmp_path / "d", seaweedfs.endpoint_url, bucket))
        creds = report.check("credentials")
        assert creds.verdict is Verdict.FAIL and creds.detail == "no AWS credentials found"
        assert "AWS_ACCESS_KEY_ID" in creds.fix and not report.ok

    def test_missing_bucket(self, s3_backend, tmp_path) -> None:
        """A bucket that does not exist: the bucket line names it; later checks are skipped."""
        name = f"no-such-{uuid.uuid4().hex[:8]}"
        report = doctor.run(make_drive(tmp_path / "d", s3_backend.endpoint_url, name))
        assert verdicts(report)["credentials"] == "ok"
        check = report.check("bucket")
        assert check.verdict is Verdict.FAIL
        assert check.detail == f"bucket '{name}' does not exist at {s3_backend.endpoint_url}"
        assert "create the bucket" in check.fix
        assert verdicts(report)["versioning"] == "skip" and not report.ok

    def test_server_ignoring_conditional_writes(
        self, seaweedfs, bucket, tmp_path, monkeypatch, capsys
    ) -> None:
        """Conditions stripped from every PUT (a server that ignores them): named, exit 1."""
        drive = with_remote(make_drive(tmp_path / "d", seaweedfs.endpoint_url, bucket))

        def strip(request: Any, **_: Any) -> None:
            for header in ("If-None-Match", "If-Match"):
                if header in request.headers:
                    del request.headers[header]

        drive.remote.crt = None  # the server is faked by a botocore hook: botocore sends
        drive.remote.client.meta.events.register("before-sign.s3.PutObject", strip)
        monkeypatch.setattr("clouddrive.cli.doctor.open_drive", lambda args: drive)
        assert main(["doctor", "--json"]) == 1
        report = json.loads(capsys.readouterr().out)
        check = next(c for c in report["checks"] if c["name"] == "conditional-writes")
        assert check["verdict"] == "fail"
        assert "If-None-Match: * was ignored" in check["detail"]
        assert "If-Match was ignored" in check["detail"]
        assert "conflict copy" in check["fix"]
        assert [c["name"] for c in report["checks"] if c["verdict"] == "fail"] == [
            "conditional-writes"
        ]
        assert probe_versions(seaweedfs.endpoint_url, bucket) == []

    def test_read_only_identity_lacks_put(self, auth_server, tmp_path, monkeypatch) -> None:
        """A user who may only read: permissions fail naming s3:PutObject; no probe is left."""
        bucket = auth_server.create_bucket(f"ro-{uuid.uuid4().hex[:8]}")
        READER.use(monkeypatch)
        report = doctor.run(make_drive(tmp_path / "d", auth_server.endpoint_url, bucket))
        assert verdicts(report)["credentials"] == verdicts(report)["bucket"] == "ok"
        perms = report.check("permissions")
        assert perms.verdict is Verdict.FAIL and "put denied (s3:PutObject)" in perms.detail
        assert "list versions ok" in perms.detail and "clouddrive lifecycle policy" in perms.fix
        assert verdicts(report)["conditional-writes"] == "skip"
        assert [c.name for c in report.failed] == ["permissions"]


class TestProbeCleanup:
    def test_no_version_deletes_leaves_a_marker_and_says_so(self, seaweedfs, bucket, tmp_path):
        """Without s3:DeleteObjectVersion (the user policy) the probe ends as a delete marker."""
        drive = with_remote(make_drive(tmp_path / "d", seaweedfs.endpoint_url, bucket))
        body = b"<Error><Code>AccessDenied</Code><Message>no</Message></Error>"

        class Raw:
            def stream(self, **_: Any) -> Any:
                yield body

        def deny_version_deletes(request: Any, **_: Any) -> AWSResponse | None:
            if request.method == "DELETE" and "versionId=" in request.url:
                return AWSResponse(request.url, 403, {}, Raw())
            return None

        drive.remote.client.meta.events.register(
            "before-send.s3.DeleteObject", deny_version_deletes
        )
        report = doctor.run(drive)
        perms = report.check("permissions")
        assert (
            perms.verdict is Verdict.OK
            and "probe versions left under team/.clouddrive/doctor/" in (perms.detail)
        )
        left = probe_versions(seaweedfs.endpoint_url, bucket)
        assert left and any(v.get("IsLatest") and "Size" not in v for v in left)  # a marker
        assert report.ok


class TestClock:
    @pytest.mark.parametrize(
        ("skew", "verdict", "required"),
        [(0.4, "ok", True), (-90.0, "warn", False), (1200.0, "fail", True), (None, "skip", False)],
    )
    def test_verdicts(self, skew: float | None, verdict: str, required: bool) -> None:
        """Under a minute is fine, over a minute a warning, over 15 minutes a failure."""
        check = clock_check(skew)
        assert (check.verdict.value, check.required) == (verdict, required)

    def test_direction_is_named(self) -> None:
        """The detail says whether this machine is behind or ahead."""
        assert "1200 s behind the server's" in clock_check(1200.0).detail
        assert "90 s ahead of the server's" in clock_check(-90.0).detail
        assert "NTP" in clock_check(1200.0).fix
