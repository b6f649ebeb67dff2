"""`clouddrive doctor`: is this drive set up right? One check per line, each with its fix.

The checks, in order: credentials (found, and where), the bucket (reachable), versioning
(Enabled), conditional writes (If-None-Match and If-Match really refuse a stale write,
probed on a scratch key under PREFIX/.clouddrive/doctor/ that is removed afterwards),
permissions (list versions, put, delete), lifecycle rules (present, and what they mean) and
clock skew (against the server's Date header). A `required` check is one sync depends on:
if one of those fails, the drive is not usable as it is.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from clouddrive import errors
from clouddrive.admin.rules import describe, findings, is_own, scope
from clouddrive.core.paths import INTERNAL_DIR, safe_name
from clouddrive.core.retention import retention_for
from clouddrive.ledger import META_USER, S3Remote, credential_source

if TYPE_CHECKING:
    from clouddrive.drive import Drive

__all__ = ["CLOCK_FAIL", "CLOCK_WARN", "Check", "DoctorReport", "Verdict", "clock_check", "run"]

CLOCK_WARN = 60.0  #: seconds of skew worth a warning (history times look off)
CLOCK_FAIL = 15 * 60.0  #: S3 refuses requests signed further off than this

_STALE_ETAG = '"00000000000000000000000000000000"'
_POLICY_FIX = "attach the user policy printed by 'clouddrive lifecycle policy' to your IAM user"

_METHODS = {
    "env": "environment variables (AWS_ACCESS_KEY_ID)",
    "shared-credentials-file": "the shared credentials file (~/.aws/credentials)",
    "config-file": "the AWS config file (~/.aws/config)",
    "iam-role": "the instance's IAM role",
    "container-role": "the container's IAM role",
    "assume-role": "an assumed role (role_arn in the profile)",
    "assume-role-with-web-identity": "a web identity token",
    "sso": "AWS IAM Identity Center (SSO)",
    "custom-process": "a credential_process",
    "explicit": "keys given explicitly",
    "boto-config": "a boto config file",
}


class Verdict(StrEnum):
    OK = "ok"
    WARN = "warn"
    FAIL = "fail"
    SKIP = "skip"


@dataclass(frozen=True)
class Check:
    """One line of the report: a verdict, what was found, and how to fix it."""

    name: str
    verdict: Verdict
    detail: str
    fix: str = ""
    required: bool = True  #: sync depends on it: a failure makes doctor exit non-zero


@dataclass
class DoctorReport:
    drive: str
    checks: list[Check] = field(default_factory=list)

    @property
    def failed(self) -> list[Check]:
        """The failed checks that sync depends on."""
        return [c for c in self.checks if c.verdict is Verdict.FAIL and c.required]

    @property
    def ok(self) -> bool:
        return not self.failed

    def check(self, name: str) -> Check:
        return next(c for c in self.checks if c.name == name)

    def as_json(self) -> dict[str, Any]:
        return {
            "drive": self.drive,
            "ok": self.ok,
            "checks": [{**asdict(c), "verdict": c.verdict.value} for c in self.checks],
        }


def _mask(access_key: str) -> str:
    if len(access_key) > 8:
        return f"{access_key[:4]}…{access_key[-4:]}"
    return f"{access_key[:2]}…" if access_key else "no key id"


def clock_check(skew: float | None) -> Check:
    """The verdict on a clock `skew` seconds behind the server (None: no Date header)."""
    if skew is None:
        return Check("clock", Verdict.SKIP, "the server sent no Date header", required=False)
    text = f"this machine's clock is {abs(skew):.0f} s {'behind' if skew > 0 else 'ahead of'} "
    text += "the server's"
    fix = "synchronise this machine's clock (NTP, e.g. 'timedatectl set-ntp true')"
    if abs(skew) > CLOCK_FAIL:
        return Check(
            "clock", Verdict.FAIL, text + ": S3 refuses requests signed 15 minutes off", fix
        )
    if abs(skew) > CLOCK_WARN:
        return Check(
            "clock",
            Verdict.WARN,
            text + ": times in history and 'recoverable until' will look off",
            fix,
            required=False,
        )
    offset = f"{round(skew):+d} s" if round(skew) else "0 s"
    return Check("clock", Verdict.OK, f"within {CLOCK_WARN:.0f} s of the server's ({offset})")


class _Doctor:
    def __init__(self, drive: Drive) -> None:
        self.drive = drive
        self.config = drive.config
        self.report = DoctorReport(drive.uri)
        self.source = ""

    def add(self, check: Check) -> None:
        self.report.checks.append(check)

    def skip_rest(self, names: list[str], why: str) -> None:
        for name in names:
            self.add(Check(name, Verdict.SKIP, why, required=False))

    # -- credentials and the bucket -----------------------------------------------------------

    def credentials(self) -> bool:
        cfg = self.config
        if cfg.embedded:
            self.source = "the embedded local server's built-in keys"
            self.add(Check("credentials", Verdict.OK, self.source + " (no AWS account needed)"))
            return True
        try:
            found = credential_source(cfg.profile)
        except errors.CloudDriveError as exc:
            self.add(
                Check(
                    "credentials",
                    Verdict.FAIL,
                    str(exc),
                    f"create the profile ('aws configure --profile {cfg.profile}') or change "
                    "'profile' in .clouddrive/config.toml",
                )
            )
            return False
        if found is None:
            self.add(
                Check(
                    "credentials",
                    Verdict.FAIL,
                    "no AWS credentials found",
                    "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, run 'aws configure', or "
                    "name a profile ('profile' in .clouddrive/config.toml)",
                )
            )
            return False
        where = _METHODS.get(found.method, found.method)
        if cfg.profile and found.method in ("shared-credentials-file", "config-file"):
            where += f", profile '{cfg.profile}'"
        self.source = f"{where}, key {_mask(found.access_key)}"
        self.add(Check("credentials", Verdict.OK, f"found in {self.source}"))
        return True

    def bucket(self) -> S3Remote | None:
        try:
            remote = self.drive.remote
            endpoint = remote.client.meta.endpoint_url
            remote.bucket_exists()
        except errors.CredentialsError as exc:
            self.report.checks[-1] = Check(
                "credentials",
                Verdict.FAIL,
                f"found in {self.source or 'the AWS chain'}, but S3 rejected them: {exc}",
                "check the access key and secret (mistyped, deactivated, or for another "
                "account or endpoint), or choose another profile",
            )
            self.add(Check("bucket", Verdict.SKIP, "needs credentials S3 accepts"))
            return None
        except errors.BucketNotFound:
            self.add(
                Check(
                    "bucket",
                    Verdict.FAIL,
                    f"bucket '{self.config.bucket}' does not exist"
                    + (f" at {self.config.endpoint_url}" if self.config.endpoint_url else ""),
                    "check 'bucket' (and 'endpoint_url', 'region') in .clouddrive/config.toml, "
                    "or create the bucket",
                )
            )
            return None
        except errors.AccessDenied as exc:
            self.add(Check("bucket", Verdict.FAIL, str(exc), _POLICY_FIX))
            return None
        except errors.CloudDriveError as exc:
            self.add(
                Check(
                    "bucket",
                    Verdict.FAIL,
                    f"cannot reach the bucket: {exc}",
                    "check the endpoint URL and the network (or 'clouddrive server status' for "
                    "the embedded server)",
                )
            )
            return None
        self.add(Check("bucket", Verdict.OK, f"s3://{remote.bucket}/ reachable at {endpoint}"))
        return remote

    def versioning(self, remote: S3Remote) -> None:
        bucket = remote.bucket
        enable = (
            f"the bucket owner enables it: 'python scripts/setup_lifecycle.py --bucket {bucket}"
            + (f" --prefix {remote.prefix}" if remote.prefix else "")
            + f"' (asks first), or 'aws s3api put-bucket-versioning --bucket {bucket} "
            "--versioning-configuration Status=Enabled'"
        )
        try:
            status = remote.versioning_status()
        except errors.CloudDriveError as exc:
            fix = _POLICY_FIX if isinstance(exc, errors.AccessDenied) else ""
            self.add(Check("versioning", Verdict.FAIL, f"cannot read it: {exc}", fix))
            return
        if status == "Enabled":
            self.add(Check("versioning", Verdict.OK, f"Enabled on bucket '{bucket}'"))
        elif status == "Suspended":
            self.add(
                Check(
                    "versioning",
                    Verdict.FAIL,
                    f"suspended on bucket '{bucket}': deletes there destroy data, so sync "
                    "refuses to run",
                    "re-enable it deliberately: " + enable.split(": ", 1)[1],
                )
            )
        else:
            self.add(
                Check(
                    "versioning",
                    Verdict.FAIL,
                    f"off on bucket '{bucket}': overwrites and deletes would destroy data, so "
                    "sync refuses to run",
                    enable,
                )
            )

    # -- the scratch probe: conditional writes and permissions -------------------------------

    def probe(self, remote: S3Remote) -> None:
        relkey = f"{INTERNAL_DIR}/doctor/{safe_name(self.drive.user)}-{uuid.uuid4().hex[:8]}"
        meta = {META_USER: self.drive.user}
        perms: dict[str, str] = {}
        problems: list[str] = []
        wrote = False

        def attempt(fn: Callable[[], object]) -> str | None:
            """None if the write went through, else why not ('412' for a refused race)."""
            try:
                fn()
            except errors.PreconditionFailed:
                return "412"
            except errors.AccessDenied:
                return "denied"
            except errors.RemoteError as exc:
                return str(exc)
            return None

        etag: list[str] = []

        def put(body: bytes, if_match: str | None) -> Callable[[], object]:
            def go() -> object:
                etag.append(remote.upload(relkey, body, metadata=meta, if_match=if_match).etag)
                return None

            return go

        first = attempt(put(b"probe 1", None))
        if first is None:
            perms["put"] = "ok"
            wrote = True
            outcome = attempt(put(b"probe 2", None))
            if outcome is None:
                problems.append("If-None-Match: * was ignored (an existing key was overwritten)")
            elif outcome != "412":
                problems.append(f"If-None-Match: * on an existing key failed oddly: {outcome}")
            outcome = attempt(put(b"probe 3", _STALE_ETAG))
            if outcome is None:
                problems.append("If-Match was ignored (a write with a stale ETag went through)")
            elif outcome != "412":
                problems.append(f"If-Match with a stale ETag failed oddly: {outcome}")
            outcome = attempt(put(b"probe 4", etag[-1]))
            if outcome is not None:
                problems.append(f"If-Match with the current ETag was refused: {outcome}")
        elif first == "denied":
            perms["put"] = "denied (s3:PutObject)"
        else:
            problems.append(f"a new key with If-None-Match: * was refused: {first}")
            outcome = attempt(lambda: remote.put_bytes(relkey, b"probe"))
            perms["put"] = "ok" if outcome is None else f"failed: {outcome}"
            wrote = outcome is None
        outcome = attempt(lambda: remote.versions(relkey))
        perms["list versions"] = "ok" if outcome is None else _perm(outcome, "ListBucketVersions")
        cleaned = True
        if wrote:
            outcome = attempt(lambda: remote.delete(relkey, if_match=None))
            perms["delete"] = "ok" if outcome is None else _perm(outcome, "DeleteObject")
            try:
                cleaned = remote.remove_probe(relkey)
            except errors.RemoteError:
                cleaned = False
        else:
            perms["delete"] = "not tried (nothing was written)"

        where = f"{scope(remote.prefix)}{INTERNAL_DIR}/doctor/"
        if first == "denied":
            self.add(Check("conditional-writes", Verdict.SKIP, "needs permission to write a probe"))
        elif problems:
            self.add(
                Check(
                    "conditional-writes",
                    Verdict.FAIL,
                    "; ".join(problems),
                    "use a server that honours If-None-Match and If-Match on PUT (AWS S3, "
                    "SeaweedFS 4, MinIO): without them two people saving the same file "
                    "overwrite each other silently instead of getting a conflict copy",
                )
            )
        else:
            self.add(
                Check(
                    "conditional-writes",
                    Verdict.OK,
                    "If-None-Match and If-Match honoured (stale writes refused with 412)",
                )
            )
        summary = ", ".join(f"{op} {state}" for op, state in perms.items())
        if cleaned:
            summary += "; probe removed"
        else:
            summary += (
                f"; probe versions left under {where} (no s3:DeleteObjectVersion, as it should "
                "be): the lifecycle rule for probes removes them after a day"
            )
        bad = any(state != "ok" for state in perms.values())
        self.add(
            Check("permissions", Verdict.FAIL if bad else Verdict.OK, summary, _POLICY_FIX * bad)
        )

    # -- lifecycle and clock ----------------------------------------------------------------

    def lifecycle(self, remote: S3Remote) -> None:
        prefix = remote.prefix
        setup = (
            f"the bucket owner runs 'python scripts/setup_lifecycle.py --bucket {remote.bucket}"
            + (f" --prefix {prefix}" if prefix else "")
            + "' (or 'clouddrive lifecycle apply')"
        )
        try:
            rules = remote.lifecycle_rules()
        except errors.CloudDriveError as exc:
            self.add(
                Check(
                    "lifecycle",
                    Verdict.WARN,
                    f"cannot read the bucket's lifecycle rules: {exc}",
                    "allow s3:GetLifecycleConfiguration (the user policy from "
                    "'clouddrive lifecycle policy' does)",
                    required=False,
                )
            )
            return
        meaning = "; ".join(describe(rules, prefix))
        conflicts = [f.message for f in findings(rules, prefix) if f.severity == "conflict"]
        has_own = any(is_own(r, prefix) for r in rules)
        if conflicts:
            self.add(
                Check(
                    "lifecycle",
                    Verdict.WARN,
                    f"{meaning}; but {'; '.join(conflicts)}",
                    "review that rule with the bucket owner ('clouddrive lifecycle show')",
                    required=False,
                )
            )
        elif not has_own and retention_for(rules, f"{scope(prefix)}x") is None:
            self.add(
                Check(
                    "lifecycle",
                    Verdict.WARN,
                    f"no lifecycle rules for s3://{remote.bucket}/{scope(prefix)}: history "
                    "grows forever (storage cost, slower version listings)",
                    setup,
                    required=False,
                )
            )
        else:
            self.add(Check("lifecycle", Verdict.OK, meaning, required=False))

    def clock(self, remote: S3Remote) -> None:
        try:
            clock = remote.server_clock()
        except errors.CloudDriveError as exc:
            self.add(Check("clock", Verdict.SKIP, f"cannot read it: {exc}", required=False))
            return
        self.add(clock_check(clock.skew))

    def run(self) -> DoctorReport:
        rest = ["versioning", "conditional-writes", "permissions", "lifecycle", "clock"]
        if not self.credentials():
            self.skip_rest(["bucket", *rest], "needs credentials")
            return self.report
        remote = self.bucket()
        if remote is None:
            self.skip_rest(rest, "needs a reachable bucket")
            return self.report
        self.versioning(remote)
        self.probe(remote)
        self.lifecycle(remote)
        self.clock(remote)
        return self.report


def _perm(outcome: str, action: str) -> str:
    return f"denied (s3:{action})" if outcome == "denied" else f"failed: {outcome}"


def run(drive: Drive) -> DoctorReport:
    """Every check on `drive`, in order; nothing of the user's is changed."""
    return _Doctor(drive).run()
