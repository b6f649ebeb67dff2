"""The engine: one drive's operations, tying scanner, ledger, state, planner and executor.

The CLI, the Python API (and later the TUI) are thin shells over `Drive`; nothing above this
module talks to boto3 or the disk's sync state directly.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import posixpath
import shutil
import socket
import threading
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from clouddrive import errors, planner
from clouddrive.config import DriveConfig, find_root, internal_dir
from clouddrive.embedded import (
    DEFAULT_BUCKET,
    EMBEDDED_ACCESS_KEY,
    EMBEDDED_SECRET_KEY,
    ensure_embedded,
)
from clouddrive.executor import Executor, Outcome, Transfer, clean_tmp
from clouddrive.ignore import IgnoreRules
from clouddrive.local import FsTraits, file_md5, file_sha256, probe_fs, scan
from clouddrive.lock import DriveLock
from clouddrive.models import (
    Action,
    BaseEntry,
    LocalChange,
    LocalFile,
    Plan,
    RemoteChange,
    RemoteEntry,
    Skipped,
)
from clouddrive.paths import INTERNAL_DIR, find_collisions, normalize_prefix, safe_name
from clouddrive.remote import RetryPolicy, S3Remote, connect
from clouddrive.state import StateStore

__all__ = [
    "DEFAULT_MAX_DELETE",
    "Drive",
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
        """Learn the remote content's sha256 (metadata, or a plain MD5 ETag that matches)."""
        sha = self.remote.content_sha256(remote)
        if sha is None and remote.etag:
            md5 = remote.etag.strip('"').lower()
            if len(md5) == 32 and remote.size == local.size:
                try:
                    if file_md5(self.root / local.path) == md5:
                        sha = local.sha256
                except OSError:
                    pass
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
    ) -> SyncReport:
        """Plan, check the guards, ask `confirm` (if given), then carry the plan out."""
        run_id = uuid.uuid4().hex[:10]
        with DriveLock(internal_dir(self.root) / "lock"):
            clean_tmp(self.root)
            inputs = self._gather()
            plan = self._plan(inputs)
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
                for skip in plan.skipped:
                    log.warning("skipped %s: %s", skip.path, skip.reason)
                self._execute(plan.actions, report, on_outcome, cancel)
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
    ) -> None:
        executor = Executor(
            self.root, self.remote, user=self.user, workers=self.config.workers, cancel=cancel
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

    def _write_run_record(self, report: SyncReport, started: datetime) -> None:
        """Who did what: one small JSON object per run that changed anything."""
        transfers = report.transfers
        if not transfers:
            return
        record = {
            "run_id": report.run_id,
            "user": self.user,
            "host": socket.gethostname(),
            "started": started.isoformat(),
            "finished": datetime.now(UTC).isoformat(),
            "actions": [dataclasses.asdict(t) for t in transfers],
            "failed": [
                {"path": o.action.path, "action": o.action.kind.value, "error": o.error}
                for o in report.failed
            ],
        }
        who = safe_name(self.user)
        relkey = f"{INTERNAL_DIR}/runs/{started:%Y%m%dT%H%M%SZ}-{who}-{report.run_id}.json"
        try:
            self.remote.put_bytes(relkey, json.dumps(record, indent=1).encode())
        except errors.RemoteError as exc:
            log.warning("could not write the run record %s: %s", relkey, exc)

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
