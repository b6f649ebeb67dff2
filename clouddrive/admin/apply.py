"""Reading, applying and removing clouddrive's lifecycle rules on a bucket (the owner's side).

`scripts/setup_lifecycle.py` and `clouddrive lifecycle show | apply` are thin shells over
these functions; what the rules are and how they merge is pure (`clouddrive.admin.rules`).

Safety: every other rule is written back exactly as read; the configuration is read again
right before writing and nothing is written if it changed meanwhile (S3 has no conditional
write for it); after writing it is read back, so a server that silently drops a rule
element is noticed and reported, and a rewrite that changed nothing says so.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from clouddrive import errors
from clouddrive.admin.merge import LifecycleChange, merge, remove
from clouddrive.admin.overlaps import Finding, describe, findings
from clouddrive.admin.rules import LifecycleSettings, canonical, is_own, missing_elements, scope
from clouddrive.core.paths import normalize_prefix
from clouddrive.drive.setup import suspended_refusal
from clouddrive.embedded.access import DEFAULT_BUCKET, EMBEDDED_ACCESS_KEY, EMBEDDED_SECRET_KEY
from clouddrive.embedded.registry import is_embedded_endpoint, registration
from clouddrive.ledger import S3Remote, connect

__all__ = [
    "LifecycleResult",
    "LifecycleView",
    "apply_rules",
    "drive_scope",
    "open_bucket",
    "remove_rules",
    "show_rules",
]

_POLICY_HINT = "'clouddrive lifecycle policy --owner' prints the policy the bucket's owner needs"
_ELEMENTS_HINT = (
    "this server may not support every lifecycle element clouddrive uses "
    "(NoncurrentVersionExpiration with NewerNoncurrentVersions, ExpiredObjectDeleteMarker, "
    "AbortIncompleteMultipartUpload); try --keep-versions 0"
)


@dataclass
class LifecycleResult:
    """What `apply_rules` / `remove_rules` found and did."""

    change: LifecycleChange
    versioning: str  #: the bucket's versioning status before: Enabled, Suspended or ''
    dry_run: bool = False
    written: bool = False  #: a configuration was written
    effective: bool = False  #: and the bucket's stored rules differ from before
    enabled_versioning: bool = False
    needs_versioning: bool = False  #: versioning is off and applying would enable it
    not_kept: list[str] = field(default_factory=list)  #: "rule id: element" the server dropped
    document: dict[str, Any] = field(default_factory=dict)  #: what is (or would be) written

    @property
    def changed(self) -> bool:
        """Whether the bucket changed (or, in a dry run, would change)."""
        if self.dry_run:
            return self.change.changed or self.needs_versioning
        return self.effective or self.enabled_versioning


@dataclass
class LifecycleView:
    """The rules that apply to a drive's prefix, and what they mean."""

    bucket: str
    prefix: str
    versioning: str
    rules: list[dict[str, Any]]  #: clouddrive's own for the prefix, then others that apply
    own: list[str]
    findings: list[Finding]
    meaning: list[str]


def open_bucket(
    bucket: str,
    prefix: str | None,
    *,
    endpoint_url: str | None = None,
    profile: str | None = None,
    region: str | None = None,
) -> S3Remote:
    """A remote for a bucket and prefix given on the command line (no drive needed).

    On the embedded server's endpoint (and no --profile) the server's fixed local keys are
    used, as a drive on it does; the AWS credential chain has nothing for it.
    """
    embedded = profile is None and is_embedded_endpoint(endpoint_url)
    try:
        return connect(
            bucket,
            normalize_prefix(prefix),
            endpoint_url=endpoint_url,
            profile=profile,
            region=region,
            access_key=EMBEDDED_ACCESS_KEY if embedded else None,
            secret_key=EMBEDDED_SECRET_KEY if embedded else None,
        )
    except errors.CredentialsError as exc:
        record = registration() if bucket == DEFAULT_BUCKET and not endpoint_url else None
        if record is None:
            raise
        raise errors.CredentialsError(
            f"{exc}; for the embedded local server add --endpoint-url {record.endpoint_url}"
        ) from exc


# -- reading and writing, with permission-specific messages ------------------------------------


@contextmanager
def _needs(
    remote: S3Remote, doing: str, permission: str, *, changed: bool = False
) -> Iterator[None]:
    """Reword an AccessDenied as what was refused, the permission it needs, and who can help."""
    try:
        yield
    except errors.AccessDenied as exc:
        nothing = "; nothing was changed" if changed else ""
        raise errors.AccessDenied(
            f"no permission to {doing} bucket '{remote.bucket}' ({permission}){nothing}; "
            f"{_POLICY_HINT}"
        ) from exc


def _versioning(remote: S3Remote) -> str:
    with _needs(remote, "read the versioning of", "s3:GetBucketVersioning"):
        return remote.versioning_status()


def _read(remote: S3Remote) -> dict[str, Any]:
    with _needs(remote, "read the lifecycle rules of", "s3:GetLifecycleConfiguration"):
        return remote.lifecycle_document()


def _write(remote: S3Remote, document: dict[str, Any]) -> None:
    try:
        with _needs(
            remote,
            "change the lifecycle rules of",
            "s3:PutLifecycleConfiguration",
            changed=True,
        ):
            remote.put_lifecycle_document(document)
    except (
        errors.AccessDenied,
        errors.ClockSkewed,
        errors.TransientRemoteError,
        errors.CredentialsError,
        errors.BucketNotFound,
    ):
        raise
    except errors.PreconditionFailed as exc:
        raise errors.PreconditionFailed(
            f"S3 refused the lifecycle rules of bucket '{remote.bucket}' because another "
            "change to them was in progress; nothing was changed: run again"
        ) from exc
    except errors.RemoteError as exc:
        raise errors.RemoteError(f"{exc}; {_ELEMENTS_HINT}") from exc


def _write_checked(remote: S3Remote, change: LifecycleChange, result: LifecycleResult) -> None:
    """Write `change.after` if the bucket's rules are still `change.before`; read back."""
    current = _read(remote)
    if canonical(current["Rules"]) != canonical(change.before):
        raise errors.PreconditionFailed(
            f"the lifecycle rules of bucket '{remote.bucket}' changed while this ran; "
            "nothing was written: run again"
        )
    document = {**current, "Rules": change.after}
    _write(remote, document)
    result.written = True
    stored = _read(remote)["Rules"]
    result.effective = canonical(stored) != canonical(change.before)
    by_id = {str(rule.get("ID", "")): rule for rule in stored}
    for rule in change.after:
        rid = str(rule.get("ID", ""))
        if not is_own(rule, change.prefix):
            continue
        if rid not in by_id:
            result.not_kept.append(f"{rid}: the whole rule")
            continue
        result.not_kept += [f"{rid}: {e}" for e in missing_elements(rule, by_id[rid])]


# -- the operations ------------------------------------------------------------------------------


def show_rules(remote: S3Remote) -> LifecycleView:
    """clouddrive's rules for the remote's prefix, the other rules that apply, their meaning."""
    remote.bucket_exists()
    status = _versioning(remote)
    rules = _read(remote)["Rules"]
    prefix = remote.prefix
    own = [r for r in rules if is_own(r, prefix)]
    found = findings(rules, prefix)
    others = {f.rule_id for f in found}
    applying = own + [r for r in rules if str(r.get("ID", "")) in others]
    return LifecycleView(
        bucket=remote.bucket,
        prefix=prefix,
        versioning=status,
        rules=applying,
        own=[str(r.get("ID", "")) for r in own],
        findings=found,
        meaning=describe(rules, prefix),
    )


def apply_rules(
    remote: S3Remote,
    settings: LifecycleSettings,
    *,
    confirm: Callable[[LifecycleChange], bool],
    consent: Callable[[str], bool],
    dry_run: bool = False,
    reenable_versioning: bool = False,
) -> LifecycleResult:
    """Put clouddrive's rules for the remote's prefix into the bucket's configuration.

    Idempotent: when the rules are already in place nothing is written (and `confirm` is
    not asked). Versioning that is off is enabled if `consent` agrees; suspended versioning
    (someone turned it off, perhaps on purpose) is refused unless `reenable_versioning`
    asks for it by name, as `init` does. A dry run reads only.
    """
    remote.bucket_exists()
    status = _versioning(remote)
    document = _read(remote)
    change = merge(document["Rules"], remote.prefix, settings)
    result = LifecycleResult(
        change,
        status,
        dry_run=dry_run,
        document={**document, "Rules": change.after},
        needs_versioning=status == "",
    )
    if dry_run:
        return result
    if status == "Suspended" and not reenable_versioning:
        raise suspended_refusal(remote.bucket)
    if status != "Enabled":
        state = "suspended" if status == "Suspended" else "off"
        question = (
            f"Bucket '{remote.bucket}' has versioning {state}: clouddrive needs it (every "
            "overwrite and delete stays recoverable; old versions cost storage until these rules "
            "remove "
            "them). Enable versioning now?"
        )
        if not consent(question):
            raise errors.Refused(
                f"versioning stays {state} on bucket '{remote.bucket}'; nothing was changed"
            )
    if change.changed and not confirm(change):
        raise errors.Refused("lifecycle rules not changed")
    if status != "Enabled":
        with _needs(remote, "enable versioning on", "s3:PutBucketVersioning", changed=True):
            remote.enable_versioning()
        result.enabled_versioning = True
    if change.changed:
        _write_checked(remote, change, result)
    return result


def remove_rules(
    remote: S3Remote,
    *,
    confirm: Callable[[LifecycleChange], bool],
    dry_run: bool = False,
) -> LifecycleResult:
    """Take clouddrive's rules for the remote's prefix out; every other rule stays."""
    remote.bucket_exists()
    status = _versioning(remote)
    document = _read(remote)
    change = remove(document["Rules"], remote.prefix)
    result = LifecycleResult(
        change, status, dry_run=dry_run, document={**document, "Rules": change.after}
    )
    if dry_run:
        return result
    if change.changed:
        if not confirm(change):
            raise errors.Refused("lifecycle rules not changed")
        _write_checked(remote, change, result)
    return result


def drive_scope(remote: S3Remote) -> str:
    """The key prefix the drive's rules cover, for messages (`s3://b/team/`)."""
    return f"s3://{remote.bucket}/{scope(remote.prefix)}"
