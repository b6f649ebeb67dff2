"""Least-privilege IAM policies for a drive's prefix: one for its users, one for the owner.

Pure: builds the policy documents (dicts ready for `json.dumps`, and for
`aws iam create-policy --policy-document`).

- The **user** policy lets someone sync, browse history and restore under `PREFIX/`: list
  versions of the prefix, read any version, put objects (uploads, copies that restore an old
  version, run records) and put delete markers. It cannot destroy history: no
  `s3:DeleteObjectVersion` (and an explicit Deny of it, so a broader grant elsewhere cannot
  add it back), no lifecycle or versioning changes, no bucket policy changes or bucket
  deletion. Reading the bucket's versioning and lifecycle rules is allowed (clouddrive's
  guard and "recoverable until").
- The **owner** policy is what `scripts/setup_lifecycle.py` needs: read and write the
  bucket's lifecycle configuration and versioning. S3 scopes these to the whole bucket, not
  a prefix; the script itself only ever changes clouddrive's own rules.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "OWNER_ACTIONS",
    "USER_DENIED_ACTIONS",
    "USER_OBJECT_ACTIONS",
    "owner_policy",
    "user_policy",
]

VERSION = "2012-10-17"

#: On the objects under PREFIX/: sync, history, restore.
USER_OBJECT_ACTIONS = (
    "s3:GetObject",
    "s3:GetObjectVersion",
    "s3:PutObject",
    "s3:DeleteObject",  # without a version id: a delete marker, nothing is destroyed
    "s3:AbortMultipartUpload",
)
#: On the bucket, read only: the versioning guard and what the lifecycle rules mean.
USER_BUCKET_READ_ACTIONS = (
    "s3:GetBucketVersioning",
    "s3:GetLifecycleConfiguration",
    "s3:GetBucketLocation",
)
#: What would let a user destroy history or change what the bucket keeps.
USER_DENIED_ACTIONS = (
    "s3:DeleteObjectVersion",
    "s3:PutLifecycleConfiguration",
    "s3:PutBucketVersioning",
    "s3:DeleteBucket",
    "s3:PutBucketPolicy",
    "s3:DeleteBucketPolicy",
)
#: What the setup script needs (and what `lifecycle show` reads).
OWNER_ACTIONS = (
    "s3:ListBucket",
    "s3:GetBucketLocation",
    "s3:GetBucketVersioning",
    "s3:PutBucketVersioning",
    "s3:GetLifecycleConfiguration",
    "s3:PutLifecycleConfiguration",
)


#: IAM reads `*` and `?` in a resource or a `StringLike` value as wildcards; these policy
#: variables stand for the characters themselves (and `${$}` for a `$` that could start one)
_LITERAL = {"*": "${*}", "?": "${?}", "$": "${$}"}


def _literal(text: str) -> str:
    """`text` matched as written in an ARN or a `StringLike` condition: a prefix `team-*`
    must not grant `team-anything`."""
    return "".join(_LITERAL.get(c, c) for c in text)


def _bucket_arn(bucket: str) -> str:
    return f"arn:aws:s3:::{bucket}"


def user_policy(bucket: str, prefix: str) -> dict[str, Any]:
    """A drive user's policy: sync and restore under `prefix`, never destroy history."""
    bucket_arn = _bucket_arn(bucket)
    prefix = _literal(prefix)
    objects_arn = f"{bucket_arn}/{prefix}/*" if prefix else f"{bucket_arn}/*"
    listing: dict[str, Any] = {
        "Sid": "ListTheDrive",
        "Effect": "Allow",
        "Action": ["s3:ListBucket", "s3:ListBucketVersions"],
        "Resource": bucket_arn,
    }
    if prefix:
        listing["Condition"] = {"StringLike": {"s3:prefix": [f"{prefix}/*"]}}
    return {
        "Version": VERSION,
        "Statement": [
            listing,
            {
                "Sid": "ReadBucketSettings",
                "Effect": "Allow",
                "Action": list(USER_BUCKET_READ_ACTIONS),
                "Resource": bucket_arn,
            },
            {
                "Sid": "SyncAndRestore",
                "Effect": "Allow",
                "Action": list(USER_OBJECT_ACTIONS),
                "Resource": objects_arn,
            },
            {
                "Sid": "NeverDestroyHistory",
                "Effect": "Deny",
                "Action": list(USER_DENIED_ACTIONS),
                "Resource": [bucket_arn, f"{bucket_arn}/*"],
            },
        ],
    }


def owner_policy(bucket: str) -> dict[str, Any]:
    """The bucket owner's policy for the setup script: lifecycle rules and versioning."""
    return {
        "Version": VERSION,
        "Statement": [
            {
                "Sid": "ManageRetention",
                "Effect": "Allow",
                "Action": list(OWNER_ACTIONS),
                "Resource": _bucket_arn(bucket),
            }
        ],
    }
