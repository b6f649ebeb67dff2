"""`clouddrive doctor`: is this drive set up right? One check per line, each with its fix.

The checks, in order: credentials (found, and where), the bucket (reachable), versioning
(Enabled), conditional writes (If-None-Match and If-Match really refuse a stale write,
probed on a scratch key under PREFIX/.clouddrive/doctor/ that is removed afterwards),
permissions (list versions, put, delete), lifecycle rules (present, and what they mean) and
clock skew (against the server's Date header). A `required` check is one sync depends on:
if one of those fails, the drive is not usable as it is.
"""

from __future__ import annotations

import shlex
from typing import TYPE_CHECKING

from clouddrive import errors
from clouddrive.admin.checks import POLICY_FIX, Check, DoctorReport, Verdict, clock_check
from clouddrive.admin.overlaps import describe, findings
from clouddrive.admin.probe import probe_checks
from clouddrive.admin.rules import is_own, scope
from clouddrive.core.retention import retention_for
from clouddrive.ledger import S3Remote, credential_source

if TYPE_CHECKING:
    from clouddrive.drive import Drive

__all__ = ["run"]


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


def _mask(access_key: str) -> str:
    if len(access_key) > 8:
        return f"{access_key[:4]}…{access_key[-4:]}"
    return f"{access_key[:2]}…" if access_key else "no key id"


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
            self.add(Check("bucket", Verdict.FAIL, str(exc), POLICY_FIX))
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
        try:
            status = remote.versioning_status()
        except errors.CloudDriveError as exc:
            fix = POLICY_FIX if isinstance(exc, errors.AccessDenied) else ""
            self.add(Check("versioning", Verdict.FAIL, f"cannot read it: {exc}", fix))
            return
        if status == "Enabled":
            self.add(Check("versioning", Verdict.OK, f"Enabled on bucket '{bucket}'"))
        elif status == "Suspended":
            self.add(
                Check(
                    "versioning",
                    Verdict.FAIL,
                    f"suspended on bucket '{bucket}' (someone turned it off): deletes there "
                    "destroy data, so sync refuses to run",
                    "re-enable it deliberately (init checks the bucket again and asks first; "
                    "it needs the right to change the bucket's versioning)",
                    command=self.init_command("--reenable-versioning"),
                )
            )
        else:
            self.add(
                Check(
                    "versioning",
                    Verdict.FAIL,
                    f"off on bucket '{bucket}': overwrites and deletes would destroy data, so "
                    "sync refuses to run",
                    "enable it (init checks the bucket again and asks first; it needs the "
                    "right to change the bucket's versioning)",
                    command=self.init_command(),
                )
            )

    # -- lifecycle and clock ----------------------------------------------------------------

    def lifecycle(self, remote: S3Remote) -> None:
        prefix = remote.prefix
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
                    "the bucket's owner sets clouddrive's rules (shows them and asks first)",
                    required=False,
                    command=self.lifecycle_command(remote),
                )
            )
        else:
            self.add(Check("lifecycle", Verdict.OK, meaning, required=False))

    # -- fixes as commands to paste ----------------------------------------------------------

    def init_command(self, *flags: str) -> str:
        """`clouddrive --root ROOT init`: in an existing drive, init with no settings reuses
        the drive's and checks the bucket again (asking before it enables versioning)."""
        return shlex.join(["clouddrive", "--root", str(self.drive.root), "init", *flags])

    def lifecycle_command(self, remote: S3Remote) -> str:
        """`clouddrive lifecycle apply` with the drive's bucket, prefix, endpoint, profile and
        region spelled out, so the bucket's owner can run it without the drive."""
        cfg = self.config
        words = ["clouddrive", "lifecycle", "apply", "--bucket", remote.bucket]
        if remote.prefix:
            words += ["--prefix", remote.prefix]
        endpoint = remote.client.meta.endpoint_url if cfg.embedded else cfg.endpoint_url
        for flag, value in (
            ("--endpoint-url", endpoint),
            ("--profile", cfg.profile),
            ("--region", cfg.region),
        ):
            if value:
                words += [flag, value]
        return shlex.join(words)

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
        self.report.checks += probe_checks(remote, self.drive.user)
        self.lifecycle(remote)
        self.clock(remote)
        return self.report


def run(drive: Drive) -> DoctorReport:
    """Every check on `drive`, in order; nothing of the user's is changed."""
    return _Doctor(drive).run()
