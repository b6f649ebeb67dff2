"""The engine: one drive's operations, tying scanner, ledger, state, planner and executor.

The CLI, the Python API (and later the TUI) are thin shells over `Drive`; nothing above this
module talks to boto3 or the disk's sync state directly.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import posixpath
import shutil
import socket
import threading
import uuid
from collections.abc import Callable, Collection, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from clouddrive import errors
from clouddrive.core import planner
from clouddrive.core.models import (
    Action,
    ActionKind,
    BaseEntry,
    LocalChange,
    LocalFile,
    Plan,
    RemoteChange,
    RemoteEntry,
    Skipped,
)
from clouddrive.core.paths import find_collisions, normalize_prefix
from clouddrive.embedded.server import (
    DEFAULT_BUCKET,
    EMBEDDED_ACCESS_KEY,
    EMBEDDED_SECRET_KEY,
    ensure_embedded,
)
from clouddrive.history.lookup import VersionText, changed_by, read_version
from clouddrive.history.runs import RunAction, RunLog, RunRecord
from clouddrive.history.timetravel import (
    PULL_KINDS,
    DeletedFile,
    FileVersion,
    StepResult,
    TimeTravel,
    TimeTravelPlan,
    TimeTravelReport,
    restored_paths,
)
from clouddrive.ledger import RetryPolicy, S3Remote, connect
from clouddrive.local.config import DriveConfig, find_root, internal_dir
from clouddrive.local.ignore import IgnoreRules
from clouddrive.local.lock import DriveLock
from clouddrive.local.scanner import FsTraits, file_sha256, probe_fs, scan
from clouddrive.local.state import StateStore
from clouddrive.sync.executor import Executor, Outcome, Transfer, clean_tmp
from clouddrive.sync.resolve import Choice, resolve_conflict

__all__ = [
    "DEFAULT_MAX_DELETE",
    "Drive",
    "PullReport",
    "SyncReport",
    "check_guards",
]

DEFAULT_MAX_DELETE = 50  #: and more than half of the base: a plan past both stops to ask
MAX_REPLANS = 3  #: how many lost races one path may go through in one run

log = logging.getLogger("clouddrive")


@dataclass
class SyncReport:
    """What a sync run planned and did."""

    plan: Plan
    run_id: str
    log_path: Path | None = None
    outcomes: list[Outcome] = field(default_factory=list)
    dry_run: bool = False
    cancelled: bool = False

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.ok]

    @property
    def done(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.ok]

    @property
    def transfers(self) -> list[Transfer]:
        return [t for o in self.outcomes if o.ok for t in o.transfers]


@dataclass
class PullReport(SyncReport):
    """A pull (`Drive.pull`): a sync restricted to some paths and to taking S3's state;
    `left` are the actions at those paths that wait for the next sync."""

    left: tuple[Action, ...] = ()


def check_guards(
    plan: Plan, base_count: int, *, max_delete: int | None = None, force: bool = False
) -> None:
    """Stop before a run that looks like a mistake: vanished history, or a mass delete."""
    if force:
        return
    if plan.vanished:
        sample = ", ".join(repr(p) for p in plan.vanished[:3])
        raise errors.GuardTripped(
            f"{len(plan.vanished)} file(s) vanished from S3 without a delete marker ({sample}"
            f"{', ...' if len(plan.vanished) > 3 else ''}): their history may have been purged; "
            "nothing was changed. Run with --force to upload your copies again"
        )
    for count, where in ((plan.local_deletes, "locally"), (plan.remote_deletes, "on S3")):
        if max_delete is not None:
            tripped = count > max_delete
        else:
            tripped = count > DEFAULT_MAX_DELETE and count * 2 > base_count
        if tripped:
            limit = max_delete if max_delete is not None else DEFAULT_MAX_DELETE
            raise errors.GuardTripped(
                f"the plan deletes {count} files {where} (limit {limit}); nothing was changed. "
                "Check the plan with 'clouddrive status', then use --max-delete N or --force"
            )


def _excluded(path: str, prefixes: set[str]) -> bool:
    if path in prefixes:
        return True
    parts = path.split("/")
    return any("/".join(parts[:i]) in prefixes for i in range(1, len(parts)))


def _both_changed(local: LocalFile | None, remote: RemoteEntry | None, b: BaseEntry | None) -> bool:
    return planner.classify_local(local, b) in (
        LocalChange.CREATED,
        LocalChange.MODIFIED,
    ) and planner.classify_remote(remote, b) in (RemoteChange.CREATED, RemoteChange.MODIFIED)


@dataclass
class _Inputs:
    local: dict[str, LocalFile]
    remote: dict[str, RemoteEntry]
    base: dict[str, BaseEntry]
    skipped: list[Skipped]


class Drive:
    """A local folder paired with s3://BUCKET/PREFIX/, and everything you can do with it."""

    def __init__(
        self,
        root: Path,
        config: DriveConfig,
        *,
        remote: S3Remote | None = None,
        retry: RetryPolicy | None = None,
        fs_traits: FsTraits | None = None,
    ) -> None:
        self.root = root.resolve()
        self.config = config
        self._remote = remote
        self._retry = retry
        self._fs_traits = fs_traits
        self._state: StateStore | None = None

    # -- opening ---------------------------------------------------------------------------

    @classmethod
    def open(cls, root: Path | str | None = None, **kwargs: object) -> Drive:
        """The drive at `root`, or the one containing the current folder."""
        folder = find_root(Path(root) if root is not None else Path.cwd())
        return cls(folder, DriveConfig.load(folder), **kwargs)  # type: ignore[arg-type]

    @classmethod
    def init(
        cls,
        root: Path | str,
        *,
        bucket: str | None = None,
        prefix: str | None = None,
        endpoint_url: str | None = None,
        profile: str | None = None,
        region: str | None = None,
        user: str | None = None,
        consent: Callable[[str], bool] = lambda question: False,
    ) -> Drive:
        """Create a drive: check the bucket (and its versioning) first, then write the config.

        Nothing is written if a check fails. `consent` is asked before enabling versioning.
        """
        folder = Path(root).expanduser()
        if folder.exists() and not folder.is_dir():
            raise errors.ConfigError(f"{folder} exists and is not a folder")
        config = DriveConfig(
            bucket=bucket or DEFAULT_BUCKET,
            prefix=normalize_prefix(prefix),
            endpoint_url=endpoint_url,
            profile=profile,
            region=region,
            user=user,
            embedded=bucket is None,
        )
        try:
            existing = DriveConfig.load(folder.resolve())
        except errors.NotADrive:
            existing = None
        if existing is not None and existing != config:
            raise errors.ConfigError(
                f"{folder} is already a drive for s3://{existing.bucket}/{existing.prefix}"
            )
        drive = cls(folder, config)
        remote = drive.remote
        remote.bucket_exists()
        status = remote.versioning_status()
        if status != "Enabled":
            question = (
                f"Bucket '{config.bucket}' has versioning "
                f"{'suspended' if status == 'Suspended' else 'off'}; clouddrive needs it on "
                "(every overwrite and delete stays recoverable; old versions cost storage). "
                "Enable versioning now?"
            )
            if not consent(question):
                raise errors.VersioningNotEnabled(
                    f"versioning is not enabled on bucket '{config.bucket}'; nothing was changed"
                )
            remote.enable_versioning()
        folder.mkdir(parents=True, exist_ok=True)
        drive.root = folder.resolve()
        config.save(drive.root)
        return drive

    @property
    def remote(self) -> S3Remote:
        if self._remote is None:
            cfg = self.config
            endpoint, access, secret = cfg.endpoint_url, None, None
            if cfg.embedded:
                endpoint = ensure_embedded().endpoint_url
                access, secret = EMBEDDED_ACCESS_KEY, EMBEDDED_SECRET_KEY
            self._remote = connect(
                cfg.bucket,
                cfg.prefix,
                endpoint_url=endpoint,
                profile=cfg.profile,
                region=cfg.region,
                access_key=access,
                secret_key=secret,
                max_connections=cfg.workers + 4,
                retry=self._retry,
            )
            self._remote.multipart_threshold = cfg.multipart_threshold_mib * 1024 * 1024
            self._remote.part_size = max(5, cfg.part_size_mib) * 1024 * 1024
            self._remote.page_size = cfg.list_page_size
            self._remote.upload_journal = internal_dir(self.root) / "uploads"
        return self._remote

    @property
    def state(self) -> StateStore:
        if self._state is None:
            self._state = StateStore(internal_dir(self.root) / "state.db")
        return self._state

    @property
    def user(self) -> str:
        return self.config.user_name

    @property
    def uri(self) -> str:
        prefix = f"{self.config.prefix}/" if self.config.prefix else ""
        return f"s3://{self.config.bucket}/{prefix}"

    def close(self) -> None:
        if self._state is not None:
            self._state.close()
            self._state = None

    def __enter__(self) -> Drive:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- planning --------------------------------------------------------------------------

    def _traits(self) -> FsTraits:
        if self._fs_traits is None:
            self._fs_traits = probe_fs(internal_dir(self.root) / "probe")
        return self._fs_traits

    def _gather(self) -> _Inputs:
        """Both sides and the base, minus ignored, unsafe and colliding paths."""
        remote = self.remote
        remote.require_versioning()
        listing = remote.list_latest()
        base = self.state.load()
        # A base with no entry would read as "vanished": read those keys again on their own
        # first, in case the listing dropped them (some servers' pagination does).
        listing.entries.update(remote.recheck(p for p in base if p not in listing.entries))
        ignore = IgnoreRules.load(self.root)
        local_scan = scan(self.root, base, ignore)
        skipped = [*listing.skipped, *local_scan.skipped]
        present = {p for p, e in listing.entries.items() if not e.is_delete_marker}
        traits = self._traits()
        collisions = find_collisions(
            present | set(local_scan.files),
            case_insensitive=traits.case_insensitive,
            normalizes_unicode=traits.normalizes_unicode,
        )
        skipped += [Skipped(p, reason) for p, reason in sorted(collisions.items())]
        # A path left out on either side is left out of the whole plan: an unreadable local
        # file must not read as "deleted", nor a skipped key as "vanished".
        excluded = {s.path for s in skipped}

        def keep(path: str) -> bool:
            return not ignore.file_ignored(path) and not _excluded(path, excluded)

        return _Inputs(
            local={p: f for p, f in local_scan.files.items() if keep(p)},
            remote={p: e for p, e in listing.entries.items() if keep(p)},
            base={p: b for p, b in base.items() if keep(p)},
            skipped=skipped,
        )

    def _enrich_one(self, local: LocalFile, remote: RemoteEntry) -> RemoteEntry:
        """Learn the remote content's sha256 by comparing it with the local file (metadata,
        a plain or multipart ETag, or hashing the download): equal content is adopted."""
        sha = self.remote.sha256_against(remote, self.root / local.path, local.sha256)
        return dataclasses.replace(remote, sha256=sha)

    def _enrich(self, inputs: _Inputs) -> None:
        """HEAD only the keys where both sides changed: the same content is no conflict."""
        todo = [
            (inputs.local[p], inputs.remote[p])
            for p in inputs.local.keys() & inputs.remote.keys()
            if _both_changed(inputs.local[p], inputs.remote[p], inputs.base.get(p))
        ]
        if not todo:
            return
        with ThreadPoolExecutor(max_workers=self.config.workers) as pool:
            for entry in pool.map(lambda lr: self._enrich_one(*lr), todo):
                inputs.remote[entry.path] = entry

    def _plan(self, inputs: _Inputs) -> Plan:
        self._enrich(inputs)
        plan = planner.plan(
            inputs.local, inputs.remote, inputs.base, user=self.user, now=datetime.now(UTC)
        )
        return dataclasses.replace(plan, skipped=tuple(inputs.skipped))

    def status(self) -> Plan:
        """The plan of the next sync; nothing is changed."""
        return self._plan(self._gather())

    # -- syncing ---------------------------------------------------------------------------

    def sync(
        self,
        *,
        confirm: Callable[[Plan], bool] | None = None,
        dry_run: bool = False,
        max_delete: int | None = None,
        force: bool = False,
        on_outcome: Callable[[Outcome], None] | None = None,
        on_plan: Callable[[Plan], None] | None = None,
        cancel: threading.Event | None = None,
        skip: Collection[str] = (),
        on_start: Callable[[Action], None] | None = None,
    ) -> SyncReport:
        """Plan, check the guards, ask `confirm` (if given), then carry the plan out.

        `skip`: paths (files, or folders: all under them) left out of this run, as if they
        had no action; `on_start` is told (on a worker thread) as each action begins.
        """
        run_id = uuid.uuid4().hex[:10]
        with DriveLock(internal_dir(self.root) / "lock"):
            clean_tmp(self.root)
            self.remote.abort_interrupted_uploads()
            inputs = self._gather()
            plan = self._plan(inputs)
            if skip:
                left_out = set(skip)
                plan = dataclasses.replace(
                    plan,
                    actions=tuple(a for a in plan.actions if not _excluded(a.path, left_out)),
                    vanished=tuple(p for p in plan.vanished if not _excluded(p, left_out)),
                )
            report = SyncReport(plan=plan, run_id=run_id, dry_run=dry_run)
            if on_plan is not None:
                on_plan(plan)
            check_guards(plan, len(inputs.base), max_delete=max_delete, force=force)
            if dry_run or plan.is_empty:
                return report
            # Bookkeeping alone (files touched but identical) needs nobody's consent.
            if confirm is not None and plan.visible() and not confirm(plan):
                raise errors.Refused("sync cancelled; nothing was changed")
            started = datetime.now(UTC)
            report.log_path, handler = self._open_log(started, run_id)
            try:
                log.info("sync %s of %s with %s as %s", run_id, self.root, self.uri, self.user)
                for left in plan.skipped:
                    log.warning("skipped %s: %s", left.path, left.reason)
                self._execute(plan.actions, report, on_outcome, cancel, on_start)
                report.cancelled = bool(cancel and cancel.is_set())
                self.state.set_meta("last_sync", datetime.now(UTC).isoformat())
                self._write_run_record(report, started)
            finally:
                log.removeHandler(handler)
                handler.close()
        return report

    def _execute(
        self,
        actions: Iterable[Action],
        report: SyncReport,
        on_outcome: Callable[[Outcome], None] | None,
        cancel: threading.Event | None,
        on_start: Callable[[Action], None] | None = None,
    ) -> None:
        executor = Executor(
            self.root,
            self.remote,
            user=self.user,
            workers=self.config.workers,
            cancel=cancel,
            on_start=on_start,
        )
        retry: list[Action] = []

        def record(outcome: Outcome) -> None:
            for entry in outcome.bases:
                self.state.put(entry)
            for path in outcome.forget:
                self.state.forget(path)
            if outcome.replan:
                retry.append(outcome.action)
                return
            report.outcomes.append(outcome)
            self._log_outcome(outcome)
            if on_outcome is not None:
                on_outcome(outcome)

        executor.run(actions, record)
        for _round in range(MAX_REPLANS):
            if not retry:
                return
            lost, retry = retry, []
            fresh = [a for a in (self._replan(action.path) for action in lost) if a is not None]
            executor.run(fresh, record)
        for action in retry:
            outcome = Outcome(action, error="kept losing races with other writers; try again")
            report.outcomes.append(outcome)
            self._log_outcome(outcome)
            if on_outcome is not None:
                on_outcome(outcome)

    def _replan(self, path: str) -> Action | None:
        """A conditional write lost a race: re-read this key and this file, decide again."""
        remote = self.remote.latest(path)
        base = self.state.load().get(path)
        target = self.root / path
        local: LocalFile | None = None
        if target.is_file() and not target.is_symlink():
            st = target.lstat()
            local = LocalFile(path, st.st_size, st.st_mtime_ns, file_sha256(target))
        if local is not None and remote is not None and _both_changed(local, remote, base):
            remote = self._enrich_one(local, remote)
        folder = posixpath.dirname(path)
        names = [p.name for p in target.parent.iterdir()] if target.parent.is_dir() else []
        taken = {posixpath.join(folder, name) for name in names}
        return planner.decide(
            path, local, remote, base, user=self.user, now=datetime.now(UTC), taken=taken
        )

    # -- records ---------------------------------------------------------------------------

    def _open_log(self, started: datetime, run_id: str) -> tuple[Path, logging.Handler]:
        logs = internal_dir(self.root) / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        path = logs / f"{started:%Y%m%dT%H%M%SZ}-{run_id}.log"
        handler = logging.FileHandler(path, encoding="utf-8")
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        return path, handler

    @staticmethod
    def _log_outcome(outcome: Outcome) -> None:
        action = outcome.action
        if outcome.error:
            log.warning("skipped %s %s: %s", action.kind.value, action.path, outcome.error)
        else:
            log.info(
                "%s %s%s", action.kind.value, action.path, f" ({outcome.note})" * bool(outcome.note)
            )

    def _write_run_record(self, report: SyncReport, started: datetime, kind: str = "sync") -> None:
        """Who did what: one small JSON object per run that changed anything (runs.py)."""
        transfers = report.transfers
        if not transfers:
            return
        record = RunRecord(
            run_id=report.run_id,
            user=self.user,
            host=socket.gethostname(),
            started=started,
            finished=datetime.now(UTC),
            kind=kind,
            actions=tuple(RunAction(t.op, t.path, t.version_id, t.parent) for t in transfers),
            failed=tuple(
                {"path": o.action.path, "action": o.action.kind.value, "error": o.error}
                for o in report.failed
            ),
        )
        try:
            self.runs.write(record)
        except errors.RemoteError as exc:
            log.warning("could not write the run record of %s: %s", report.run_id, exc)

    # -- bringing S3's state down ------------------------------------------------------------

    def pull(
        self,
        paths: Collection[str],
        *,
        on_outcome: Callable[[Outcome], None] | None = None,
        record: bool = True,
    ) -> PullReport:
        """Bring S3's current state of `paths` (files, or folders: all under them) into the
        folder now, for files not changed here: downloads and local deletes only.

        Whatever else the sync plan has for those paths (a local edit, a conflict) is left for
        the next sync, which shows it and asks (`PullReport.left`); nothing elsewhere in the
        drive is touched. Used after a restore, so that it "also downloads it at once" (with
        `record=False`: the restore's own run record lists the pull's actions).
        """
        run_id = uuid.uuid4().hex[:10]
        wanted = set(paths)
        with DriveLock(internal_dir(self.root) / "lock"):
            clean_tmp(self.root)
            self.remote.abort_interrupted_uploads()
            full = self._plan(self._gather())
            mine = [a for a in full.actions if _excluded(a.path, wanted)]
            plan = Plan(
                actions=tuple(a for a in mine if a.kind in PULL_KINDS),
                skipped=tuple(s for s in full.skipped if _excluded(s.path, wanted)),
            )
            left = tuple(a for a in mine if a.kind not in PULL_KINDS)
            report = PullReport(plan=plan, run_id=run_id, left=left)
            if plan.is_empty:
                return report
            started = datetime.now(UTC)
            report.log_path, handler = self._open_log(started, run_id)
            try:
                log.info("pull %s of %d path(s) into %s", run_id, len(wanted), self.root)
                self._execute(plan.actions, report, on_outcome, None)
                self.state.set_meta("last_sync", datetime.now(UTC).isoformat())
                if record:
                    self._write_run_record(report, started, kind="pull")
            finally:
                log.removeHandler(handler)
                handler.close()
        return report

    # -- time travel: deleted files, history, restore, undo (timetravel.py) -----------------

    @functools.cached_property
    def runs(self) -> RunLog:
        """The prefix's run records; each one read is cached in .clouddrive/cache/runs/."""
        cache = internal_dir(self.root) / "cache" / "runs"
        return RunLog(self.remote, cache_dir=cache, workers=self.config.workers)

    @functools.cached_property
    def timetravel(self) -> TimeTravel:
        return TimeTravel(self.remote, self.user, runs=self.runs, workers=self.config.workers)

    def deleted(self, path: str = "", *, since: datetime | None = None) -> list[DeletedFile]:
        """Recently deleted: every file at or under `path` ("": the drive) whose newest entry
        on S3 is a delete marker, with who deleted it and when; newest first."""
        return self.timetravel.deleted(path, since=since)

    def history(self, path: str) -> list[FileVersion]:
        """Every version and delete marker of one file, newest first, with their authors."""
        return self.timetravel.history(path)

    def activity(
        self, *, since: datetime | None = None, limit: int | None = None
    ) -> list[RunRecord]:
        """The runs of every user of the prefix (since `since`, the newest `limit`), newest
        first."""
        return self.timetravel.activity(since=since, limit=limit)

    def plan_restore_deleted(
        self, paths: Sequence[str] = (), *, everything: bool = False, since: datetime | None = None
    ) -> TimeTravelPlan:
        """What `restore_deleted` would do; nothing is changed."""
        return self.timetravel.plan_restore_deleted(paths, everything=everything, since=since)

    def plan_restore(
        self, path: str, *, version_id: str | None = None, at: datetime | None = None
    ) -> TimeTravelPlan:
        """What `restore` would do (one version of a file, or a file or folder as it was at a
        moment); nothing is changed."""
        if (version_id is None) == (at is None):
            raise errors.UserError("restore needs either a version id or a time (--version/--at)")
        if version_id is not None:
            return self.timetravel.plan_restore_version(path, version_id)
        assert at is not None
        return self.timetravel.plan_restore_at(path, at)

    def plan_undo(self, run_id: str) -> TimeTravelPlan:
        """What `undo` would do; nothing is changed."""
        return self.timetravel.plan_undo(run_id)

    def apply(
        self,
        plan: TimeTravelPlan,
        *,
        confirm: Callable[[TimeTravelPlan], bool] | None = None,
        pull: bool = True,
        on_result: Callable[[StepResult], None] | None = None,
    ) -> TimeTravelReport:
        """Carry out a time-travel plan (after `confirm`, if given), then bring the changed
        paths into this folder at once (`pull`: files unchanged here only)."""
        if confirm is not None and not plan.is_empty and not confirm(plan):
            raise errors.Refused("cancelled; nothing was changed")
        report = self.timetravel.execute(plan, on_result=on_result, record=False)
        changed = restored_paths(report)
        local: list[RunAction] = []
        try:
            if pull and changed:
                pulled = self.pull(changed, record=False)
                report.note_local(
                    [o.action for o in pulled.done],
                    [(o.action, o.error or "failed") for o in pulled.failed],
                    list(pulled.left),
                )
                local = [RunAction(t.op, t.path, t.version_id, t.parent) for t in pulled.transfers]
        except errors.LockHeld:
            report.local_note = "another sync of this drive is running; the next sync brings it"
        except errors.CloudDriveError as exc:
            report.local_note = f"changed on S3, but not yet here ({exc}); the next sync brings it"
        finally:
            self.timetravel.write_record(report, local)  # one record: S3 and local actions
        return report

    def restore_deleted(
        self,
        paths: Sequence[str] = (),
        *,
        everything: bool = False,
        since: datetime | None = None,
        confirm: Callable[[TimeTravelPlan], bool] | None = None,
    ) -> TimeTravelReport:
        """Bring deleted files (or every deleted file under folders) back, on S3 by copying
        the last version forward, and here at once."""
        plan = self.plan_restore_deleted(paths, everything=everything, since=since)
        return self.apply(plan, confirm=confirm)

    def restore(
        self,
        path: str,
        *,
        version_id: str | None = None,
        at: datetime | None = None,
        confirm: Callable[[TimeTravelPlan], bool] | None = None,
    ) -> TimeTravelReport:
        """Make an old version current again, or a file or folder what it was at `at`."""
        return self.apply(self.plan_restore(path, version_id=version_id, at=at), confirm=confirm)

    def undo(
        self, run_id: str, *, confirm: Callable[[TimeTravelPlan], bool] | None = None
    ) -> TimeTravelReport:
        """Revert exactly what one run wrote on S3 (see `TimeTravel.plan_undo`)."""
        return self.apply(self.plan_undo(run_id), confirm=confirm)

    # -- settling one conflict; look-ups for views (resolve.py, lookup.py) -------------------

    def resolve(self, path: str, choice: str) -> SyncReport:
        """Settle the conflict at `path` now: keep `mine` (theirs stays in the file's
        history), `theirs` (yours stays restorable in recently deleted) or `both` (what a sync
        does). The path is planned afresh first; if it is no longer a conflict, nothing is
        changed (UserError). A lost race is a failed outcome, with nothing overwritten."""
        how = Choice.parse(choice)
        run_id = uuid.uuid4().hex[:10]
        with DriveLock(internal_dir(self.root) / "lock"):
            clean_tmp(self.root)
            self.remote.abort_interrupted_uploads()
            self.remote.require_versioning()
            action = self._replan(path)
            if action is None or action.kind is not ActionKind.CONFLICT:
                now = "nothing to do" if action is None else action.kind.value
                raise errors.UserError(f"{path} is not in conflict any more ({now}); refresh")
            report = SyncReport(plan=Plan(actions=(action,)), run_id=run_id)
            started = datetime.now(UTC)
            report.log_path, handler = self._open_log(started, run_id)
            try:
                log.info("resolve %s: keep %s, as %s", path, how.value, self.user)
                executor = Executor(self.root, self.remote, user=self.user, workers=1)
                outcome = resolve_conflict(executor, action, how)
                for entry in outcome.bases:
                    self.state.put(entry)
                for gone in outcome.forget:
                    self.state.forget(gone)
                report.outcomes.append(outcome)
                self._log_outcome(outcome)
                self._write_run_record(report, started, kind="resolve")
            finally:
                log.removeHandler(handler)
                handler.close()
        return report

    @property
    def endpoint(self) -> str:
        """The S3 endpoint this drive talks to (connects first, if need be)."""
        return str(self.remote.client.meta.endpoint_url)

    def changed_by(self, entries: Sequence[RemoteEntry]) -> dict[str, str]:
        """path -> who wrote each entry (a plan's remote side): version metadata, or the
        run record of a delete marker; "unknown" when nothing says."""
        return changed_by(self.remote, self.runs, entries, workers=self.config.workers)

    def read_version(self, path: str, version_id: str, *, limit: int = 1 << 20) -> VersionText:
        """One version's content (checked like a download), if it is at most `limit` bytes."""
        return read_version(self.remote, path, version_id, limit=limit)

    # -- reset -----------------------------------------------------------------------------

    def reset(self) -> None:
        """Forget this drive's sync state (bases, logs, temp files); files and S3 stay.

        The next sync then compares both sides afresh: equal files are adopted, different
        ones become conflicts: nothing is overwritten.
        """
        with DriveLock(internal_dir(self.root) / "lock"):
            self.close()
            folder = internal_dir(self.root)
            for name in ("state.db", "state.db-wal", "state.db-shm"):
                (folder / name).unlink(missing_ok=True)
            shutil.rmtree(folder / "tmp", ignore_errors=True)
