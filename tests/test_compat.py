"""s3synchrony's call shapes on clouddrive's engine."""

from __future__ import annotations

from pathlib import Path

import pytest

import clouddrive
from clouddrive import errors
from tests.drivekit import Shared, tree, write


@pytest.fixture
def shared(seaweedfs, bucket) -> Shared:  # type: ignore[no-untyped-def]
    return Shared(seaweedfs.endpoint_url, bucket, prefix="prfx_path")


class TestS3SynchronyApi:
    def test_supported_platforms(self) -> None:
        """get_supported_platforms() lists S3, as s3synchrony's does."""
        assert clouddrive.get_supported_platforms() == ["S3"]

    def test_smart_sync_creates_the_drive_and_syncs(self, shared, tmp_path, monkeypatch) -> None:
        """smart_sync(platform, aws_bkt, aws_prfx, datafolder) syncs two data folders."""
        monkeypatch.chdir(tmp_path)
        write(tmp_path / "Data", "table.csv", "a,b\n1,2\n")
        kwargs = dict(
            aws_bkt=shared.bucket, aws_prfx=shared.prefix, endpoint_url=shared.endpoint_url
        )
        report = clouddrive.smart_sync(platform="S3", yes=True, **kwargs)
        assert [o.action.kind.value for o in report.done] == ["upload"]
        other = tmp_path / "colleague" / "Data"
        clouddrive.smart_sync("S3", datafolder=other, yes=True, **kwargs)
        assert tree(other) == {"table.csv": b"a,b\n1,2\n"}

    def test_reset_all_forgets_local_state_only(self, shared, tmp_path) -> None:
        """reset_all removes the sync state; S3 history stays."""
        data = tmp_path / "Data"
        write(data, "x.txt", "x")
        kwargs = dict(
            aws_bkt=shared.bucket, aws_prfx=shared.prefix, endpoint_url=shared.endpoint_url
        )
        clouddrive.smart_sync(datafolder=data, yes=True, **kwargs)
        assert clouddrive.reset_all(datafolder=data, yes=True, **kwargs) is True
        assert not (data / ".clouddrive/state.db").exists()
        assert shared.latest() == {"x.txt": b"x"}

    def test_reset_all_of_a_plain_folder_creates_nothing(self, tmp_path: Path) -> None:
        """Nothing to reset is an error, not a new drive."""
        with pytest.raises(errors.NotADrive):
            clouddrive.reset_all(aws_bkt="b", aws_prfx="p", datafolder=tmp_path, yes=True)
        assert list(tmp_path.iterdir()) == []

    def test_unknown_platform(self, tmp_path: Path) -> None:
        """Another platform name is a clear configuration error."""
        with pytest.raises(errors.ConfigError, match="not supported"):
            clouddrive.smart_sync(platform="GCS", aws_bkt="b", datafolder=tmp_path)
