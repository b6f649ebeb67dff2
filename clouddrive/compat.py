"""s3synchrony's API on clouddrive's engine: switch by changing one import.

`smart_sync(platform="S3", aws_bkt=..., aws_prfx=..., datafolder="Data")` keeps s3synchrony's
call shape and its interactive prompts, but the ledger is the bucket's versioning, not CSV
files, and credentials come from the standard AWS chain (never the clipboard or a file).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from clouddrive.core.models import Plan
from clouddrive.drive import Drive
from clouddrive.errors import ConfigError, NotADrive, Refused
from clouddrive.sync.report import SyncReport

__all__ = ["get_supported_platforms", "reset_all", "smart_sync"]

_PLATFORMS = ("S3",)


def get_supported_platforms() -> list[str]:
    """The data platforms this package can sync with (s3synchrony's call)."""
    return list(_PLATFORMS)


def _ask(question: str, assume_yes: bool) -> bool:
    if assume_yes:
        return True
    try:
        answer = input(f"{question} [y/N] ")
    except EOFError:
        raise Refused(f"{question} needs an answer, but there is no input; pass yes=True") from None
    return answer.strip().lower() in ("y", "yes")


def _drive(
    platform: str,
    aws_bkt: str | None,
    aws_prfx: str,
    datafolder: str | Path,
    assume_yes: bool,
    options: dict[str, Any],
    *,
    create: bool = True,
) -> Drive:
    if platform not in _PLATFORMS:
        raise ConfigError(
            f"platform {platform!r} is not supported; choose one of {', '.join(_PLATFORMS)}"
        )
    folder = Path(datafolder)
    try:
        drive = Drive.open(folder) if (folder / ".clouddrive").is_dir() else None
    except NotADrive:
        drive = None
    if drive is None and not create:
        raise NotADrive(f"{folder} is not a clouddrive folder; there is nothing to reset")
    if drive is None:
        drive = Drive.init(
            folder,
            bucket=aws_bkt,
            prefix=aws_prfx,
            endpoint_url=options.get("endpoint_url"),
            profile=options.get("profile"),
            region=options.get("region"),
            user=options.get("user"),
            consent=lambda q: _ask(q, assume_yes),
        )
    elif aws_bkt and (drive.config.bucket, drive.config.prefix) != (aws_bkt, aws_prfx.strip("/")):
        raise ConfigError(f"{folder} already syncs with {drive.uri}, not s3://{aws_bkt}/{aws_prfx}")
    return drive


def smart_sync(
    platform: str = "S3",
    *,
    aws_bkt: str | None = None,
    aws_prfx: str = "",
    datafolder: str | Path = "Data",
    yes: bool = False,
    **options: Any,
) -> SyncReport:
    """Synchronize `datafolder` with s3://aws_bkt/aws_prfx, asking before any change.

    Options: endpoint_url, profile, region, user, max_delete, force. `yes=True` runs without
    prompting (for scripts). Returns the run's report.
    """
    with _drive(platform, aws_bkt, aws_prfx, datafolder, yes, options) as drive:

        def confirm(plan: Plan) -> bool:
            for action in plan.visible():
                print(f"  {action.kind.value:<14} {action.path}")
            return _ask(f"Apply these {len(plan.visible())} change(s)?", yes)

        report = drive.sync(
            confirm=confirm,
            max_delete=options.get("max_delete"),
            force=bool(options.get("force", False)),
        )
        print(f"clouddrive: {len(report.done)} done, {len(report.failed)} failed")
        return report


def reset_all(
    platform: str = "S3",
    *,
    aws_bkt: str | None = None,
    aws_prfx: str = "",
    datafolder: str | Path = "Data",
    yes: bool = False,
    **options: Any,
) -> bool:
    """Remove the local sync state (s3synchrony's reset). S3 history is never deleted.

    Returns True if the state was removed, False if the user declined.
    """
    with _drive(platform, aws_bkt, aws_prfx, datafolder, yes, options, create=False) as drive:
        if not _ask(f"Remove the sync state of {drive.root}? Files and S3 stay.", yes):
            return False
        drive.reset()
        return True
