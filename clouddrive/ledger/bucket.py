"""The bucket around the prefix: versioning, lifecycle configuration, doctor's probes and
the server's clock (administration, not the ledger itself)."""

from __future__ import annotations

import contextlib
import functools
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import botocore.exceptions as bexc

from clouddrive import errors
from clouddrive.core.paths import INTERNAL_DIR, internal_owner, path_to_key
from clouddrive.ledger.calls import error_code, translate
from clouddrive.ledger.listing import Listing

__all__ = ["Bucket", "ServerClock"]

_NO_LIFECYCLE = ("NoSuchLifecycleConfiguration", "NoSuchLifecycle")


@dataclass(frozen=True)
class ServerClock:
    """The server's Date (None if it sent none), this machine's time at the request's middle."""

    server: datetime | None
    local: datetime
    round_trip: float

    @property
    def skew(self) -> float | None:
        """Seconds the server is ahead of this machine (the Date header has whole seconds)."""
        return None if self.server is None else (self.server - self.local).total_seconds()


class Bucket(Listing):
    """Bucket-wide settings and checks (the prefix's own keys are the ledger's business)."""

    def versioning_status(self) -> str:
        """'Enabled', 'Suspended' or '' (never enabled)."""
        resp = self._call(
            "reading the bucket's versioning",
            lambda: self.client.get_bucket_versioning(Bucket=self.bucket),
        )
        return str(resp.get("Status", ""))

    def require_versioning(self) -> None:
        """Refuse to run on a bucket that keeps no versions; the message ends with the
        command that fixes it, run in the drive's folder (init re-checks an existing drive)."""
        status = self.versioning_status()
        if status == "Suspended":
            raise errors.VersioningNotEnabled(
                f"versioning is suspended on bucket '{self.bucket}' (someone turned it off): "
                "deletes would destroy data, so nothing was changed. Turn it back on in the "
                "drive's folder (init checks the bucket again and asks first) with: "
                "clouddrive init --reenable-versioning"
            )
        if status != "Enabled":
            raise errors.VersioningNotEnabled(
                f"versioning is not enabled on bucket '{self.bucket}': deletes would destroy "
                "data, so nothing was changed. Enable it in the drive's folder (init checks the "
                "bucket again and asks first) with: clouddrive init"
            )

    def enable_versioning(self) -> None:
        self._call(
            "enabling versioning",
            lambda: self.client.put_bucket_versioning(
                Bucket=self.bucket, VersioningConfiguration={"Status": "Enabled"}
            ),
        )

    def bucket_exists(self) -> None:
        """Raise BucketNotFound / CredentialsError / AccessDenied if the bucket is not usable."""
        try:
            self._call("opening the bucket", lambda: self.client.head_bucket(Bucket=self.bucket))
        except errors.RemoteError as exc:
            cause = exc.__cause__
            if error_code(cause) in ("404", "NoSuchBucket", "NotFound"):
                raise errors.BucketNotFound(f"bucket '{self.bucket}' does not exist") from cause
            if isinstance(exc, errors.AccessDenied):
                # HEAD has no error body and needs an unscoped s3:ListBucket, which a
                # prefix-scoped policy lacks: a GET tells a missing bucket or rejected keys
                # apart, and passes for a user who may read the bucket's versioning.
                self.versioning_status()
                return
            raise

    def lifecycle_rules(self) -> list[dict[str, Any]]:
        """The bucket's lifecycle rules ([] when it has none)."""
        return list(self.lifecycle_document()["Rules"])

    def put_lifecycle_rules(self, rules: list[dict[str, Any]]) -> None:
        """Replace the bucket's whole lifecycle configuration (an empty list removes it)."""
        self.put_lifecycle_document({"Rules": rules})

    def lifecycle_document(self) -> dict[str, Any]:
        """The bucket's lifecycle configuration as one document, to merge into and write back.

        `Rules` (empty when the bucket has none) and, when the server reports it (AWS does),
        `TransitionDefaultMinimumObjectSize`, so that writing the document back changes
        nothing but the rules.
        """
        try:
            resp = self._call(
                "reading the bucket's lifecycle rules",
                lambda: self.client.get_bucket_lifecycle_configuration(Bucket=self.bucket),
            )
        except errors.RemoteError as exc:
            if error_code(exc.__cause__) in _NO_LIFECYCLE:
                return {"Rules": []}
            raise
        document: dict[str, Any] = {"Rules": [dict(rule) for rule in resp.get("Rules", [])]}
        minimum = resp.get("TransitionDefaultMinimumObjectSize")
        if minimum:
            document["TransitionDefaultMinimumObjectSize"] = minimum
        return document

    def put_lifecycle_document(self, document: dict[str, Any]) -> None:
        """Write a whole lifecycle configuration (no rules: the configuration is removed)."""
        rules = list(document.get("Rules", []))
        if not rules:
            self._call(
                "removing the bucket's lifecycle rules",
                lambda: self.client.delete_bucket_lifecycle(Bucket=self.bucket),
            )
            return
        extra: dict[str, Any] = {}
        if document.get("TransitionDefaultMinimumObjectSize"):
            extra["TransitionDefaultMinimumObjectSize"] = document[
                "TransitionDefaultMinimumObjectSize"
            ]
        self._call(
            "writing the bucket's lifecycle rules",
            lambda: self.client.put_bucket_lifecycle_configuration(
                Bucket=self.bucket,
                LifecycleConfiguration={"Rules": rules},
                **extra,
            ),
        )

    def remove_probe(self, relkey: str) -> bool:
        """Delete every version and marker of one of doctor's scratch keys.

        Only keys under `PREFIX/.clouddrive/doctor/` (a probe is not history). Returns False
        when S3 refuses version deletes (a user policy without s3:DeleteObjectVersion): the
        probe's versions then stay until the lifecycle rule for probes removes them.
        """
        if not relkey.startswith(f"{INTERNAL_DIR}/doctor/"):
            raise ValueError(f"not a doctor probe: {relkey}")
        key = self.key(relkey)
        for item in self.versions(relkey):
            version_id = str(item.get("VersionId") or "null")
            try:
                self._call(
                    f"removing the probe {relkey}",
                    functools.partial(
                        self.client.delete_object,
                        Bucket=self.bucket,
                        Key=key,
                        VersionId=version_id,
                    ),
                )
            except errors.AccessDenied:
                return False
        return True

    def server_clock(self) -> ServerClock:
        """The server's `Date` header against this machine's clock, from one HEAD request.

        An error response (say, a signature refused for skew) carries a Date as well.
        """
        before = time.time()
        meta: Any
        try:
            meta = self.client.head_bucket(Bucket=self.bucket).get("ResponseMetadata", {})
        except bexc.ClientError as exc:
            meta = exc.response.get("ResponseMetadata", {})
        except Exception as exc:
            raise translate(exc, bucket=self.bucket, what="reading the server's clock") from exc
        after = time.time()
        raw = meta.get("HTTPHeaders", {}).get("date")
        server: datetime | None = None
        if raw:
            with contextlib.suppress(TypeError, ValueError):
                server = parsedate_to_datetime(str(raw)).astimezone(UTC)
        local = datetime.fromtimestamp((before + after) / 2, UTC)
        return ServerClock(server=server, local=local, round_trip=after - before)

    def other_drives(self) -> list[str]:
        """Prefixes of other drives that overlap this one (for `init`): a `.clouddrive/`
        folder at any prefix above this one, or anywhere below it but its own."""
        found: list[str] = []
        parts = self.prefix.split("/") if self.prefix else []
        for i in range(len(parts)):
            above = "/".join(parts[:i])
            if next(iter(self._object_keys(path_to_key(f"{INTERNAL_DIR}/", above))), None):
                found.append(above)
        base = len(self.prefix) + 1 if self.prefix else 0
        for key in self._object_keys(self.key("")):
            owner = internal_owner(key[base:])
            if owner and self.key(owner) not in found:
                found.append(self.key(owner))
        return found
