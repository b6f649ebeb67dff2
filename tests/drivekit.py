"""Helpers for engine tests: drives on a shared prefix, trees, and what S3 holds."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3

from clouddrive.drive import Drive
from clouddrive.ledger import CRT_BEFORE_CALL, RetryPolicy, S3Remote
from clouddrive.local.config import DriveConfig
from clouddrive.local.scanner import FsTraits
from clouddrive.sync.report import SyncReport

FAST_RETRY = RetryPolicy(attempts=3, initial=0.05, maximum=0.2)


@dataclass
class Shared:
    """One prefix on one server that several drives share."""

    endpoint_url: str
    bucket: str
    prefix: str = "team"

    def client(self) -> Any:
        return boto3.client("s3", endpoint_url=self.endpoint_url, region_name="us-east-1")

    def drive(self, root: Path, user: str, **config: Any) -> Drive:
        root.mkdir(parents=True, exist_ok=True)
        cfg = DriveConfig(
            bucket=self.bucket,
            prefix=self.prefix,
            endpoint_url=self.endpoint_url,
            user=user,
            workers=4,
            **config,
        )
        cfg.save(root)
        return Drive(root, cfg, retry=FAST_RETRY, fs_traits=FsTraits())

    def versions(self, path: str) -> list[dict[str, Any]]:
        """Every version and delete marker of a path, newest first."""
        key = f"{self.prefix}/{path}"
        resp = self.client().list_object_versions(Bucket=self.bucket, Prefix=key)
        items = [
            {**v, "IsDeleteMarker": False} for v in resp.get("Versions", []) if v["Key"] == key
        ] + [
            {**m, "IsDeleteMarker": True} for m in resp.get("DeleteMarkers", []) if m["Key"] == key
        ]
        return sorted(items, key=lambda i: (i["LastModified"], i["IsLatest"]), reverse=True)

    def contents(self, path: str) -> tuple[bytes | None, list[bytes | None]]:
        """A key's newest entry (bytes, or None for a delete marker), and the others (in no
        particular order: S3 stamps entries to the second, so ties cannot be ordered)."""
        client = self.client()
        found: list[bytes | None] = []
        for item in self.versions(path):
            if item["IsDeleteMarker"]:
                found.append(None)
            else:
                body = client.get_object(
                    Bucket=self.bucket, Key=item["Key"], VersionId=item["VersionId"]
                )
                found.append(body["Body"].read())
        return found[0], sorted(found[1:], key=repr)

    def all_contents(self) -> set[bytes]:
        """Every content any version under the prefix ever held."""
        client = self.client()
        found: set[bytes] = set()
        pages = client.get_paginator("list_object_versions").paginate(
            Bucket=self.bucket, Prefix=f"{self.prefix}/"
        )
        for page in pages:
            for v in page.get("Versions", []):
                if "/.clouddrive/" in v["Key"]:
                    continue
                body = client.get_object(Bucket=self.bucket, Key=v["Key"], VersionId=v["VersionId"])
                found.add(body["Body"].read())
        return found

    def latest(self) -> dict[str, bytes]:
        """path -> content of every key whose newest entry is an object."""
        client = self.client()
        result: dict[str, bytes] = {}
        pages = client.get_paginator("list_object_versions").paginate(
            Bucket=self.bucket, Prefix=f"{self.prefix}/"
        )
        for page in pages:
            for v in page.get("Versions", []):
                if v["IsLatest"] and "/.clouddrive/" not in v["Key"]:
                    body = client.get_object(
                        Bucket=self.bucket, Key=v["Key"], VersionId=v["VersionId"]
                    )
                    result[v["Key"][len(self.prefix) + 1 :]] = body["Body"].read()
        return result


def tree(root: Path) -> dict[str, bytes]:
    """path -> content of every file under root, minus clouddrive's own folder."""
    result: dict[str, bytes] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if not (Path(dirpath) == root and d == ".clouddrive")]
        for name in filenames:
            full = Path(dirpath) / name
            result[full.relative_to(root).as_posix()] = full.read_bytes()
    return result


def write(root: Path, path: str, content: str | bytes) -> None:
    target = root / path
    target.parent.mkdir(parents=True, exist_ok=True)
    data = content.encode() if isinstance(content, str) else content
    # Move mtime forward explicitly: two writes within one clock tick must still look changed.
    before = target.stat().st_mtime_ns if target.exists() else 0
    target.write_bytes(data)
    st = target.stat()
    if st.st_mtime_ns <= before:
        os.utime(target, ns=(st.st_atime_ns, before + 1_000_000))


def sync(drive: Drive, **kwargs: Any) -> SyncReport:
    report = drive.sync(**kwargs)
    assert not report.failed, [(o.action.path, o.error) for o in report.failed]
    return report


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def conflict_copies(files: dict[str, bytes]) -> dict[str, bytes]:
    return {p: c for p, c in files.items() if "(conflict " in p}


def count_requests(remote: S3Remote, operation: str) -> dict[str, int]:
    """Count `operation` requests (`GetObject`, ...) from now on, whichever client carries
    them: botocore's (`before-send`) or the CRT's (`CRT_BEFORE_CALL`)."""
    calls = {"n": 0}

    def hook(**_: Any) -> None:
        calls["n"] += 1

    events = remote.client.meta.events
    events.register(f"before-send.s3.{operation}", hook)
    events.register(f"{CRT_BEFORE_CALL}.{operation}", hook)
    return calls
