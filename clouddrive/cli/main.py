# PYTHON_ARGCOMPLETE_OK
"""The `clouddrive` command: a thin shell over `clouddrive.drive.Drive`.

Every user error prints one line on stderr and exits with the code of interface.md
(0 done, 1 user error or refused, 2 remote or local failure, 3 some files skipped).
"""

from __future__ import annotations

import argparse
import errno
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from clouddrive import __version__, errors
from clouddrive.cli import completion as cli_completion
from clouddrive.cli import health as cli_health
from clouddrive.cli import s3synchrony as cli_s3synchrony
from clouddrive.cli import server as cli_server
from clouddrive.cli import share as cli_share
from clouddrive.cli import syncing as cli_syncing
from clouddrive.cli import timetravel as cli_timetravel
from clouddrive.cli import watch as cli_watch
from clouddrive.cli.common import err, make_asker, open_drive, out
from clouddrive.cli.interrupt import EXIT_INTERRUPTED
from clouddrive.core.paths import escape_name
from clouddrive.drive import Drive

__all__ = ["main"]


# -- commands ----------------------------------------------------------------------------------


def cmd_init(args: argparse.Namespace) -> int:
    ask = make_asker(args.yes)
    drive = Drive.init(
        args.folder or args.root or Path.cwd(),
        bucket=args.bucket,
        prefix=args.prefix,
        endpoint_url=args.endpoint_url,
        profile=args.profile,
        region=args.region,
        user=args.user,
        consent=ask,
    )
    where = drive.uri
    if drive.config.embedded:
        where += f" on the embedded local server ({drive.remote.client.meta.endpoint_url})"
    out.print(f"Drive ready: {drive.root} <-> {where} as {drive.user}")
    out.print("Next: 'clouddrive status' to see the plan, 'clouddrive sync' to run it.")
    return errors.EXIT_OK


def cmd_reset(args: argparse.Namespace) -> int:
    with open_drive(args) as drive:
        question = (
            f"Forget the sync state of {drive.root}? Files and S3 stay as they are; the next "
            "sync compares both sides afresh."
        )
        if not make_asker(args.yes)(question):
            raise errors.Refused("reset cancelled; nothing was changed")
        drive.reset()
        out.print("Sync state removed.")
    return errors.EXIT_OK


def cmd_app(args: argparse.Namespace) -> int:
    """The Textual app on a terminal; without one, the status, saying why."""
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        err.print("[dim](no terminal for the interactive app: showing status instead)[/]")
        args.json = False
        return cli_syncing.cmd_status(args)
    from clouddrive.tui import run_app

    return run_app(args.root)


# -- parsing -----------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="clouddrive",
        description="Keep a local folder in two-way sync with a versioned S3 prefix that "
        "several people share. Every overwrite and delete stays recoverable.",
    )
    parser.add_argument("--version", action="version", version=f"clouddrive {__version__}")
    parser.add_argument("--root", type=Path, help="the drive folder (default: the current one)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("init", help="create a drive in ROOT (default: the current folder)")
    p.add_argument("folder", nargs="?", type=Path, help="the local folder to sync")
    p.add_argument("--bucket", help="S3 bucket (default: the embedded local server)")
    p.add_argument("--prefix", default="", help="key prefix inside the bucket")
    p.add_argument("--endpoint-url", help="S3-compatible endpoint (default: AWS)")
    p.add_argument("--profile", help="AWS profile name for credentials")
    p.add_argument("--region", help="AWS region")
    p.add_argument("--user", help="your name in the shared history (default: login name)")
    p.add_argument("--yes", "-y", action="store_true", help="enable versioning without asking")
    p.set_defaults(func=cmd_init)

    cli_syncing.register(sub)  # status, sync

    p = sub.add_parser("reset", help="remove this drive's local sync state (asks first)")
    p.add_argument("--yes", "-y", action="store_true", help="reset without asking")
    p.set_defaults(func=cmd_reset)

    cli_server.register(sub)  # demo, server

    p = sub.add_parser("app", help="open the interactive app (the same as no command)")
    p.set_defaults(func=cmd_app)

    # Command groups of their own modules register here, each with register(sub).
    cli_health.register(sub)
    cli_timetravel.register(sub)
    cli_share.register(sub)
    cli_completion.register(sub)
    cli_watch.register(sub)
    cli_s3synchrony.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    cli_completion.complete(parser)
    args = parser.parse_args(argv)
    if args.command is None:
        args.func = cmd_app
    try:
        code: int = args.func(args)
    except errors.CloudDriveError as exc:
        _say(str(exc))
        code = exc.exit_code
    except KeyboardInterrupt:
        _say("interrupted; finished actions are recorded")
        code = EXIT_INTERRUPTED
    except OSError as exc:
        if exc.errno not in _DISK_FULL:
            return _internal_error(exc)
        where = f" (writing {exc.filename})" if exc.filename else ""
        _say(f"the disk is full{where}: free some space on it, then run the command again")
        code = errors.EXIT_FAILURE
    except Exception as exc:
        return _internal_error(exc)
    return code


_DISK_FULL = (errno.ENOSPC, errno.EDQUOT)


def _say(message: str) -> None:
    """One line on stderr, whatever the message holds (names are escaped)."""
    print(f"clouddrive: {escape_name(message)}", file=sys.stderr, flush=True)


def _internal_error(exc: Exception) -> int:
    """A bug: still one line, never a traceback (unless debugging)."""
    if os.environ.get("CLOUDDRIVE_DEBUG"):
        raise exc
    _say(f"internal error: {type(exc).__name__}: {exc}")
    return errors.EXIT_FAILURE
