"""Time travel over a drive's prefix: recently deleted, version history, restore, undo.

Everything here reads the bucket's own versions (`S3Remote.histories`) and writes only
append-only changes: an old version is copied forward onto its key (`copy_forward`, which
goes by multipart copy past 5 GiB) or a delete marker is put. No version is ever removed.
Who wrote a version comes from its `clouddrive-user` metadata (one HEAD); who put a delete
marker comes from the run records (`clouddrive.history.runs`), or is "unknown" when the delete came
from outside clouddrive.

Every change is planned first (`TimeTravelPlan`: steps and skipped paths with reasons),
shown, confirmed, and then carried out step by step: each step re-reads its key and goes
ahead only if the key is still exactly as planned, so a change someone made in between is
never overwritten. A run that changed anything writes its own run record, so that it shows
in the activity feed and can itself be undone. `Drive` (engine) wraps this and brings the
restored files down into the drive at once.
"""

from __future__ import annotations

import logging
import socket
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from clouddrive import errors
from clouddrive.core.models import Action, ActionKind
from clouddrive.core.retention import recoverable_until, retention_for
from clouddrive.core.timeline import (
    Entry,
    KeyHistory,
    Op,
    Skip,
    Step,
    last_content,
    plan_at,
    plan_revert,
    plan_undelete,
    plan_version,
    top_markers,
)
from clouddrive.history.runs import RunAction, RunLog, RunRecord
from clouddrive.ledger import META_PARENT, META_USER, S3Remote

__all__ = [
    "META_RESTORED_FROM",
    "PULL_KINDS",
    "UNKNOWN",
    "DeletedFile",
    "FileVersion",
    "StepResult",
    "TimeTravel",
    "TimeTravelPlan",
    "TimeTravelReport",
    "left_reason",
    "restored_paths",
]

META_RESTORED_FROM = "clouddrive-restored-from"  #: on a copy forward: the version it copies
UNKNOWN = "unknown"  #: who, when no metadata or run record says
#: above this many keys, one listing of the whole drive beats one listing per key
_LIST_ALL_ABOVE = 40

log = logging.getLogger("clouddrive")


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat() if moment is not None else None


@dataclass(frozen=True)
class DeletedFile:
    """A key whose newest entry is a delete marker, and what restoring it brings back.

    `deleted_at` / `deleted_by` / `deleted_run` describe the marker that hid the content
    (the oldest of the `markers` stacked on top); `version_id`, `size`, `modified` and
    `author` the last content version.
    """

    path: str
    deleted_at: datetime
    deleted_by: str
    deleted_run: str | None
    markers: int
    version_id: str
    size: int
    modified: datetime
    author: str
    recoverable_until: datetime | None  #: None: no rule removes it (see `lifecycle_rule`)
    lifecycle_rule: str | None = None  #: the rule that expires it, if one applies

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "deleted_at": _iso(self.deleted_at),
            "deleted_by": self.deleted_by,
            "deleted_run": self.deleted_run,
            "delete_markers": self.markers,
            "version_id": self.version_id,
            "size": self.size,
            "modified": _iso(self.modified),
            "author": self.author,
            "recoverable_until": _iso(self.recoverable_until),
            "lifecycle_rule": self.lifecycle_rule,
        }


@dataclass(frozen=True)
class FileVersion:
    """One entry of a file's history: a version (content) or a delete marker."""

    version_id: str
    is_delete_marker: bool
    modified: datetime
    size: int
    author: str
    is_latest: bool
    etag: str | None = None
    run_id: str | None = None
    restored_from: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "version_id": self.version_id,
            "type": "delete-marker" if self.is_delete_marker else "version",
            "time": _iso(self.modified),
            "author": self.author,
            "size": self.size,
            "latest": self.is_latest,
            "etag": self.etag,
            "run_id": self.run_id,
            "restored_from": self.restored_from,
        }


def _step_json(step: Step) -> dict[str, Any]:
    return {
        "path": step.path,
        "action": step.op.value,
        "why": step.why,
        "version_id": step.source.version_id if step.source else None,
        "version_time": _iso(step.source.modified) if step.source else None,
        "size": step.source.size if step.source else 0,
        "replaces": step.expect,
    }


@dataclass(frozen=True)
class TimeTravelPlan:
    """What a restore or undo will do, before it does it."""

    kind: str  #: restore-deleted, restore, restore-at, undo (the run record's kind)
    title: str
    steps: tuple[Step, ...] = ()
    skipped: tuple[Skip, ...] = ()
    at: datetime | None = None
    undo_of: str | None = None
    local_only: int = 0  #: undo: actions of the run that changed only its own disk

    @property
    def is_empty(self) -> bool:
        return not self.steps

    @property
    def copies(self) -> int:
        return sum(1 for s in self.steps if s.op is Op.COPY)

    @property
    def deletes(self) -> int:
        return sum(1 for s in self.steps if s.op is Op.DELETE)

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "title": self.title,
            "at": _iso(self.at),
            "undo_of": self.undo_of,
            "steps": [_step_json(s) for s in self.steps],
            "skipped": [{"path": s.path, "reason": s.reason} for s in self.skipped],
        }


@dataclass
class StepResult:
    """What one step did: the version or marker it wrote, or why it did not."""

    step: Step
    version_id: str | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass
class TimeTravelReport:
    """A carried-out plan, and (when run on a drive) what came down into the folder."""

    plan: TimeTravelPlan
    run_id: str
    results: list[StepResult] = field(default_factory=list)
    record_key: str | None = None
    started: datetime | None = None
    downloaded: list[str] = field(default_factory=list)
    removed_here: list[str] = field(default_factory=list)
    left_for_sync: list[Skip] = field(default_factory=list)
    local_failed: list[Skip] = field(default_factory=list)
    local_note: str | None = None

    @property
    def done(self) -> list[StepResult]:
        return [r for r in self.results if r.ok]

    @property
    def failed(self) -> list[StepResult]:
        return [r for r in self.results if not r.ok]

    def note_local(
        self, done: Sequence[Action], failed: Sequence[tuple[Action, str]], left: Sequence[Action]
    ) -> None:
        """Record what bringing the changed paths into the drive did (see `Drive.pull`)."""
        self.downloaded += [a.path for a in done if a.kind is ActionKind.DOWNLOAD]
        self.removed_here += [a.path for a in done if a.kind is ActionKind.DELETE_LOCAL]
        self.local_failed += [Skip(a.path, error) for a, error in failed]
        self.left_for_sync += [Skip(a.path, left_reason(a)) for a in left]

    def to_json(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id if self.results else None,
            "plan": self.plan.to_json(),
            "done": [{**_step_json(r.step), "new_version_id": r.version_id} for r in self.done],
            "failed": [{**_step_json(r.step), "error": r.error} for r in self.failed],
            "record": self.record_key,
            "local": {
                "downloaded": self.downloaded,
                "removed": self.removed_here,
                "left_for_sync": [{"path": s.path, "reason": s.reason} for s in self.left_for_sync],
                "failed": [{"path": s.path, "reason": s.reason} for s in self.local_failed],
                "note": self.local_note,
            },
        }


#: what bringing S3's state into the drive may do without asking: only take S3's state
#: for files unchanged here (the rest waits for a sync, which shows its plan and asks)
PULL_KINDS = frozenset(
    {ActionKind.DOWNLOAD, ActionKind.DELETE_LOCAL, ActionKind.RECORD, ActionKind.FORGET}
)


def left_reason(action: Action) -> str:
    """Why a pull left a path alone, and what the next sync will do with it."""
    if action.kind is ActionKind.CONFLICT:
        return "changed here too: your next sync keeps both copies (it asks first)"
    if action.kind is ActionKind.UPLOAD:
        return "changed here: your next sync uploads your copy over it (it asks first)"
    if action.kind is ActionKind.DELETE_REMOTE:
        return "deleted here: your next sync would delete it on S3 again (it asks first)"
    return f"left for your next sync ({action.kind.value})"


def _utc(moment: datetime) -> str:
    return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC"


class TimeTravel:
    """Deleted files, history, restore and undo for one prefix, as one user."""

    def __init__(
        self,
        remote: S3Remote,
        user: str,
        *,
        runs: RunLog | None = None,
        workers: int = 8,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.remote = remote
        self.user = user
        self.runs = runs if runs is not None else RunLog(remote, workers=workers)
        self.workers = max(1, workers)
        self.clock = clock

    # -- reading ---------------------------------------------------------------------------

    def _parallel(self, fn: Callable[[Any], Any], items: Sequence[Any]) -> list[Any]:
        if len(items) <= 1:
            return [fn(item) for item in items]
        with ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="cd-tt") as pool:
            return list(pool.map(fn, items))

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

        return dict(zip(wanted, self._parallel(head, list(wanted)), strict=True))

    def _rules(self) -> list[dict[str, Any]]:
        try:
            return self.remote.lifecycle_rules()
        except (errors.CredentialsError, errors.BucketNotFound):
            raise
        except errors.RemoteError as exc:  # no permission to read them: say nothing
            log.debug("cannot read lifecycle rules: %s", exc)
            return []

    def _exact(self, path: str) -> tuple[KeyHistory | None, bool]:
        """The history of the key `path`, and whether keys exist under `path/` too."""
        found: KeyHistory | None = None
        folder = False
        for history in self.remote.histories(path):
            if history.path == path and not history.unsafe:
                found = history
            else:
                folder = True
        return found, folder

    def deleted(self, path: str = "", *, since: datetime | None = None) -> list[DeletedFile]:
        """Every key at or under `path` ("": the drive) whose newest entry is a delete
        marker and that still has a content version to bring back; newest deletes first."""
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
        found, folder = self._exact(path)
        if found is None:
            if folder:
                raise errors.UserError(
                    f"{path} is a folder; history shows one file (for a folder: "
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

    # -- planning --------------------------------------------------------------------------

    def plan_restore_deleted(
        self,
        paths: Sequence[str] = (),
        *,
        everything: bool = False,
        since: datetime | None = None,
    ) -> TimeTravelPlan:
        """Bring deleted files back: each PATH (a file, or every deleted key under a folder),
        or everything deleted in the drive; only deletes since `since`, if given."""
        if not paths and not everything:
            raise errors.UserError("name the deleted files or folders to restore, or use --all")
        steps: dict[str, Step] = {}
        skips: list[Skip] = []
        for target in [""] if everything else list(dict.fromkeys(paths)):
            file_seen = folder_seen = False
            restored_under = 0
            for history in self.remote.histories(target):
                is_file = bool(target) and history.path == target
                file_seen |= is_file
                folder_seen |= not is_file
                planned = self._undelete(history, since)
                if isinstance(planned, Step):
                    steps.setdefault(history.path, planned)
                    restored_under += not is_file
                elif is_file or (history.unsafe and history.entries[0].is_delete_marker):
                    skips.append(planned)  # a folder's live files are not worth a line
            if everything:
                continue
            if not file_seen and not folder_seen:
                skips.append(Skip(target, "not on S3: no such file or folder"))
            elif folder_seen and not restored_under and not file_seen:
                later = " since that time" if since is not None else ""
                skips.append(Skip(f"{target}/", f"nothing under this folder was deleted{later}"))
        title = "restore everything deleted" if everything else "restore deleted files"
        return TimeTravelPlan(
            kind="restore-deleted",
            title=title,
            steps=tuple(sorted(steps.values(), key=lambda s: s.path)),
            skipped=tuple(skips),
        )

    @staticmethod
    def _undelete(history: KeyHistory, since: datetime | None) -> Step | Skip:
        if history.unsafe:
            return Skip(history.path, f"no safe local name ({history.unsafe}); left on S3")
        planned = plan_undelete(history.path, history.entries)
        deleted_at = (
            top_markers(history.entries)[-1].modified if isinstance(planned, Step) else None
        )
        if since is not None and deleted_at is not None and deleted_at < since:
            return Skip(history.path, "deleted before the --since time")
        return planned

    def plan_restore_version(self, path: str, version_id: str) -> TimeTravelPlan:
        """Make one old version of a file current again."""
        if not path:
            raise errors.UserError("--version needs a file path")
        found, folder = self._exact(path)
        if found is None:
            if folder:
                raise errors.UserError(
                    f"{path} is a folder: --version needs a file (for a folder use --at WHEN)"
                )
            raise errors.UserError(f"{path}: no such file on S3")
        planned = plan_version(path, found.entries, version_id)
        steps = (planned,) if isinstance(planned, Step) else ()
        skips = (planned,) if isinstance(planned, Skip) else ()
        return TimeTravelPlan(
            kind="restore",
            title=f"restore {path} to version {version_id}",
            steps=steps,
            skipped=skips,
        )

    def plan_restore_at(self, path: str, moment: datetime) -> TimeTravelPlan:
        """Every key at or under `path` back to what it was at `moment`."""
        now = self.clock()
        if moment > now:
            raise errors.UserError("that time is in the future: nothing to go back to")
        histories = list(self.remote.histories(path))
        if not histories:
            raise errors.UserError(f"{path or 'the drive'}: nothing on S3 there")
        steps, skips = plan_at(histories, moment)
        return TimeTravelPlan(
            kind="restore-at",
            title=f"restore {path or 'the whole drive'} to {_utc(moment)}",
            steps=tuple(steps),
            skipped=tuple(skips),
            at=moment,
        )

    def _histories_of(self, paths: Sequence[str]) -> dict[str, KeyHistory]:
        """The histories of these exact keys (one listing each, or one for the whole drive)."""
        wanted = set(paths)
        if len(wanted) > _LIST_ALL_ABOVE:
            return {h.path: h for h in self.remote.histories("") if h.path in wanted}

        def one(path: str) -> KeyHistory | None:
            return self._exact(path)[0]

        found = self._parallel(one, sorted(wanted))
        return {h.path: h for h in found if h is not None}

    def plan_undo(self, run_id: str) -> TimeTravelPlan:
        """Revert exactly what one run wrote on S3: each key back to the entry before the
        run's first write to it (its parent version, or deleted again), provided the run's
        write is still current."""
        record = self.runs.find(run_id)
        created: dict[str, list[str]] = {}
        for action in record.remote_actions:
            assert action.version_id is not None
            created.setdefault(action.path, []).append(action.version_id)
        local_only = len(record.actions) - len(record.remote_actions)
        title = (
            f"undo run {record.run_id} ({record.kind} by {record.user} at {_utc(record.started)})"
        )
        if not created:
            where = record.host or "its own machine"
            raise errors.UserError(
                f"run {record.run_id} changed nothing on S3 (only files on {where}); "
                "nothing to undo"
            )
        histories = self._histories_of(list(created))
        steps: list[Step] = []
        skips: list[Skip] = []
        for path in sorted(created):
            history = histories.get(path)
            if history is None:
                skips.append(Skip(path, "no longer on S3 (its history was purged)"))
                continue
            planned = plan_revert(path, history.entries, created[path])
            if isinstance(planned, Step):
                steps.append(planned)
            else:
                skips.append(planned)
        return TimeTravelPlan(
            kind="undo",
            title=title,
            steps=tuple(steps),
            skipped=tuple(skips),
            undo_of=record.run_id,
            local_only=local_only,
        )

    # -- doing -----------------------------------------------------------------------------

    def execute(
        self,
        plan: TimeTravelPlan,
        *,
        on_result: Callable[[StepResult], None] | None = None,
        record: bool = True,
    ) -> TimeTravelReport:
        """Carry the plan out, each step only if its key is still as planned; then write
        the run record if anything changed (`record=False`: the caller calls
        `write_record` itself, say after adding what it did locally)."""
        report = TimeTravelReport(plan=plan, run_id=uuid.uuid4().hex[:10])
        if plan.is_empty:
            return report
        self.remote.require_versioning()  # without it, a copy or delete would destroy
        report.started = self.clock()

        def run(step: Step) -> StepResult:
            result = self._run_step(step)
            if on_result is not None:
                on_result(result)
            return result

        report.results = self._parallel(run, list(plan.steps))
        if record:
            self.write_record(report)
        return report

    def _run_step(self, step: Step) -> StepResult:
        result = StepResult(step)
        try:
            current = self.remote.latest(step.path)
            now_id = current.version_id if current is not None else None
            if now_id != step.expect:
                result.error = "changed on S3 since the plan; left as it is"
                return result
            if step.op is Op.COPY:
                assert step.source is not None
                result.version_id = self._copy_forward(step.path, step.source, now_id)
            else:
                assert current is not None and not current.is_delete_marker
                result.version_id = self.remote.delete(step.path, if_match=current.etag)
        except errors.PreconditionFailed:
            result.error = "changed on S3 since the plan; left as it is"
        except (errors.CredentialsError, errors.BucketNotFound, errors.VersioningNotEnabled):
            raise
        except errors.CloudDriveError as exc:
            result.error = str(exc)
        return result

    def _copy_forward(self, path: str, source: Entry, replaces: str | None) -> str:
        """Copy `source` onto its key, naming who restored it, from what, over what."""
        head = self.remote.head_version(path, source.version_id)
        metadata = {str(k).lower(): str(v) for k, v in head.get("Metadata", {}).items()}
        metadata[META_USER] = self.user
        metadata[META_RESTORED_FROM] = source.version_id
        if replaces is not None:
            metadata[META_PARENT] = replaces
        else:
            metadata.pop(META_PARENT, None)
        size = int(head.get("ContentLength", source.size) or 0)
        return self.remote.copy_forward(
            path, source.version_id, size=size, metadata=metadata
        ).version_id

    def write_record(self, report: TimeTravelReport, local: Sequence[RunAction] = ()) -> str | None:
        """Write the run record of a carried-out plan (if it changed anything on S3), with
        `local`: what the same run then did to the drive's files (downloads, local deletes).
        Sets and returns `report.record_key` (None if S3 refused: logged, not raised)."""
        if not report.done or report.started is None:
            return None
        actions: list[RunAction] = []
        for result in report.done:
            step = result.step
            if step.op is Op.COPY:
                assert step.source is not None
                actions.append(
                    RunAction(
                        "restore",
                        step.path,
                        result.version_id,
                        step.expect,
                        step.source.version_id,
                    )
                )
            else:
                actions.append(
                    RunAction("delete-remote", step.path, result.version_id, step.expect)
                )
        record = RunRecord(
            run_id=report.run_id,
            user=self.user,
            host=socket.gethostname(),
            started=report.started,
            finished=self.clock(),
            kind=report.plan.kind,
            actions=(*actions, *local),
            failed=tuple(
                {"path": r.step.path, "action": r.step.op.value, "error": r.error}
                for r in report.failed
            ),
            undo_of=report.plan.undo_of,
            at=report.plan.at,
        )
        try:
            report.record_key = self.runs.write(record)
        except errors.RemoteError as exc:
            log.warning("could not write the run record of %s: %s", report.run_id, exc)
        return report.record_key


def restored_paths(report: TimeTravelReport) -> list[str]:
    """The paths a report changed on S3 (what the drive should bring down)."""
    return sorted({r.step.path for r in report.done})
