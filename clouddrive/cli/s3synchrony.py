"""`clouddrive import-s3synchrony FOLDER`: an s3synchrony data folder becomes a drive."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.markup import escape

from clouddrive import errors
from clouddrive.cli.common import (
    drive_command,
    err,
    make_asker,
    out,
    s3_flags,
    user_name,
)
from clouddrive.core.models import ActionKind

if TYPE_CHECKING:
    from clouddrive.live.s3synchrony import ImportResult

__all__ = ["cmd_import_s3synchrony", "register"]


def _aws_file(result: ImportResult, delete: bool) -> None:
    """Say how to replace aws.txt with a profile; delete it only with consent."""
    aws = result.source.aws_file
    if aws is None:
        return
    role = result.source.aws_role or "s3synchrony"
    out.print(
        f"[yellow]{escape(str(aws))}[/] holds plaintext AWS keys; clouddrive never reads or "
        "copies it (credentials come from the AWS chain only). To use them as a profile, "
        f"move its [{escape(role)}] section into ~/.aws/credentials (the same format) or run "
        f"'aws configure --profile {escape(role)}', then: "
        f"clouddrive --root {escape(str(result.drive.root))} doctor, with --profile "
        f"{escape(role)} given at import (or 'profile' in .clouddrive/config.toml)."
    )
    if not delete and sys.stdin is not None and sys.stdin.isatty():
        err.print(f"Delete the plaintext credentials file {escape(str(aws))} now? \\[y/N] ", end="")
        try:
            delete = input().strip().lower() in ("y", "yes")
        except EOFError:
            delete = False
    if delete:
        aws.unlink(missing_ok=True)
        out.print(f"Deleted {escape(str(aws))}.")
    else:
        out.print(f"Left {escape(str(aws))} in place (--delete-aws-txt removes it).")


def cmd_import_s3synchrony(args: argparse.Namespace) -> int:
    # imported here: `sync` and every other command should not pay for it
    from clouddrive.live.s3synchrony import import_folder

    folder = Path(args.folder).expanduser()
    try:
        result = import_folder(
            folder,
            bucket=args.bucket,
            prefix=args.prefix,
            endpoint_url=args.endpoint_url,
            profile=args.profile,
            user=args.user,
            consent=make_asker(args.yes),
        )
    except errors.VersioningNotEnabled as exc:
        raise _versioning_fix(exc, args) from exc
    with result.drive as drive:
        for note in result.notes:
            out.print(f"[dim]{escape(note)}[/]")
        out.print(
            f"Drive ready: {escape(str(drive.root))} <-> {escape(drive.uri)} as "
            f"{escape(drive.user)}"
        )
        if result.source.ignores:
            out.print(
                f"{len(result.source.ignores)} path(s) from ignores3.txt are in .clouddriveignore "
                f"({result.ignores_added} added now)."
            )
        out.print(
            ".S3/ (here and under the prefix on S3) is s3synchrony's: left as it is, never synced."
        )
        _aws_file(result, args.delete_aws_txt)
        counts = result.plan.counts()
        out.print(
            f"First sync: {result.adopted} file(s) already identical on both sides (adopted, "
            f"no transfer), {counts[ActionKind.UPLOAD]} to upload, "
            f"{counts[ActionKind.DOWNLOAD]} to download, {counts[ActionKind.CONFLICT]} differing "
            "on both sides (kept both, as conflict copies)."
        )
        out.print(
            f"Next: {escape(drive_command(drive.root, 'sync'))} (or 'watch' to keep it in sync)."
        )
    return errors.EXIT_OK


def _versioning_fix(
    exc: errors.VersioningNotEnabled, args: argparse.Namespace
) -> errors.VersioningNotEnabled:
    """The refusal with a fix that works when pasted: off, `--yes` enables it; suspended
    (someone turned it off, perhaps on purpose) is turned back on only by name, with the
    bucket's own endpoint and profile."""
    if "suspended" not in str(exc):
        return errors.VersioningNotEnabled(f"{exc}; rerun with --yes to enable it")
    if not args.bucket:
        return exc
    words = ["clouddrive", "lifecycle", "apply", "--bucket", args.bucket]
    if args.prefix:
        words += ["--prefix", args.prefix]
    for flag, value in (("--endpoint-url", args.endpoint_url), ("--profile", args.profile)):
        if value:
            words += [flag, value]
    command = shlex.join([*words, "--reenable-versioning"])
    return errors.VersioningNotEnabled(
        f"versioning is suspended on bucket '{args.bucket}' (someone turned it off, perhaps on "
        "purpose); nothing was changed. Turn it back on (it also offers clouddrive's "
        f"lifecycle rules, and asks first), then run this again, with: {command}"
    )


def register(sub: Any) -> None:
    """Add `import-s3synchrony` to the CLI's subcommands."""
    p = sub.add_parser(
        "import-s3synchrony",
        help="turn an s3synchrony data folder into a drive (files in place are adopted)",
        description="Make an s3synchrony data folder a clouddrive drive in place: bucket and "
        "prefix from the flags (or a smart_sync call in a script beside the folder), "
        "ignores3.txt into .clouddriveignore, the user name kept, aws.txt never copied. "
        "Nothing is synced yet: files identical on both sides are adopted by the first sync "
        "with no transfer.",
    )
    p.add_argument("folder", type=Path, help="the s3synchrony data folder (the one with .S3/)")
    s3_flags(
        p,
        bucket="S3 bucket (the aws_bkt of your smart_sync call)",
        prefix="key prefix (the aws_prfx of your smart_sync call)",
        region=None,
    )
    p.add_argument(
        "--user", type=user_name, help="your name in the history (default: .S3/user_name.txt)"
    )
    p.add_argument("--yes", "-y", action="store_true", help="enable versioning without asking")
    p.add_argument(
        "--delete-aws-txt",
        action="store_true",
        # aws.txt is live.s3synchrony.AWS_FILE, spelled out (as in the flag's name) so that
        # building the parser does not import it
        help="delete s3synchrony's plaintext .S3/aws.txt (otherwise asked on a terminal)",
    )
    p.set_defaults(func=cmd_import_s3synchrony)
