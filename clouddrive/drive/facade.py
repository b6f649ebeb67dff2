"""`Drive`: one drive's operations, the facade the CLI, the app and the Python API share.

It opens the drive's parts lazily (config, S3 ledger, state database, run records) and hands
the work to the layers below: `clouddrive.sync` plans and runs syncs, `clouddrive.history`
answers and carries out time travel. Nothing above this module talks to boto3 or to the
drive's sync state directly.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Callable, Collection, Sequence
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from clouddrive.core.models import (
    Action,
    Plan,
    RemoteEntry,
)
from clouddrive.drive.setup import (
    check_bucket,
    connect_remote,
    make_folder,
    mark_drive,
    new_config,
    remove_made,
)
from clouddrive.drive.share import ShareLink, make_link
from clouddrive.drive.travel import TimeTravelOps
from clouddrive.history.lookup import VersionText, changed_by, read_version
from clouddrive.history.runs import RunLog
from clouddrive.history.views import s3_uri
from clouddrive.ledger import RetryPolicy, S3Remote
from clouddrive.ledger.progress import counting_bytes
from clouddrive.local.config import DriveConfig, find_root, internal_dir
from clouddrive.local.ignore import IgnoreRules
from clouddrive.local.lock import DriveLock
from clouddrive.local.scanner import FsTraits, probe_fs, scan
from clouddrive.local.state import StateStore
from clouddrive.sync.engine import SyncEngine
from clouddrive.sync.gather import Gatherer
from clouddrive.sync.outcome import Outcome
from clouddrive.sync.report import PullReport, SyncReport

if TYPE_CHECKING:
    from clouddrive.history.timetravel import TimeTravel

__all__ = ["Drive"]


class Drive(TimeTravelOps):
    """A local folder paired with s3://BUCKET/PREFIX/, and everything you can do with it.

    Thread safety: the app calls one `Drive` from several worker threads at once. Its lazy
    parts (the S3 client, the state database, the run-record log, time travel, the file
    system's traits) are created once, under one lock; each is safe to share (boto3 clients
    are thread-safe, the state database serialises its own calls). Runs that change the drive
    (sync, pull, resolve, reset) take the drive's lock file, so a second one is refused with
    `LockHeld`, never interleaved. Every thread pool a run starts has at most `workers`
    threads (`SMALL_FILE_FACTOR` times as many for files up to 1 MiB), and the S3 connection
    pool has 4 more connections than that, so a pool never waits for a connection while a
    listing or a look-up runs beside it.
    """

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
        self._runs: RunLog | None = None
        self._timetravel: TimeTravel | None = None
        self._lock = threading.RLock()

    # -- opening ---------------------------------------------------------------------------

    @classmethod
    def open(cls, root: Path | str | None = None, **kwargs: object) -> Drive:
        """The drive at `root`, or the one containing the current folder."""
        folder = find_root(Path(root).expanduser() if root is not None else Path.cwd())
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
        reenable_versioning: bool = False,
    ) -> Drive:
        """Create a drive: check the bucket (and its versioning) first, then write the config.

        Nothing is written if a check fails. `consent` is asked before enabling versioning;
        versioning someone suspended is re-enabled only with `reenable_versioning` as well.
        """
        folder = Path(root).expanduser()
        config = new_config(
            folder,
            bucket=bucket,
            prefix=prefix,
            endpoint_url=endpoint_url,
            profile=profile,
            region=region,
            user=user,
        )
        drive = cls(folder, config)
        # the folder first: one that cannot be made (a name too long, a file in the way)
        # must stop the init before the prefix is marked as this drive's on S3
        made = make_folder(folder)
        try:
            check_bucket(
                drive.remote, config.bucket, consent, reenable_versioning=reenable_versioning
            )
            mark_drive(drive.remote, config)
            drive.root = folder.resolve()
            config.save(drive.root)
        except BaseException:
            remove_made(made)
            raise
        return drive

    @property
    def remote(self) -> S3Remote:
        with self._lock:
            return self._remote or self._connect()

    def _connect(self) -> S3Remote:
        self._remote = connect_remote(self.config, self._retry)
        self._remote.upload_journal = internal_dir(self.root) / "uploads"
        return self._remote

    @property
    def state(self) -> StateStore:
        with self._lock:
            if self._state is None:
                self._state = StateStore(internal_dir(self.root) / "state.db")
            return self._state

    @property
    def user(self) -> str:
        return self.config.user_name

    @property
    def uri(self) -> str:
        """`s3://bucket/prefix/`, as users paste it into other S3 tools (s3pathlib's)."""
        prefix = f"{self.config.prefix}/" if self.config.prefix else ""
        return s3_uri(self.config.bucket, prefix)

    def close(self) -> None:
        with self._lock:
            if self._state is not None:
                self._state.close()
                self._state = None

    def __enter__(self) -> Drive:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- planning and syncing (clouddrive.sync) -----------------------------------------

    def _traits(self) -> FsTraits:
        with self._lock:
            if self._fs_traits is None:
                self._fs_traits = probe_fs(internal_dir(self.root) / "probe")
            return self._fs_traits

    @property
    def _gatherer(self) -> Gatherer:
        return Gatherer(
            self.root, self.remote, self.state, self._traits, self.user, self.config.workers
        )

    @property
    def _engine(self) -> SyncEngine:
        return SyncEngine(
            self.root,
            self.remote,
            self.state,
            self._gatherer,
            lambda: self.runs,
            self.user,
            self.config.workers,
        )

    def status(self) -> Plan:
        """The plan of the next sync; nothing is changed."""
        gatherer = self._gatherer
        return gatherer.plan(gatherer.gather())

    def local_files(self, limit: int | None = None) -> list[str]:
        """The drive folder's files as a sync sees them (not ignored, not internal), sorted."""
        found = sorted(scan(self.root, self.state.load(), IgnoreRules.load(self.root)).files)
        return found[:limit]

    def sync(
        self,
        *,
        confirm: Callable[[Plan], bool] | None = None,
        dry_run: bool = False,
        max_delete: int | None = None,
        force: bool = False,
        allow_vanished: bool = False,
        on_outcome: Callable[[Outcome], None] | None = None,
        on_plan: Callable[[Plan], None] | None = None,
        cancel: threading.Event | None = None,
        skip: Collection[str] = (),
        on_start: Callable[[Action], None] | None = None,
        on_bytes: Callable[[str, int], None] | None = None,
    ) -> SyncReport:
        """Plan, check the guards, ask `confirm` (if given), then carry the plan out.

        `skip`: paths (files, or folders: all under them) left out of this run, as if they
        had no action; `on_start` is told as each action begins (on a worker thread, or,
        for a small transfer sent ahead, on the calling thread just after its request left);
        `on_bytes(path, n)` as `n` more bytes of a file's body are sent or received (see
        `_count_bytes`: a retried request counts again, so callers cap at the file's size).
        """
        with counting_bytes(self.remote, self.config.prefix, on_bytes):
            return self._engine.sync(
                confirm=confirm,
                dry_run=dry_run,
                max_delete=max_delete,
                force=force,
                allow_vanished=allow_vanished,
                on_outcome=on_outcome,
                on_plan=on_plan,
                cancel=cancel,
                skip=skip,
                on_start=on_start,
            )

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
        return self._engine.pull(paths, on_outcome=on_outcome, record=record)

    # -- time travel: deleted files, history, restore, undo (timetravel.py) -----------------

    @property
    def runs(self) -> RunLog:
        """The prefix's run records; each one read is cached in .clouddrive/cache/runs/."""
        with self._lock:
            if self._runs is None:
                cache = internal_dir(self.root) / "cache" / "runs"
                self._runs = RunLog(
                    self.remote,
                    cache_dir=cache,
                    journal_dir=internal_dir(self.root) / "journal",
                    workers=self.config.workers,
                )
            return self._runs

    @property
    def timetravel(self) -> TimeTravel:
        with self._lock:
            if self._timetravel is None:
                # imported here: a sync should not pay for loading time travel
                from clouddrive.history.timetravel import TimeTravel

                self._timetravel = TimeTravel(
                    self.remote, self.user, runs=self.runs, workers=self.config.workers
                )
            return self._timetravel

    # -- settling one conflict; look-ups for views (resolve.py, lookup.py) -------------------

    def resolve(self, path: str, choice: str) -> SyncReport:
        """Settle the conflict at `path` now: keep `mine` (theirs stays in the file's
        history), `theirs` (yours stays restorable in recently deleted) or `both` (what a sync
        does). The path is planned afresh first; if it is no longer a conflict, nothing is
        changed (UserError). A lost race is a failed outcome, with nothing overwritten."""
        return self._engine.resolve(path, choice)

    @property
    def endpoint(self) -> str:
        """The S3 endpoint this drive talks to (connects first, if need be)."""
        return str(self.remote.client.meta.endpoint_url)

    def changed_by(self, entries: Sequence[RemoteEntry]) -> dict[str, str]:
        """path -> who wrote each entry (a plan's remote side): version metadata, or the
        run record of a delete marker; "unknown" when nothing says."""
        return changed_by(self.remote, self.runs, entries, workers=self.config.workers)

    def link(
        self, path: str, *, expires: timedelta = timedelta(days=7), version: str | None = None
    ) -> ShareLink:
        """A presigned download link for `path` (its current version, or `version`: an id or
        a unique prefix), valid for `expires` (7 days at most)."""
        return make_link(self, path, life=expires, version=version)

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
