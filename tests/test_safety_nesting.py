"""Drives never nest (issue 9, item 7): `init` refuses a prefix inside or above another
drive's, and a folder inside or holding another drive's folder; a `.clouddrive/` folder at
any depth is internal, never synced as user data."""

from __future__ import annotations

from pathlib import Path

import pytest

from clouddrive import errors
from clouddrive.core.paths import internal_owner, is_internal
from clouddrive.drive import Drive
from tests.drivekit import Shared, sync, tree, write


def init(shared: Shared, root: Path, prefix: str) -> Drive:
    return Drive.init(
        root, bucket=shared.bucket, prefix=prefix, endpoint_url=shared.endpoint_url, user="ann"
    )


class TestPrefixes:
    def test_prefix_inside_or_above_a_drive_is_refused(self, shared: Shared, tmp_path) -> None:
        init(shared, tmp_path / "outer", "team").close()  # never synced: its marker tells
        with pytest.raises(errors.ConfigError, match=f"s3://{shared.bucket}/team/"):
            init(shared, tmp_path / "inner", "team/sub")
        with pytest.raises(errors.ConfigError, match=f"s3://{shared.bucket}/team/"):
            init(shared, tmp_path / "root", "")
        assert not (tmp_path / "inner").exists() and not (tmp_path / "root").exists()
        init(shared, tmp_path / "beside", "other").close()
        init(shared, tmp_path / "again", "team").close()  # the same drive, another folder

    def test_run_records_alone_mark_a_drive(self, shared: Shared, tmp_path) -> None:
        shared.client().put_object(
            Bucket=shared.bucket, Key="team/deep/.clouddrive/runs/r.json", Body=b"{}"
        )
        with pytest.raises(errors.ConfigError, match=f"s3://{shared.bucket}/team/deep/"):
            init(shared, tmp_path / "outer", "team")


class TestFolders:
    def test_folder_inside_or_holding_a_drive_is_refused(self, shared: Shared, tmp_path) -> None:
        init(shared, tmp_path / "a", "team").close()
        with pytest.raises(errors.ConfigError, match="inside the drive folder"):
            init(shared, tmp_path / "a" / "sub", "other")
        with pytest.raises(errors.ConfigError, match="holds the drive folder"):
            init(shared, tmp_path, "other")
        assert not (tmp_path / "a" / "sub").exists()


class TestInternalAtAnyDepth:
    def test_paths(self) -> None:
        assert is_internal("x/.clouddrive/state.db")
        assert is_internal("x/y/.CloudDrive/runs/r.json")
        assert is_internal(".S3/x") and not is_internal("x/.S3/y")
        assert not is_internal("x/clouddrive/y")
        assert internal_owner("x/y/.clouddrive/runs/r.json") == "x/y"
        assert internal_owner(".clouddrive/drive.json") == ""
        assert internal_owner("x/y") is None

    def test_nested_state_is_neither_uploaded_nor_downloaded(self, two, shared: Shared) -> None:
        ann, bob = two
        write(ann.root, "doc.txt", "doc")
        write(ann.root, "inner/.clouddrive/state.db", "someone's sync state")
        write(ann.root, "inner/.clouddrive/config.toml", "bucket = 'x'")
        shared.client().put_object(
            Bucket=shared.bucket, Key="team/else/.clouddrive/runs/r.json", Body=b"{}"
        )
        sync(ann)
        listed = shared.client().list_objects_v2(Bucket=shared.bucket, Prefix="team/")
        keys = {item["Key"] for item in listed.get("Contents", [])}
        assert not [k for k in keys if k.startswith("team/inner/")]
        assert "team/doc.txt" in keys
        sync(bob)
        assert tree(bob.root) == {"doc.txt": b"doc"}
