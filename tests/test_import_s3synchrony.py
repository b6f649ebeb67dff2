"""`clouddrive import-s3synchrony`: an s3synchrony-shaped folder and prefix, built here on
SeaweedFS the way s3synchrony leaves them, become a drive whose first sync moves nothing for
files already in place."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from clouddrive.cli.main import main
from clouddrive.core.models import ActionKind
from clouddrive.drive import Drive
from clouddrive.embedded.launch import ServerInfo
from tests.drivekit import Shared, tree
from tests.servers import create_bucket, s3_client

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
AWS_TXT = f"[team-role]\naws_access_key_id=AKIAEXAMPLE\naws_secret_access_key={SECRET}\n"
IN_PLACE = {"a.csv": b"n,sq\n1,1\n2,4\n", "sub/b.txt": b"bravo"}
CSV_HEADER = "File,Edited By,Time Edited,Checksum\n"


def _s3synchrony_fixture(tmp_path: Path, endpoint: str, bucket: str) -> Path:
    """A project folder with a script that calls smart_sync, its Data folder with .S3/, and
    the prefix on S3 as s3synchrony's plain uploads leave it."""
    project = tmp_path / "project"
    data = project / "Data"
    files = {
        **IN_PLACE,
        "differs.txt": b"local edit",
        "only-local.txt": b"new here",
        "scratch [tmp].log": b"ignored",
    }
    for rel, body in files.items():
        (data / rel).parent.mkdir(parents=True, exist_ok=True)
        (data / rel).write_bytes(body)
    meta = data / ".S3"
    (meta / "tmp").mkdir(parents=True)
    (meta / "logs").mkdir()
    for name in ("versions.csv", "versionsLocal.csv", "deletedS3.csv", "deletedLocal.csv"):
        (meta / name).write_text(CSV_HEADER)
    (meta / "user_name.txt").write_text("Sevan")
    (meta / "ignores3.txt").write_text("scratch [tmp].log\n")
    (meta / "aws.txt").write_text(AWS_TXT)
    (project / "sync_data.py").write_text(
        "import s3synchrony as s3s\n"
        f's3s.smart_sync(platform="S3", aws_bkt="{bucket}", aws_prfx="proj")\n'
    )
    client = s3_client(endpoint)
    remote = {**IN_PLACE, "differs.txt": b"their edit", "only-remote.txt": b"from S3"}
    for rel, body in remote.items():
        client.put_object(Bucket=bucket, Key=f"proj/{rel}", Body=body)
    client.put_object(Bucket=bucket, Key="proj/.S3/versions.csv", Body=CSV_HEADER.encode())
    client.put_object(Bucket=bucket, Key="proj/.S3/deletedS3.csv", Body=CSV_HEADER.encode())
    client.put_object(Bucket=bucket, Key="proj/.S3/deleted/old.txt", Body=b"old")
    return data


def _remote_s3_dir(shared: Shared) -> dict[str, int]:
    """Every version (and marker) under the remote .S3/: key -> how many entries."""
    resp = shared.client().list_object_versions(Bucket=shared.bucket, Prefix="proj/.S3/")
    found: dict[str, int] = {}
    for item in [*resp.get("Versions", []), *resp.get("DeleteMarkers", [])]:
        found[item["Key"]] = found.get(item["Key"], 0) + 1
    return found


def test_import_then_first_sync_moves_nothing_for_files_in_place(
    seaweedfs: ServerInfo, bucket: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = _s3synchrony_fixture(tmp_path, seaweedfs.endpoint_url, bucket)
    shared = Shared(seaweedfs.endpoint_url, bucket, prefix="proj")
    s3_before = _remote_s3_dir(shared)

    code = main(["import-s3synchrony", str(data), "--endpoint-url", seaweedfs.endpoint_url])
    printed = " ".join(capsys.readouterr().out.split())
    assert code == 0, printed
    assert "2 file(s) already identical" in printed
    assert "sync_data.py" in printed  # where the bucket came from
    assert "--delete-aws-txt" in printed and "aws configure --profile team-role" in printed

    drive = Drive.open(data)
    assert (drive.config.bucket, drive.config.prefix, drive.user) == (bucket, "proj", "Sevan")
    assert (data / ".clouddriveignore").read_text().splitlines()[-1] == "/scratch \\[tmp\\].log"
    assert (data / ".S3" / "aws.txt").read_text() == AWS_TXT  # left alone without consent
    for path in (data / ".clouddrive").rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path

    report = drive.sync()
    kinds = {o.action.path: o.action.kind for o in report.outcomes}
    assert kinds["a.csv"] is ActionKind.RECORD and kinds["sub/b.txt"] is ActionKind.RECORD
    assert kinds["only-local.txt"] is ActionKind.UPLOAD
    assert kinds["only-remote.txt"] is ActionKind.DOWNLOAD
    assert kinds["differs.txt"] is ActionKind.CONFLICT
    moved = {o.action.path for o in report.outcomes if o.bytes_moved}
    assert not moved & set(IN_PLACE), "files in place were transferred"
    assert "scratch [tmp].log" not in kinds
    for rel in IN_PLACE:
        assert len(shared.versions(rel)) == 1  # no new version written
    assert _remote_s3_dir(shared) == s3_before  # s3synchrony's remote folder is untouched
    assert (data / ".S3" / "versions.csv").read_text() == CSV_HEADER
    assert drive.sync().plan.is_empty
    files = tree(data)
    assert files["only-remote.txt"] == b"from S3" and files["differs.txt"] == b"their edit"
    drive.close()


def test_import_deletes_aws_txt_only_when_asked(
    seaweedfs: ServerInfo, bucket: str, tmp_path: Path
) -> None:
    data = _s3synchrony_fixture(tmp_path, seaweedfs.endpoint_url, bucket)
    args = ["import-s3synchrony", str(data), "--endpoint-url", seaweedfs.endpoint_url]
    assert main([*args, "--bucket", bucket, "--prefix", "proj", "--delete-aws-txt"]) == 0
    assert not (data / ".S3" / "aws.txt").exists()
    assert (data / ".S3" / "user_name.txt").exists()  # the rest of .S3/ stays


def test_import_refuses_unversioned_bucket_without_consent_and_writes_nothing(
    seaweedfs: ServerInfo, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bucket = create_bucket(seaweedfs, versioning=False)
    data = _s3synchrony_fixture(tmp_path, seaweedfs.endpoint_url, bucket)
    args = ["import-s3synchrony", str(data), "--endpoint-url", seaweedfs.endpoint_url]
    assert main(args) == 1
    assert not (data / ".clouddrive").exists() and not (data / ".clouddriveignore").exists()
    capsys.readouterr()
    assert main([*args, "--yes"]) == 0  # consent: versioning is turned on
    client = s3_client(seaweedfs.endpoint_url)
    assert client.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"


def test_import_without_a_bucket_says_which_flags_to_give(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "Data"
    (data / ".S3").mkdir(parents=True)
    assert main(["import-s3synchrony", str(data)]) == 1
    assert "give the aws_bkt and aws_prfx of your smart_sync call" in capsys.readouterr().err
    assert main(["import-s3synchrony", str(tmp_path)]) == 1
    assert "not an s3synchrony data folder" in capsys.readouterr().err


def test_large_files_uploaded_in_parts_are_adopted_not_conflicted(
    seaweedfs: ServerInfo, bucket: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """s3synchrony uploads with boto3's upload_file: over 8 MiB, in parts, with an ETag that
    is not the file's MD5. Identical ones must still be adopted, not become conflicts."""
    data = _s3synchrony_fixture(tmp_path, seaweedfs.endpoint_url, bucket)
    big = os.urandom(9 * 1024 * 1024 + 123)
    (data / "big.bin").write_bytes(big)
    client = s3_client(seaweedfs.endpoint_url)
    client.upload_file(str(data / "big.bin"), bucket, "proj/big.bin")  # boto3's defaults
    etag = client.head_object(Bucket=bucket, Key="proj/big.bin")["ETag"]
    assert etag.strip('"').endswith("-2")  # really a multipart upload

    code = main(["import-s3synchrony", str(data), "--endpoint-url", seaweedfs.endpoint_url])
    assert code == 0
    printed = " ".join(capsys.readouterr().out.split())
    # a.csv, sub/b.txt by their MD5 ETags; big.bin by its parts' ETag, recomputed here
    assert "3 file(s) already identical" in printed, printed
    with Drive.open(data) as drive:
        report = drive.sync()
        kinds = {o.action.path: o.action.kind for o in report.outcomes}
        assert kinds["big.bin"] is ActionKind.RECORD  # agreed: recorded, nothing moved
        assert not any("big" in p and "conflict" in p for p in tree(data))
    assert len(Shared(seaweedfs.endpoint_url, bucket, prefix="proj").versions("big.bin")) == 1
