"""What a bucket's lifecycle rules mean for one key: how long its old versions stay.

Pure: takes the rules as S3 returns them (`get_bucket_lifecycle_configuration()["Rules"]`).
Used by `deleted` ("recoverable until"), `doctor` and the lifecycle commands.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any

__all__ = ["Retention", "recoverable_until", "retention_for", "rule_prefix"]


@dataclass(frozen=True)
class Retention:
    """The noncurrent-version expiry that applies to a key.

    `noncurrent_days`: a version is removed that many days after it stopped being current
    (rounded up to the next midnight UTC, as S3 does); `keep_newer`: that many newer
    noncurrent versions are kept regardless; `rule_id` names the rule.
    """

    noncurrent_days: int
    keep_newer: int | None
    rule_id: str


def rule_prefix(rule: Mapping[str, Any]) -> str | None:
    """The key prefix a rule is scoped to ("" = whole bucket); None if it also filters
    on tags or object size (so whether it applies to a key cannot be told from the key)."""
    if "Filter" not in rule:
        return str(rule.get("Prefix", ""))
    flt = rule["Filter"] or {}
    if "And" in flt:
        conditions = flt["And"]
        if conditions.get("Tags") or "ObjectSizeGreaterThan" in conditions:
            return None
        if "ObjectSizeLessThan" in conditions:
            return None
        return str(conditions.get("Prefix", ""))
    if "Tag" in flt or "ObjectSizeGreaterThan" in flt or "ObjectSizeLessThan" in flt:
        return None
    return str(flt.get("Prefix", ""))


def retention_for(rules: Iterable[Mapping[str, Any]], key: str) -> Retention | None:
    """The strictest enabled noncurrent-expiry rule that applies to `key`, if any."""
    best: Retention | None = None
    for rule in rules:
        if rule.get("Status") != "Enabled":
            continue
        expiry = rule.get("NoncurrentVersionExpiration")
        if not expiry or "NoncurrentDays" not in expiry:
            continue
        prefix = rule_prefix(rule)
        if prefix is None or not key.startswith(prefix):
            continue
        found = Retention(
            noncurrent_days=int(expiry["NoncurrentDays"]),
            keep_newer=(
                int(expiry["NewerNoncurrentVersions"])
                if expiry.get("NewerNoncurrentVersions") is not None
                else None
            ),
            rule_id=str(rule.get("ID", "")),
        )
        if best is None or _stricter(found, best):
            best = found
    return best


def _stricter(a: Retention, b: Retention) -> bool:
    """Fewer days first; on equal days, fewer versions kept (None keeps none)."""
    if a.noncurrent_days != b.noncurrent_days:
        return a.noncurrent_days < b.noncurrent_days
    return (a.keep_newer or 0) < (b.keep_newer or 0)


def recoverable_until(
    retention: Retention | None,
    became_noncurrent: datetime,
    *,
    newer_noncurrent: int | None = None,
) -> datetime | None:
    """When S3 may remove a version that stopped being current at `became_noncurrent`.

    None means no rule removes it (kept until someone purges it). S3 adds the days and
    rounds up to the next midnight UTC; a naive datetime is taken as UTC (S3's clock).
    `newer_noncurrent` is how many noncurrent versions of the key are newer than this one
    (0 for the content behind a delete marker): while that is fewer than `keep_newer` the
    version is kept, so None. Left out (unknown), the result is the earliest it may go.
    """
    if retention is None:
        return None
    if (
        newer_noncurrent is not None
        and retention.keep_newer
        and newer_noncurrent < retention.keep_newer
    ):
        return None
    if became_noncurrent.tzinfo is None:
        became_noncurrent = became_noncurrent.replace(tzinfo=UTC)
    moment = became_noncurrent.astimezone(UTC) + timedelta(days=retention.noncurrent_days)
    midnight = datetime.combine(moment.date(), time(0), tzinfo=UTC)
    return midnight if midnight == moment else midnight + timedelta(days=1)
