"""Read-only time travel: recently deleted files, one file's history, the activity feed.

Everything here reads the bucket's own versions (`S3Remote.histories`). Who wrote a version
comes from its `clouddrive-user` metadata (one HEAD); who put a delete marker comes from the
run records (`clouddrive.history.runs`), or is "unknown" when the delete came from outside
clouddrive. The helpers (`parallel`, `exact_history`) serve the planners too.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any, TypeVar

from clouddrive import errors
from clouddrive.core.retention import recoverable_until, retention_for
from clouddrive.core.timeline import Entry, KeyHistory, last_content, top_markers
from clouddrive.history.records import RunRecord
from clouddrive.history.runs import RunLog
from clouddrive.history.views import META_RESTORED_FROM, UNKNOWN, DeletedFile, FileVersion
from clouddrive.ledger import META_USER, S3Remote

__all__ = ["Queries", "exact_history", "parallel"]

T = TypeVar("T")
R = TypeVar("R")

log = logging.getLogger("clouddrive")


def parallel(fn: Callable[[T], R], items: Sequence[T], workers: int) -> list[R]:
    """`fn` over `items` on up to `workers` threads, in order. On an interrupt or error,
    queued items are cancelled (only those already running finish)."""
    if len(items) <= 1:
        return [fn(item) for item in items]
    pool = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="cd-tt")
    try:
        return list(pool.map(fn, items))
    except BaseException:
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    finally:
        pool.shutdown(wait=True)


def exact_history(remote: S3Remote, path: str) -> tuple[KeyHistory | None, bool]:
    """The history of the key `path`, and whether keys exist under `path/` too."""
    found: KeyHistory | None = None
    folder = False
    for history in remote.histories(path):
        if history.path == path and not history.unsafe:
            found = history
        else:
            folder = True
    return found, folder


class Queries:
    """Deleted files, history and activity for one prefix."""

    def __init__(self, remote: S3Remote, runs: RunLog, workers: int) -> None:
        self.remote = remote
        self.runs = runs
        self.workers = workers

    def _heads(self, wanted: Sequence[tuple[str, str]]) -> dict[tuple[str, str], dict[str, str]]:
        """(path, version id) -> that version's metadata ({} if it cannot be read)."""

        def head(item: tuple[str, str]) -> dict[str, str]:
            try:
                resp = self.remote.head_version(*item)
            except (errors.CredentialsError, errors.BucketNotFound):
                raise
            except errors.RemoteError as exc:
                log.debug("cannot read %s?versionId=%s: %s", item[0], item[1], exc)
                return {}
            return {str(k).lower(): str(v) for k, v in resp.get("Metadata", {}).items()}

        return dict(zip(wanted, parallel(head, list(wanted), self.workers), strict=True))

    def _rules(self) -> list[dict[str, Any]]:
        try:
            return self.remote.lifecycle_rules()
        except (errors.CredentialsError, errors.BucketNotFound):
            raise
        except errors.RemoteError as exc:  # no permission to read them: say nothing
            log.debug("cannot read lifecycle rules: %s", exc)
            return []

    def deleted(self, path: str = "", *, since: datetime | None = None) -> list[DeletedFile]:
        """Every key at or under `path` ("": the drive) whose newest entry is a delete
        marker and that still has a content version to bring back; newest deletes first.

        Refused (VersioningNotEnabled) on a bucket that does not keep versions: there,
        "nothing deleted" would be a false reassurance, since a delete destroys the file."""
        self.remote.require_versioning()
        found: list[tuple[KeyHistory, list[Entry], Entry]] = []
        for history in self.remote.histories(path):
            if history.unsafe:
                continue
            markers = top_markers(history.entries)
            content = last_content(history.entries)
            if not markers or content is None:
                continue
            if since is not None and markers[-1].modified < since:
                continue
            found.append((history, markers, content))
        if not found:
            return []
        writers = self.runs.writers([m[-1].modified for _, m, _ in found])
        heads = self._heads([(h.path, c.version_id) for h, _, c in found])
        rules = self._rules()
        result = []
        for history, markers, content in found:
            hiding = markers[-1]  # the marker that made the content noncurrent
            run = writers.get((history.path, hiding.version_id))
            meta = heads[(history.path, content.version_id)]
            retention = retention_for(rules, history.key)
            result.append(
                DeletedFile(
                    path=history.path,
                    deleted_at=hiding.modified,
                    deleted_by=run.user if run else UNKNOWN,
                    deleted_run=run.run_id if run else None,
                    markers=len(markers),
                    version_id=content.version_id,
                    size=content.size,
                    modified=content.modified,
                    author=meta.get(META_USER) or UNKNOWN,
                    # Newer noncurrent versions than the content: the markers under the top one.
                    recoverable_until=recoverable_until(
                        retention, hiding.modified, newer_noncurrent=len(markers) - 1
                    ),
                    lifecycle_rule=retention.rule_id if retention is not None else None,
                )
            )
        result.sort(key=lambda d: (d.deleted_at, d.path), reverse=True)
        return result

    def history(self, path: str) -> list[FileVersion]:
        """Every version and delete marker of one file, newest first."""
        if not path:
            raise errors.UserError("history needs a file path")
        found, folder = exact_history(self.remote, path)
        if found is None:
            if folder:
                raise errors.UserError(
                    f"{path} is a folder, and this takes one file (for a folder: "
                    f"'clouddrive deleted {path}' or 'clouddrive restore {path} --at WHEN')"
                )
            raise errors.UserError(f"{path}: no such file on S3 (never synced, or purged)")
        entries = found.entries
        heads = self._heads([(path, e.version_id) for e in entries if not e.is_delete_marker])
        writers = self.runs.writers([e.modified for e in entries])
        versions = []
        for entry in entries:
            run = writers.get((path, entry.version_id))
            meta = {} if entry.is_delete_marker else heads[(path, entry.version_id)]
            author = meta.get(META_USER) or (run.user if run else UNKNOWN)
            versions.append(
                FileVersion(
                    version_id=entry.version_id,
                    is_delete_marker=entry.is_delete_marker,
                    modified=entry.modified,
                    size=entry.size,
                    author=author,
                    is_latest=entry.is_latest,
                    etag=entry.etag,
                    run_id=run.run_id if run else None,
                    restored_from=meta.get(META_RESTORED_FROM),
                )
            )
        return versions

    def activity(
        self, *, since: datetime | None = None, limit: int | None = None
    ) -> list[RunRecord]:
        """The run records of every user of the prefix (started since `since`; the newest
        `limit` only, if given), newest first. Only the records shown are read."""
        refs = self.runs.refs(since=since)
        if limit is not None:
            if limit <= 0:
                return []
            # Keys name whole seconds: read every record of the boundary second, then cut.
            boundary = refs[-limit].started if len(refs) >= limit else None
            refs = [r for r in refs if boundary is None or r.started >= boundary]
        records = self.runs.read_many(refs)
        newest = sorted(records, key=lambda r: (r.started, r.run_id), reverse=True)
        return newest[:limit] if limit is not None else newest
