"""Time-travel plans: what a restore or undo will do, decided before anything is changed.

Every change is planned first (`TimeTravelPlan`: steps and skipped paths with reasons),
shown, confirmed, and then carried out (`clouddrive.history.apply`). A plan names what was
asked (`request`); when the same user asked the same before and that run did not finish
(killed, Ctrl-C), the plan is that run's own plan again (`resumes`), so that a rerun finishes
it instead of reading the run's own earlier writes as "changed since".
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from clouddrive import errors
from clouddrive.core.timeline import (
    KeyHistory,
    Op,
    Skip,
    Step,
    plan_at,
    plan_revert,
    plan_undelete,
    plan_version,
    top_markers,
)
from clouddrive.history.queries import exact_history, parallel
from clouddrive.history.records import RunAction, RunRecord
from clouddrive.history.runs import RunLog
from clouddrive.history.views import iso, step_json, utc_text
from clouddrive.ledger import S3Remote

__all__ = ["Planner", "TimeTravelPlan", "planned_action"]

#: S3 stamps entries with the server's clock, a run its own: allow this much between them.
CLOCK_SLACK = timedelta(seconds=5)

#: above this many keys, one listing of the whole drive beats one listing per key
_LIST_ALL_ABOVE = 40


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
    request: str = ""  #: what was asked, canonical (a rerun asks the same)
    resumes: RunRecord | None = None  #: the interrupted run this plan finishes

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
            "at": iso(self.at),
            "undo_of": self.undo_of,
            "resumes": self.resumes.run_id if self.resumes is not None else None,
            "steps": [step_json(s) for s in self.steps],
            "skipped": [{"path": s.path, "reason": s.reason} for s in self.skipped],
        }


def planned_action(step: Step, version_id: str | None = None) -> RunAction:
    """A step as a run record's action (`version_id`: what it wrote; None while planned)."""
    if step.op is Op.COPY:
        assert step.source is not None
        return RunAction("restore", step.path, version_id, step.expect, step.source.version_id)
    return RunAction("delete-remote", step.path, version_id, step.expect)


def _request(*parts: Any) -> str:
    return json.dumps(parts, default=str)


class Planner:
    """Plans restores and undos for one prefix, as one user."""

    def __init__(
        self,
        remote: S3Remote,
        runs: RunLog,
        user: str,
        workers: int,
        clock: Callable[[], datetime],
    ) -> None:
        self.remote = remote
        self.runs = runs
        self.user = user
        self.workers = workers
        self.clock = clock

    def _histories_of(self, paths: Sequence[str]) -> dict[str, KeyHistory]:
        """The histories of these exact keys (one listing each, or one for the whole drive)."""
        wanted = set(paths)
        if len(wanted) > _LIST_ALL_ABOVE:
            return {h.path: h for h in self.remote.histories("") if h.path in wanted}

        def one(path: str) -> KeyHistory | None:
            return exact_history(self.remote, path)[0]

        found = parallel(one, sorted(wanted), self.workers)
        return {h.path: h for h in found if h is not None}

    def _finish_unfinished(self, plan: TimeTravelPlan) -> TimeTravelPlan:
        """The same request's interrupted run, if there is one: its own plan again."""
        prior = self.runs.unfinished(self.user, plan.kind, plan.request)
        if prior is None or not prior.planned:
            return plan
        fresh = {s.path: s for s in plan.steps}
        histories = self._histories_of([a.path for a in prior.planned])
        steps: list[Step] = []
        skips: list[Skip] = []
        why = f"finishing the interrupted run {prior.run_id}"
        for action in prior.planned:
            reason = fresh[action.path].why if action.path in fresh else why
            if action.op != "restore":
                steps.append(Step(action.path, Op.DELETE, action.parent, why=reason))
                continue
            history = histories.get(action.path)
            source = (
                next((e for e in history.entries if e.version_id == action.source), None)
                if history is not None
                else None
            )
            if source is None:
                skips.append(Skip(action.path, "the version to restore is no longer in history"))
                continue
            steps.append(Step(action.path, Op.COPY, action.parent, source, reason))
        planned = {a.path for a in prior.planned}
        skips += [s for s in plan.skipped if s.path not in planned]
        return dataclasses.replace(
            plan,
            steps=tuple(sorted(steps, key=lambda s: s.path)),
            skipped=tuple(skips),
            resumes=prior,
        )

    def restore_deleted(
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
        targets = [""] if everything else list(dict.fromkeys(paths))
        for target in targets:
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
        plan = TimeTravelPlan(
            kind="restore-deleted",
            title=title,
            steps=tuple(sorted(steps.values(), key=lambda s: s.path)),
            skipped=tuple(skips),
            request=_request(sorted(set(targets)), everything, iso(since)),
        )
        return self._finish_unfinished(plan)

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

    def restore_version(self, path: str, version_id: str) -> TimeTravelPlan:
        """Make one old version of a file current again."""
        if not path:
            raise errors.UserError("--version needs a file path")
        found, folder = exact_history(self.remote, path)
        if found is None:
            if folder:
                raise errors.UserError(
                    f"{path} is a folder: --version needs a file (for a folder use --at WHEN)"
                )
            raise errors.UserError(f"{path}: no such file on S3")
        planned = plan_version(path, found.entries, version_id)
        steps = (planned,) if isinstance(planned, Step) else ()
        skips = (planned,) if isinstance(planned, Skip) else ()
        plan = TimeTravelPlan(
            kind="restore",
            title=f"restore {path} to version {version_id}",
            steps=steps,
            skipped=skips,
            request=_request(path, version_id),
        )
        return self._finish_unfinished(plan)

    def restore_at(self, path: str, moment: datetime) -> TimeTravelPlan:
        """Every key at or under `path` back to what it was at `moment`."""
        now = self.clock()
        if moment > now:
            raise errors.UserError("that time is in the future: nothing to go back to")
        histories = list(self.remote.histories(path))
        if not histories:
            raise errors.UserError(f"{path or 'the drive'}: nothing on S3 there")
        steps, skips = plan_at(histories, moment)
        plan = TimeTravelPlan(
            kind="restore-at",
            title=f"restore {path or 'the whole drive'} to {utc_text(moment)}",
            steps=tuple(steps),
            skipped=tuple(skips),
            at=moment,
            request=_request(path, iso(moment)),
        )
        return self._finish_unfinished(plan)

    def _unjournalled(
        self, record: RunRecord, created: dict[str, list[str]]
    ) -> list[tuple[str, str]]:
        """Writes a run made but did not record (`RunRecord.unconfirmed_writes`: killed
        between the write and its entry, or the answer lost and the write reported failed):
        for each such key, the entries of the right kind stamped within the run's time that
        no record claims."""
        wanted = {a.path: a.op for a in record.unconfirmed_writes if a.path not in created}
        if not wanted:
            return []
        histories = self._histories_of(list(wanted))
        start = record.started - CLOCK_SLACK
        end = (record.finished or datetime.now(UTC)) + CLOCK_SLACK
        candidates = [
            (path, entry)
            for path, op in wanted.items()
            if (history := histories.get(path)) is not None
            for entry in history.entries
            if start <= entry.modified <= end and entry.is_delete_marker == (op == "delete-remote")
        ]
        claimed = self.runs.writers([e.modified for _, e in candidates]).exact
        return [
            (path, e.version_id) for path, e in candidates if (path, e.version_id) not in claimed
        ]

    def undo(self, run_id: str) -> TimeTravelPlan:
        """Revert exactly what one run wrote on S3: each key back to the entry before the
        run's first write to it (its parent version, or deleted again), provided the run's
        write is still current."""
        record = self.runs.find(run_id)
        created: dict[str, list[str]] = {}
        for action in record.remote_actions:
            assert action.version_id is not None
            created.setdefault(action.path, []).append(action.version_id)
        for path, version_id in self._unjournalled(record, created):
            created.setdefault(path, []).append(version_id)
        local_only = len(record.actions) - len(record.remote_actions)
        title = (
            f"undo run {record.run_id} ({record.kind} by {record.user} at "
            f"{utc_text(record.started)})"
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
        plan = TimeTravelPlan(
            kind="undo",
            title=title,
            steps=tuple(steps),
            skipped=tuple(skips),
            undo_of=record.run_id,
            local_only=local_only,
            request=_request(record.run_id),
        )
        return self._finish_unfinished(plan)
