"""What a bucket's other lifecycle rules do to a drive's keys: findings (overlaps and
conflicts with clouddrive's own rules), one rule in words, and what the rules together mean
for the drive's files. Pure, like `clouddrive.admin.rules`; findings are reported, never
changed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from clouddrive.admin.rules import LifecycleSettings, is_clouddrive, is_own, plain, scope
from clouddrive.core.paths import INTERNAL_DIR
from clouddrive.core.retention import retention_for

__all__ = ["Finding", "describe", "findings", "summarize"]


@dataclass(frozen=True)
class Finding:
    """Another enabled rule that applies to (part of) the drive's keys; reported, kept.

    `severity` is "conflict" when the rule removes data sooner than clouddrive's rules
    promise (it expires current files, or old versions sooner), else "overlap".
    """

    rule_id: str
    severity: str
    message: str


# -- what other rules do to the drive --------------------------------------------------------


def _scope_of(rule: Mapping[str, Any]) -> tuple[str, bool]:
    """A rule's key prefix, and whether it also filters on tags or size (narrower)."""
    if "Filter" not in rule:
        return str(rule.get("Prefix", "") or ""), False
    flt = rule.get("Filter") or {}
    if "And" in flt:
        cond = flt["And"] or {}
        narrowed = bool(cond.get("Tags")) or any(
            k in cond for k in ("ObjectSizeGreaterThan", "ObjectSizeLessThan")
        )
        return str(cond.get("Prefix", "") or ""), narrowed
    narrowed = any(k in flt for k in ("Tag", "ObjectSizeGreaterThan", "ObjectSizeLessThan"))
    return str(flt.get("Prefix", "") or ""), narrowed


def _overlaps(a: str, b: str) -> bool:
    return a.startswith(b) or b.startswith(a)


def _actions(rule: Mapping[str, Any]) -> tuple[list[str], list[str]]:
    """What a rule does, in words: (things that remove data sooner, everything else)."""
    harsh: list[str] = []
    mild: list[str] = []
    expiration = rule.get("Expiration") or {}
    if "Days" in expiration:
        harsh.append(f"expires current files {_days(int(expiration['Days']))} after upload")
    if "Date" in expiration:
        harsh.append(f"expires current files on {plain(expiration['Date'])}")
    if expiration.get("ExpiredObjectDeleteMarker"):
        mild.append("removes expired delete markers")
    noncurrent = rule.get("NoncurrentVersionExpiration") or {}
    if "NoncurrentDays" in noncurrent:
        keep = noncurrent.get("NewerNoncurrentVersions")
        days = _days(int(noncurrent["NoncurrentDays"]))
        text = f"removes old versions {days} after replacement"
        mild.append(text + (f" (keeping the newest {keep})" if keep else ""))
    for transition in rule.get("Transitions") or []:
        mild.append(f"moves files to {transition.get('StorageClass', '?')}")
    for transition in rule.get("NoncurrentVersionTransitions") or []:
        mild.append(f"moves old versions to {transition.get('StorageClass', '?')}")
    if rule.get("AbortIncompleteMultipartUpload"):
        days = rule["AbortIncompleteMultipartUpload"].get("DaysAfterInitiation")
        mild.append(f"aborts unfinished uploads after {_days(int(days or 0))}")
    return harsh, mild


def summarize(rule: Mapping[str, Any]) -> str:
    """One rule in words: where it applies and what it does."""
    theirs, narrowed = _scope_of(rule)
    where = f"on '{theirs}'" if theirs else "on the whole bucket"
    if narrowed:
        where += " (by tag or size)"
    harsh, mild = _actions(rule)
    status = "" if rule.get("Status") == "Enabled" else " [disabled]"
    return f"{where}: {'; '.join(harsh + mild) or 'no action clouddrive knows'}{status}"


def _sooner(rule: Mapping[str, Any], settings: LifecycleSettings) -> str | None:
    """Why a rule removes old versions sooner than clouddrive's noncurrent rule, if it does."""
    noncurrent = rule.get("NoncurrentVersionExpiration") or {}
    if "NoncurrentDays" not in noncurrent:
        return None
    days = int(noncurrent["NoncurrentDays"])
    keep = int(noncurrent.get("NewerNoncurrentVersions") or 0)
    if days < settings.noncurrent_days or (
        days == settings.noncurrent_days and keep < settings.keep_versions
    ):
        return (
            f"removes old versions after {_days(days)}"
            + (f" keeping {keep}" if keep else "")
            + f", sooner than clouddrive's {_days(settings.noncurrent_days)}"
            + (f" keeping {settings.keep_versions}" if settings.keep_versions else "")
            + " (S3 applies the shortest)"
        )
    return None


def findings(
    rules: Iterable[Mapping[str, Any]],
    prefix: str,
    settings: LifecycleSettings | None = None,
) -> list[Finding]:
    """Every enabled rule other than clouddrive's own for `prefix` that applies to its keys.

    A rule that expires current files, or (given `settings`) removes old versions sooner
    than clouddrive's rule would, is a conflict; any other overlap is reported as such.
    """
    ours = scope(prefix)
    found: list[Finding] = []
    for rule in rules:
        if rule.get("Status") != "Enabled" or is_own(rule, prefix):
            continue
        theirs, narrowed = _scope_of(rule)
        if not _overlaps(theirs, ours):
            continue
        rid = str(rule.get("ID", "")) or "(no ID)"
        where = f"s3 prefix '{theirs}'" if theirs else "the whole bucket"
        if narrowed:
            where += " (some objects, by tag or size)"
        harsh, mild = _actions(rule)
        sooner = _sooner(rule, settings) if settings is not None else None
        if sooner:
            harsh.append(sooner)
            mild = [m for m in mild if not m.startswith("removes old versions")]
        what = "; ".join(harsh + mild) or "has no action clouddrive knows"
        owner = "another drive's clouddrive rule" if is_clouddrive(rule) else "rule"
        severity = "conflict" if harsh else "overlap"
        found.append(Finding(rid, severity, f"{owner} '{rid}' on {where} {what}"))
    return found


def _days(n: int) -> str:
    return f"{n} day{'s' if n != 1 else ''}"


def describe(rules: Sequence[Mapping[str, Any]], prefix: str) -> list[str]:
    """What the bucket's enabled rules mean for the drive's files, one sentence each."""
    sample = f"{scope(prefix)}any-file"
    lines: list[str] = []
    retention = retention_for(rules, sample)
    if retention is None:
        lines.append(
            "no rule removes old versions: deleted files stay recoverable (and billed) forever"
        )
    elif retention.keep_newer:
        lines.append(
            f"old versions recoverable for {_days(retention.noncurrent_days)} after being replaced "
            f"or deleted; the newest {retention.keep_newer} of each file are kept longer "
            f"(so a deleted file stays recoverable until purged)"
        )
    else:
        lines.append(f"deleted files recoverable for {_days(retention.noncurrent_days)}")

    def applies(rule: Mapping[str, Any], key: str) -> bool:
        theirs, narrowed = _scope_of(rule)
        return rule.get("Status") == "Enabled" and not narrowed and key.startswith(theirs)

    applying = [r for r in rules if applies(r, sample)]
    if any((r.get("Expiration") or {}).get("ExpiredObjectDeleteMarker") for r in applying):
        lines.append("delete markers with nothing left behind them are cleaned up")
    aborts = [
        int(r["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"])
        for r in applying
        if (r.get("AbortIncompleteMultipartUpload") or {}).get("DaysAfterInitiation")
    ]
    if aborts:
        lines.append(f"unfinished uploads are aborted after {_days(min(aborts))}")
    runs = f"{scope(prefix)}{INTERNAL_DIR}/runs/x"
    run_days = [
        int(r["Expiration"]["Days"])
        for r in rules
        if applies(r, runs) and "Days" in (r.get("Expiration") or {})
    ]
    if run_days:
        lines.append(f"run records (the activity feed) expire after {_days(min(run_days))}")
    for rule in applying:
        if not {"Days", "Date"} & set(rule.get("Expiration") or {}):
            continue
        harsh, _ = _actions(rule)
        lines.append(f"WARNING: rule '{rule.get('ID', '')}' {'; '.join(harsh)}")
    return lines
