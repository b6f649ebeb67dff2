"""clouddrive's lifecycle rules for one drive's prefix, merged into a bucket's other rules.

Pure: rules are plain dicts shaped as S3 returns and takes them
(`get_bucket_lifecycle_configuration()["Rules"]`). clouddrive's own rules are recognised by
their IDs, `clouddrive:<prefix>:<kind>`; every other rule (other prefixes, other tools, other
drives) is kept exactly as it was read, in its place. Overlapping rules are reported as
findings, never changed. `lifecycle_ops` does the I/O; `describe` says what the rules mean.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from clouddrive.core.paths import INTERNAL_DIR
from clouddrive.core.retention import retention_for
from clouddrive.errors import ConfigError

__all__ = [
    "KINDS",
    "MAX_RULES",
    "Finding",
    "LifecycleChange",
    "LifecycleSettings",
    "build_rules",
    "canonical",
    "describe",
    "findings",
    "is_clouddrive",
    "is_own",
    "merge",
    "missing_elements",
    "remove",
    "rule_id",
    "scope",
    "summarize",
    "to_json",
]

ID_PREFIX = "clouddrive:"
MAX_RULES = 1000  #: S3's limit on rules in one bucket's configuration
MAX_ID_LENGTH = 255  #: S3's limit on a rule ID
PROBE_DAYS = 1  #: doctor's scratch probes, and expired run records' old versions, go after this

#: clouddrive's rules for one prefix, by kind, in the order they are written.
KINDS = ("noncurrent", "delete-markers", "multipart", "runs", "probes")


@dataclass(frozen=True)
class LifecycleSettings:
    """How much history a drive keeps (the setup script's flags).

    `noncurrent_days`: an old version (overwritten or deleted) is removed that many days
    after it stopped being current; `keep_versions`: the newest N old versions of each file
    are kept regardless (0: none); `abort_multipart_days`: unfinished multipart uploads are
    aborted; `run_record_days`: run records under PREFIX/.clouddrive/runs/ expire.
    """

    noncurrent_days: int = 30
    keep_versions: int = 3
    abort_multipart_days: int = 7
    run_record_days: int = 90

    def __post_init__(self) -> None:
        for name in ("noncurrent_days", "abort_multipart_days", "run_record_days"):
            if getattr(self, name) < 1:
                raise ConfigError(f"--{name.replace('_', '-')} must be at least 1 day")
        if not 0 <= self.keep_versions <= 100:
            raise ConfigError("--keep-versions must be between 0 and 100 (S3's limit)")


@dataclass(frozen=True)
class Finding:
    """Another enabled rule that applies to (part of) the drive's keys; reported, kept.

    `severity` is "conflict" when the rule removes data sooner than clouddrive's rules
    promise (it expires current files, or old versions sooner), else "overlap".
    """

    rule_id: str
    severity: str
    message: str


@dataclass(frozen=True)
class LifecycleChange:
    """What applying (or removing) clouddrive's rules does to the bucket's configuration."""

    prefix: str
    before: list[dict[str, Any]]
    after: list[dict[str, Any]]
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)  #: IDs of the other rules, left as they were
    findings: list[Finding] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return canonical(self.before) != canonical(self.after)

    def document(self) -> dict[str, Any]:
        """The configuration to write (`{"Rules": []}`: remove the configuration)."""
        return {"Rules": self.after}


# -- clouddrive's own rules ------------------------------------------------------------------


def scope(prefix: str) -> str:
    """The key prefix a drive's rules apply to: `team/docs/` ("" for a whole-bucket drive)."""
    return f"{prefix}/" if prefix else ""


def rule_id(prefix: str, kind: str) -> str:
    """`clouddrive:<prefix>:<kind>`: how clouddrive recognises its own rules."""
    return f"{ID_PREFIX}{prefix}:{kind}"


def is_clouddrive(rule: Mapping[str, Any]) -> bool:
    """Whether a rule was written by clouddrive (for any prefix)."""
    return str(rule.get("ID", "")).startswith(ID_PREFIX)


def is_own(rule: Mapping[str, Any], prefix: str) -> bool:
    """Whether a rule is one of clouddrive's rules for exactly this prefix."""
    return str(rule.get("ID", "")) in {rule_id(prefix, kind) for kind in KINDS}


def build_rules(prefix: str, settings: LifecycleSettings) -> list[dict[str, Any]]:
    """clouddrive's rules for a prefix, one per kind (see KINDS).

    - noncurrent: old versions go `noncurrent_days` after they stopped being current,
      except the newest `keep_versions` of each key;
    - delete-markers: a delete marker with no versions left behind it is removed;
    - multipart: unfinished multipart uploads are aborted;
    - runs: run records expire (their old versions and markers go a day later);
    - probes: doctor's scratch keys go after a day, however the probe ended.
    """
    base = scope(prefix)
    runs = f"{base}{INTERNAL_DIR}/runs/"
    probes = f"{base}{INTERNAL_DIR}/doctor/"
    longest = rule_id(prefix, max(KINDS, key=len))
    if len(longest) > MAX_ID_LENGTH:
        raise ConfigError(f"the prefix is too long for lifecycle rule IDs ({len(longest)} > 255)")
    noncurrent: dict[str, Any] = {"NoncurrentDays": settings.noncurrent_days}
    if settings.keep_versions:
        noncurrent["NewerNoncurrentVersions"] = settings.keep_versions

    def rule(kind: str, key_prefix: str, **actions: Any) -> dict[str, Any]:
        return {
            "ID": rule_id(prefix, kind),
            "Filter": {"Prefix": key_prefix},
            "Status": "Enabled",
            **actions,
        }

    return [
        rule("noncurrent", base, NoncurrentVersionExpiration=noncurrent),
        rule("delete-markers", base, Expiration={"ExpiredObjectDeleteMarker": True}),
        rule(
            "multipart",
            base,
            AbortIncompleteMultipartUpload={"DaysAfterInitiation": settings.abort_multipart_days},
        ),
        rule(
            "runs",
            runs,
            Expiration={"Days": settings.run_record_days},
            NoncurrentVersionExpiration={"NoncurrentDays": PROBE_DAYS},
        ),
        rule(
            "probes",
            probes,
            Expiration={"Days": PROBE_DAYS},
            NoncurrentVersionExpiration={"NoncurrentDays": PROBE_DAYS},
        ),
    ]


# -- comparing ----------------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    """A JSON-ready copy: datetimes as ISO 8601, S3's empty filter as an empty prefix."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat().replace("+00:00", "Z")
    return value


def canonical(rules: Iterable[Mapping[str, Any]]) -> str:
    """One string per configuration, equal for configurations that mean the same.

    Key order inside a rule does not matter (servers reorder); rule order does (it is
    kept as read). A rule's missing or empty Filter equals `{"Prefix": ""}`.
    """
    normal = []
    for rule in rules:
        plain = _plain(rule)
        if "Filter" in plain and not plain["Filter"]:
            plain["Filter"] = {"Prefix": ""}
        normal.append(plain)
    return json.dumps(normal, sort_keys=True)


def _same(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    return canonical([a]) == canonical([b])


def to_json(document: Mapping[str, Any]) -> Any:
    """A configuration as the exact JSON it is written as (datetimes in ISO 8601)."""
    return _plain(document)


def missing_elements(
    sent: Mapping[str, Any], stored: Mapping[str, Any], path: str = ""
) -> list[str]:
    """Elements of a rule that was written but that the server did not keep (dotted paths)."""
    lost: list[str] = []
    for key, value in sent.items():
        where = f"{path}.{key}" if path else key
        if key not in stored:
            lost.append(where)
        elif isinstance(value, Mapping) and isinstance(stored[key], Mapping):
            lost += missing_elements(value, stored[key], where)
    return lost


# -- merging --------------------------------------------------------------------------------------


def merge(
    existing: Sequence[Mapping[str, Any]], prefix: str, settings: LifecycleSettings
) -> LifecycleChange:
    """The bucket's rules with clouddrive's rules for `prefix` put in (or brought up to date).

    Every other rule stays as read, in its place; ours replace themselves in place, new
    ones go at the end. Applying the result again changes nothing.
    """
    wanted = {rule["ID"]: rule for rule in build_rules(prefix, settings)}
    after: list[dict[str, Any]] = []
    change = LifecycleChange(prefix, [dict(r) for r in existing], after)
    seen: set[str] = set()
    for rule in existing:
        rid = str(rule.get("ID", ""))
        if rid in wanted and rid not in seen:
            seen.add(rid)
            after.append(wanted[rid])
            (change.unchanged if _same(rule, wanted[rid]) else change.updated).append(rid)
        elif is_own(rule, prefix):
            change.removed.append(rid)  # a kind clouddrive no longer writes, or a duplicate
        else:
            after.append(dict(rule))
            change.kept.append(rid)
    for rid, rule in wanted.items():
        if rid not in seen:
            after.append(rule)
            change.added.append(rid)
    if len(after) > MAX_RULES:
        raise ConfigError(
            f"the bucket would have {len(after)} lifecycle rules; S3 allows {MAX_RULES}"
        )
    change.findings.extend(findings(existing, prefix, settings))
    return change


def remove(existing: Sequence[Mapping[str, Any]], prefix: str) -> LifecycleChange:
    """The bucket's rules without clouddrive's rules for `prefix`; everything else as read."""
    after = [dict(rule) for rule in existing if not is_own(rule, prefix)]
    change = LifecycleChange(prefix, [dict(r) for r in existing], after)
    for rule in existing:
        rid = str(rule.get("ID", ""))
        (change.removed if is_own(rule, prefix) else change.kept).append(rid)
    return change


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
        harsh.append(f"expires current files on {_plain(expiration['Date'])}")
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
