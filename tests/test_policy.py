"""The IAM policies for a drive: valid for IAM (moto), least privilege, history never destroyed."""

from __future__ import annotations

import json
import uuid
from typing import Any

import boto3
import pytest

from clouddrive.admin.policy import owner_policy, user_policy
from clouddrive.cli.main import main
from tests.drivekit import Shared
from tests.servers import TEST_REGION


def allowed(doc: dict[str, Any]) -> set[str]:
    return {a for s in doc["Statement"] if s["Effect"] == "Allow" for a in s["Action"]}


def denied(doc: dict[str, Any]) -> set[str]:
    return {a for s in doc["Statement"] if s["Effect"] == "Deny" for a in s["Action"]}


@pytest.fixture
def iam(moto_server):  # type: ignore[no-untyped-def]
    return boto3.client("iam", endpoint_url=moto_server.endpoint_url, region_name=TEST_REGION)


class TestUserPolicy:
    def test_moto_iam_accepts_it(self, iam) -> None:
        """IAM validates and stores the user policy as written (prefixed and whole-bucket)."""
        for prefix in ("team/docs", ""):
            doc = user_policy("my-bucket", prefix)
            name = f"clouddrive-user-{uuid.uuid4().hex[:8]}"
            arn = iam.create_policy(PolicyName=name, PolicyDocument=json.dumps(doc))["Policy"][
                "Arn"
            ]
            stored = iam.get_policy_version(PolicyArn=arn, VersionId="v1")["PolicyVersion"]
            assert stored["Document"] == doc or json.loads(stored["Document"]) == doc

    def test_moto_iam_rejects_a_broken_document(self, iam) -> None:
        """The check above means something: IAM refuses a malformed policy."""
        broken = {"Version": "2012-10-17", "Statement": [{"Effect": "Maybe", "Action": "s3:*"}]}
        with pytest.raises(iam.exceptions.MalformedPolicyDocumentException):
            iam.create_policy(PolicyName="broken", PolicyDocument=json.dumps(broken))

    def test_sync_and_restore_are_allowed_on_the_prefix_only(self) -> None:
        """Objects under PREFIX/ can be read (any version), written and delete-marked."""
        doc = user_policy("b", "team/docs")
        assert {"s3:GetObject", "s3:GetObjectVersion", "s3:PutObject", "s3:DeleteObject"} <= (
            allowed(doc)
        )
        resources = {
            s["Resource"] for s in doc["Statement"] if "s3:PutObject" in s.get("Action", [])
        }
        assert resources == {"arn:aws:s3:::b/team/docs/*"}
        listing = next(s for s in doc["Statement"] if "s3:ListBucketVersions" in s["Action"])
        assert listing["Condition"] == {"StringLike": {"s3:prefix": ["team/docs/*"]}}

    def test_history_cannot_be_destroyed(self) -> None:
        """No version deletes, no lifecycle or versioning changes; denied explicitly too."""
        doc = user_policy("b", "p")
        never = {"s3:DeleteObjectVersion", "s3:PutLifecycleConfiguration", "s3:PutBucketVersioning"}
        assert not never & allowed(doc)
        assert never <= denied(doc)
        assert not any("*" in a for a in allowed(doc))

    def test_whole_bucket_drive_has_no_prefix_condition(self) -> None:
        """A drive at the bucket's root lists and writes the whole bucket."""
        doc = user_policy("b", "")
        listing = next(s for s in doc["Statement"] if "s3:ListBucketVersions" in s["Action"])
        assert "Condition" not in listing
        assert "arn:aws:s3:::b/*" in {
            s["Resource"] for s in doc["Statement"] if s["Effect"] == "Allow"
        }


class TestOwnerPolicy:
    def test_moto_iam_accepts_it(self, iam) -> None:
        """The owner's policy is valid IAM too."""
        doc = owner_policy("my-bucket")
        iam.create_policy(
            PolicyName=f"owner-{uuid.uuid4().hex[:8]}", PolicyDocument=json.dumps(doc)
        )

    def test_it_allows_what_the_setup_script_does(self) -> None:
        """Read and write lifecycle rules and versioning, and nothing on objects."""
        doc = owner_policy("b")
        assert {
            "s3:GetLifecycleConfiguration",
            "s3:PutLifecycleConfiguration",
            "s3:GetBucketVersioning",
            "s3:PutBucketVersioning",
        } <= allowed(doc)
        assert not any("Object" in a for a in allowed(doc))


def test_wildcards_in_a_prefix_are_matched_as_written() -> None:
    """A prefix `team-*` must not grant `team-anything/`: IAM reads `*` and `?` as wildcards
    unless written as the policy variables `${*}` and `${?}`."""
    doc = user_policy("b", "team-*?/$x")
    [listing, _, objects, _] = doc["Statement"]
    assert objects["Resource"] == "arn:aws:s3:::b/team-${*}${?}/${$}x/*"
    assert listing["Condition"] == {"StringLike": {"s3:prefix": ["team-${*}${?}/${$}x/*"]}}
    assert doc["Version"] == "2012-10-17"  # policy variables need it


class TestPolicyCommand:
    def test_prints_the_drives_user_policy(self, seaweedfs, bucket, tmp_path, capsys) -> None:
        """`clouddrive lifecycle policy` in a drive prints its user policy as JSON."""
        Shared(seaweedfs.endpoint_url, bucket).drive(tmp_path / "d", "ann")
        assert main(["--root", str(tmp_path / "d"), "lifecycle", "policy"]) == 0
        assert json.loads(capsys.readouterr().out) == user_policy(bucket, "team")

    def test_owner_policy_for_a_bucket_without_a_drive(self, capsys) -> None:
        """--bucket works anywhere; --owner prints the owner's policy."""
        assert main(["lifecycle", "policy", "--bucket", "b", "--owner"]) == 0
        assert json.loads(capsys.readouterr().out) == owner_policy("b")
