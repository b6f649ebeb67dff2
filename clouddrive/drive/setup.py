"""Creating a drive and connecting it: the checks `init` makes before it writes anything,
and the one place a drive's S3 client is built from its config (embedded server included)."""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable
from pathlib import Path

from clouddrive import errors
from clouddrive.core.paths import INTERNAL_DIR, normalize_prefix
from clouddrive.embedded.access import DEFAULT_BUCKET, EMBEDDED_ACCESS_KEY, EMBEDDED_SECRET_KEY
from clouddrive.embedded.registry import ensure_embedded, is_embedded_endpoint
from clouddrive.ledger import RetryPolicy, S3Remote, connect
from clouddrive.local.config import CONFIG_NAME, DriveConfig, internal_dir
from clouddrive.sync.order import SMALL_FILE_FACTOR

__all__ = [
    "MARKER",
    "REENABLE_FLAG",
    "check_bucket",
    "check_folder_nesting",
    "check_prefix_nesting",
    "connect_remote",
    "make_folder",
    "mark_drive",
    "new_config",
    "remove_made",
    "suspended_refusal",
]


def new_config(
    folder: Path,
    *,
    bucket: str | None,
    prefix: str | None,
    endpoint_url: str | None,
    profile: str | None,
    region: str | None,
    user: str | None,
) -> DriveConfig:
    """The config of a new drive at `folder`; refused if `folder` is a file or already a drive
    for another bucket or prefix. No bucket: the embedded server.

    `folder` already a drive and no setting given (`clouddrive init` in it): its own config,
    so that init checks its bucket again (and offers to enable versioning), as the messages
    about versioning tell people to do."""
    if folder.exists() and not folder.is_dir():
        raise errors.ConfigError(f"{folder} exists and is not a folder")
    settings = (bucket, prefix, endpoint_url, profile, region, user)
    if all(value is None for value in settings):
        with contextlib.suppress(errors.NotADrive):
            current = DriveConfig.load(folder.expanduser().resolve())
            check_folder_nesting(folder)
            return current
    # a drive on the embedded server (no bucket, or its endpoint given) finds the
    # server's endpoint when opened, so it follows the server if its port changes
    embedded = bucket is None or (profile is None and is_embedded_endpoint(endpoint_url))
    config = DriveConfig(
        bucket=bucket or DEFAULT_BUCKET,
        prefix=normalize_prefix(prefix),
        endpoint_url=None if embedded else endpoint_url,
        profile=profile,
        region=region,
        user=user,
        embedded=embedded,
    )
    try:
        existing = DriveConfig.load(folder.resolve())
    except errors.NotADrive:
        existing = None
    if existing is not None and existing != config:
        raise errors.ConfigError(
            f"{folder} is already a drive for s3://{existing.bucket}/{existing.prefix}"
        )
    check_folder_nesting(folder)
    return config


def _drive_at(folder: Path) -> str | None:
    """`s3://bucket/prefix/` of the drive whose folder is `folder`, or None."""
    if not (internal_dir(folder) / CONFIG_NAME).is_file():
        return None
    try:
        cfg = DriveConfig.load(folder)
    except errors.CloudDriveError:
        return "another drive"
    return f"s3://{cfg.bucket}/{cfg.prefix + '/' if cfg.prefix else ''}"


def make_folder(folder: Path) -> list[Path]:
    """Make `folder` and its missing parents; the folders made, deepest first (for
    `remove_made`). A folder that cannot be made is a `LocalError`."""
    missing = [p for p in (folder, *folder.parents) if not p.exists()]
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise errors.local_error(exc, "making the drive's folder") from exc
    return missing


def remove_made(made: list[Path]) -> None:
    """Undo `make_folder` where nothing else was put in what it made."""
    for folder in made:
        with contextlib.suppress(OSError):
            folder.rmdir()


def check_folder_nesting(folder: Path) -> None:
    """Drives never nest: refuse a folder inside another drive's folder, or one holding
    another drive's folder (the outer drive would sync the inner one's state and config)."""
    folder = folder.expanduser().resolve()
    for parent in folder.parents:
        if (where := _drive_at(parent)) is not None:
            raise errors.ConfigError(
                f"{folder} is inside the drive folder {parent} ({where}); drives cannot nest"
            )
    if not folder.is_dir():
        return
    for dirpath, dirnames, _files in os.walk(folder, onerror=lambda _exc: None):
        here = Path(dirpath)
        if here != folder and (where := _drive_at(here)) is not None:
            raise errors.ConfigError(
                f"{folder} holds the drive folder {here} ({where}); drives cannot nest"
            )
        dirnames[:] = [d for d in dirnames if d != INTERNAL_DIR]


MARKER = f"{INTERNAL_DIR}/drive.json"  #: written by init: a drive here, even before any run


def mark_drive(remote: S3Remote, config: DriveConfig) -> None:
    """Leave `PREFIX/.clouddrive/drive.json`, so a later `init` of an overlapping prefix finds
    this drive even before it has synced (a user who may not write there skips it)."""
    body = json.dumps({"format": 1, "user": config.user_name}).encode()
    with contextlib.suppress(errors.AccessDenied):
        remote.put_bytes(MARKER, body)


def check_prefix_nesting(remote: S3Remote) -> None:
    """Drives never nest on S3 either: refuse a prefix inside or above another drive's (its
    `.clouddrive/` run records or marker show where it is)."""
    others = remote.other_drives()
    if others:
        where = ", ".join(f"s3://{remote.bucket}/{p + '/' if p else ''}" for p in others[:3])
        raise errors.ConfigError(
            f"{remote.uri} overlaps the drive at {where}; drives cannot nest: choose a prefix "
            "beside it"
        )


#: the flag that allows turning suspended versioning back on (init, lifecycle apply, the script)
REENABLE_FLAG = "--reenable-versioning"


def suspended_refusal(bucket: str) -> errors.VersioningNotEnabled:
    """The one rule everywhere: versioning someone suspended is not turned back on unless
    asked for by name (`--reenable-versioning`); off (never enabled) is offered with a
    question."""
    return errors.VersioningNotEnabled(
        f"versioning is suspended on bucket '{bucket}': someone turned it off, perhaps on "
        "purpose, and deletes there destroy data; nothing was changed. To turn it back on, "
        f"rerun with {REENABLE_FLAG}"
    )


def check_bucket(
    remote: S3Remote,
    bucket: str,
    consent: Callable[[str], bool],
    *,
    reenable_versioning: bool = False,
) -> None:
    """The bucket must exist and keep versions, and the prefix must not nest with another
    drive's; versioning is enabled only with consent, and suspended versioning only with
    `reenable_versioning` too."""
    remote.bucket_exists()
    check_prefix_nesting(remote)
    status = remote.versioning_status()
    if status == "Enabled":
        return
    if status == "Suspended" and not reenable_versioning:
        raise suspended_refusal(bucket)
    question = (
        f"Bucket '{bucket}' has versioning "
        f"{'suspended' if status == 'Suspended' else 'off'}; clouddrive needs it on "
        "(every overwrite and delete stays recoverable; old versions cost storage). "
        "Enable versioning now?"
    )
    if not consent(question):
        raise errors.VersioningNotEnabled(
            f"versioning is not enabled on bucket '{bucket}'; nothing was changed"
        )
    remote.enable_versioning()


def connect_remote(config: DriveConfig, retry: RetryPolicy | None = None) -> S3Remote:
    """The drive's S3 ledger, with a connection pool sized to its workers (the most threads
    a run moves files with, plus 4: a run's transfers plus a listing or look-ups beside them
    never wait for a connection)."""
    endpoint, access, secret = config.endpoint_url, None, None
    # also a drive that names the embedded server's endpoint (made before drives were
    # marked embedded): it gets the local keys, and a stopped server restarts
    if config.embedded or (config.profile is None and is_embedded_endpoint(endpoint)):
        endpoint = ensure_embedded().endpoint_url
        access, secret = EMBEDDED_ACCESS_KEY, EMBEDDED_SECRET_KEY
    remote = connect(
        config.bucket,
        config.prefix,
        endpoint_url=endpoint,
        profile=config.profile,
        region=config.region,
        access_key=access,
        secret_key=secret,
        max_connections=config.workers * SMALL_FILE_FACTOR + 4,
        retry=retry,
    )
    remote.multipart_threshold = config.multipart_threshold_mib * 1024 * 1024
    remote.part_size = max(5, config.part_size_mib) * 1024 * 1024
    remote.page_size = config.list_page_size
    return remote
