"""Doctor's scratch probe: do conditional writes really refuse a stale write, and may this
user list versions, put and delete? Probed on a key under PREFIX/.clouddrive/doctor/ that is
removed afterwards (or left to the lifecycle rule for probes, without s3:DeleteObjectVersion).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

from clouddrive import errors
from clouddrive.admin.checks import POLICY_FIX, Check, Verdict
from clouddrive.admin.rules import scope
from clouddrive.core.paths import INTERNAL_DIR, safe_name
from clouddrive.ledger import META_USER, S3Remote

__all__ = ["STALE_ETAG", "probe_checks"]

STALE_ETAG = '"00000000000000000000000000000000"'


def probe_checks(remote: S3Remote, user: str) -> list[Check]:
    """Probe conditional writes and permissions on a scratch key; the two checks."""
    checks: list[Check] = []
    relkey = f"{INTERNAL_DIR}/doctor/{safe_name(user)}-{uuid.uuid4().hex[:8]}"
    meta = {META_USER: user}
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
        outcome = attempt(put(b"probe 3", STALE_ETAG))
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
        checks.append(
            Check("conditional-writes", Verdict.SKIP, "needs permission to write a probe")
        )
    elif problems:
        checks.append(
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
        checks.append(
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
    checks.append(
        Check("permissions", Verdict.FAIL if bad else Verdict.OK, summary, POLICY_FIX * bad)
    )
    return checks


def _perm(outcome: str, action: str) -> str:
    return f"denied (s3:{action})" if outcome == "denied" else f"failed: {outcome}"
