"""clouddrive's lifecycle rules for one drive's prefix, merged into a bucket's other rules.

Pure: rules are plain dicts shaped as S3 returns and takes them
(`get_bucket_lifecycle_configuration()["Rules"]`). clouddrive's own rules are recognised by
their IDs, `clouddrive:<prefix>:<kind>`; every other rule (other prefixes, other tools, other
drives) is kept exactly as it was read, in its place. This module builds and compares
clouddrive's own rules; `merge` puts them into a bucket's configuration, `overlaps` says
what the other rules do to the drive, `apply` does the I/O.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from clouddrive.core.paths import INTERNAL_DIR
from clouddrive.errors import ConfigError

__all__ = [
    "KINDS",
    "MAX_RULES",
    "LifecycleSettings",
    "build_rules",
    "canonical",
    "is_clouddrive",
    "is_own",
    "missing_elements",
    "plain",
    "rule_id",
    "same",
    "scope",
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


def plain(value: Any) -> Any:
    """A JSON-ready copy: datetimes as ISO 8601, S3's empty filter as an empty prefix."""
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
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
        one = plain(rule)
        if "Filter" in one and not one["Filter"]:
            one["Filter"] = {"Prefix": ""}
        normal.append(one)
    return json.dumps(normal, sort_keys=True)


def same(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    return canonical([a]) == canonical([b])


def to_json(document: Mapping[str, Any]) -> Any:
    """A configuration as the exact JSON it is written as (datetimes in ISO 8601)."""
    return plain(document)


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
