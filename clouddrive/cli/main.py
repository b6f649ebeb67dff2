# PYTHON_ARGCOMPLETE_OK
"""The `clouddrive` command: a thin shell over `clouddrive.drive.Drive`.

Every user error prints one line on stderr and exits with the code of interface.md
(0 done, 1 user error or refused, 2 remote or local failure, 3 some files skipped).
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import gc
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from clouddrive import __version__, errors
from clouddrive.cli import completion as cli_completion
from clouddrive.cli import health as cli_health
from clouddrive.cli import s3synchrony as cli_s3synchrony
from clouddrive.cli import server as cli_server
from clouddrive.cli import share as cli_share
from clouddrive.cli import syncing as cli_syncing
from clouddrive.cli import timetravel as cli_timetravel
from clouddrive.cli import watch as cli_watch
from clouddrive.cli.common import (
    Parser,
    UsageError,
    drive_command,
    err,
    error_json,
    make_asker,
    open_drive,
    out,
    pasteable,
    print_json,
    s3_flags,
    shown,
    user_name,
)
from clouddrive.cli.interrupt import EXIT_INTERRUPTED
from clouddrive.core.paths import escape_name
from clouddrive.drive import Drive

__all__ = ["YOUNG_OBJECTS_PER_COLLECTION", "entry_point", "main"]


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
        reenable_versioning=args.reenable_versioning,
    )
    where = drive.uri
    if drive.config.embedded:
        where += f" on the embedded local server ({drive.remote.client.meta.endpoint_url})"
    out.print(f"Drive ready: {shown(str(drive.root))} <-> {shown(where)} as {shown(drive.user)}")
    out.print(f"See the plan with: {drive_command(drive.root, 'status')}", markup=False)
    out.print(f"Run it with: {drive_command(drive.root, 'sync')}", markup=False)
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
    parser: argparse.ArgumentParser = Parser(
        prog="clouddrive",
        description="Keep a local folder in two-way sync with a versioned S3 prefix that "
        "several people share. Every overwrite and delete stays recoverable.",
    )
    parser.add_argument("--version", action="version", version=f"clouddrive {__version__}")
    parser.add_argument("--root", type=Path, help="the drive folder (default: the current one)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser(
        "init",
        help="create a drive in FOLDER (default: --root or the current folder); in an existing "
        "drive, with no settings, check its bucket again",
    )
    p.add_argument("folder", nargs="?", type=Path, help="the local folder to sync")
    s3_flags(
        p,
        bucket="S3 bucket (default: the embedded local server)",
        prefix="key prefix inside the bucket (default: its root)",
    )
    p.add_argument(
        "--user", type=user_name, help="your name in the shared history (default: login name)"
    )
    p.add_argument("--yes", "-y", action="store_true", help="enable versioning without asking")
    p.add_argument(
        "--reenable-versioning",
        action="store_true",
        help="turn versioning back on where someone suspended it (refused without this)",
    )
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


#: Young objects the collector lets pile up before it looks (Python's default: 700). A
#: listing or a scan makes tens of thousands of objects that live to the end of the command
#: and are in no cycle; looking every 700 of them cost a no-op sync of 20,000 files 15 %.
YOUNG_OBJECTS_PER_COLLECTION = 10_000


def entry_point() -> NoReturn:
    """The `clouddrive` program (the console script and `python -m clouddrive`): `main`,
    with the garbage collector set for a process that runs one command.

    The objects made by the imports (modules, botocore's tables) live until the process
    ends, so they are frozen out of every later collection instead of being traversed by
    each one; and what is left when the command is done is frozen too, so the interpreter's
    final collection does not walk it (80-100 ms of every command's exit). The collector
    stays on: a live drive (`watch`) runs for days. Only the process entry does this, never
    `main`, which tests and scripts call in their own processes."""
    gc.freeze()
    gc.set_threshold(YOUNG_OBJECTS_PER_COLLECTION, 10, 10)
    code = main()
    gc.freeze()
    sys.exit(code)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; every outcome is an exit code and, on error, one line on stderr
    (with `--json`, also `{"ok": false, "error": {...}}` on stdout)."""
    words = list(sys.argv[1:] if argv is None else argv)
    as_json = "--json" in words
    root: Path | None = None  #: --root's folder, for the commands messages suggest
    try:
        parser = build_parser()
        cli_completion.complete(parser)
        args = parser.parse_args(words)
        root = Path(args.root) if getattr(args, "root", None) else None
        if args.command is None:
            args.func = cmd_app
        as_json = bool(getattr(args, "json", False))
        code: int = args.func(args)
    except errors.CloudDriveError as exc:
        kind = "usage" if isinstance(exc, UsageError) else _kind(exc)
        return _fail(kind, pasteable(str(exc), root), exc.exit_code, as_json)
    except KeyboardInterrupt:
        return _fail(
            "interrupted", "interrupted; finished actions are recorded", EXIT_INTERRUPTED, as_json
        )
    except BrokenPipeError:
        return _pipe_closed()
    except OSError as exc:
        if exc.errno in _DISK_FULL:
            where = f" (writing {exc.filename})" if exc.filename else ""
            message = f"the disk is full{where}: free some space on it, then run the command again"
            return _fail("disk_full", message, errors.EXIT_FAILURE, as_json)
        if exc.filename is None:  # no file named: a bug more likely than the disk
            return _internal_error(exc, as_json)
        local = errors.local_error(exc, "using a local file")
        return _fail(_kind(local), str(local), local.exit_code, as_json)
    except Exception as exc:
        return _internal_error(exc, as_json)
    return _flushed(code)


_DISK_FULL = (errno.ENOSPC, errno.EDQUOT)

#: what a command whose reader went away exits with, as `ls | head` does (128 + SIGPIPE)
EXIT_PIPE_CLOSED = 128 + 13


def _kind(exc: errors.CloudDriveError) -> str:
    """`VersioningNotEnabled` -> `versioning_not_enabled`: the error's kind for scripts."""
    name = type(exc).__name__
    return "".join(f"_{c.lower()}" if c.isupper() and i else c.lower() for i, c in enumerate(name))


def _fail(kind: str, message: str, code: int, as_json: bool) -> int:
    try:
        if as_json:
            print_json(error_json(kind, escape_name(message), code))
        _say(message)
    except BrokenPipeError:
        return _pipe_closed()
    return code


def _flushed(code: int) -> int:
    """Flush stdout now, so a reader that went away is noticed here (quietly), not as a
    message at interpreter exit."""
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        return _pipe_closed()
    return code


def _pipe_closed() -> int:
    """The reader of stdout went away (`clouddrive activity | head -1`): stop quietly, as
    `ls | head` does. stdout is pointed at /dev/null so nothing fails again at exit."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    return EXIT_PIPE_CLOSED


def _say(message: str) -> None:
    """One line on stderr, whatever the message holds (names are escaped)."""
    print(f"clouddrive: {escape_name(message)}", file=sys.stderr, flush=True)


def _internal_error(exc: Exception, as_json: bool) -> int:
    """A bug: still one line, never a traceback (unless debugging)."""
    if os.environ.get("CLOUDDRIVE_DEBUG"):
        raise exc
    return _fail(
        "internal", f"internal error: {type(exc).__name__}: {exc}", errors.EXIT_FAILURE, as_json
    )
