"""Putting clouddrive's lifecycle rules for one prefix into a bucket's configuration (or
taking them out), keeping every other rule exactly as read, in its place. Pure: the result
says what changes (`LifecycleChange`); `clouddrive.admin.apply` writes it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from clouddrive.admin.overlaps import Finding, findings
from clouddrive.admin.rules import (
    MAX_RULES,
    LifecycleSettings,
    build_rules,
    canonical,
    is_own,
    same,
)
from clouddrive.errors import ConfigError

__all__ = ["LifecycleChange", "merge", "remove"]


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
            (change.unchanged if same(rule, wanted[rid]) else change.updated).append(rid)
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
