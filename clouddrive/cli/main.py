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

from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from clouddrive import __version__, errors
from clouddrive.cli import completion as cli_completion
from clouddrive.cli import health as cli_health
from clouddrive.cli import s3synchrony as cli_s3synchrony
from clouddrive.cli import share as cli_share
from clouddrive.cli import timetravel as cli_timetravel
from clouddrive.cli import watch as cli_watch
from clouddrive.cli.common import err, make_asker, open_drive, out, print_json, shown
from clouddrive.cli.interrupt import EXIT_INTERRUPTED, CtrlC, Interrupted
from clouddrive.core.models import Plan
from clouddrive.core.paths import escape_name
from clouddrive.drive import Drive
from clouddrive.sync.executor import Outcome
from clouddrive.sync.report import SyncReport
from clouddrive.views.planview import (
    GLYPHS,
    human_size,
    plan_json,
    plan_summary,
    plan_table,
    report_json,
)

__all__ = ["main"]


DEMO_FILES = {
    "README.txt": "Welcome to your clouddrive demo.\nEdit, add or delete files here, then run "
    "'clouddrive sync' inside this folder.\n",
    "notes/ideas.md": "# Ideas\n\n- S3 versioning is the ledger\n- nothing is ever lost\n",
    "data/numbers.csv": "n,square\n" + "".join(f"{i},{i * i}\n" for i in range(1, 11)),
}


# -- commands ----------------------------------------------------------------------------------


def _print_plan(plan: Plan) -> None:
    if plan.visible():
        out.print(plan_table(plan))
    for skip in plan.skipped:
        err.print(f"[yellow]skipped[/] {shown(skip.path)}: {shown(skip.reason)}")
    out.print(f"[bold]Plan:[/] {plan_summary(plan)}")


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


def cmd_status(args: argparse.Namespace) -> int:
    with open_drive(args) as drive:
        plan = drive.status()
        if args.json:
            print_json(plan_json(plan))
            return errors.EXIT_OK
        out.print(f"[dim]{drive.root} <-> {drive.uri} as {drive.user}[/]")
        if plan.is_empty and not plan.skipped:
            out.print("Everything is in sync.")
            return errors.EXIT_OK
        _print_plan(plan)
    return errors.EXIT_OK


class _SyncOutput:
    """Prints the plan, one line per finished action, and a progress bar on a terminal."""

    def __init__(self, quiet: bool, as_json: bool) -> None:
        self.quiet = quiet
        self.as_json = as_json
        self.progress: Progress | None = None
        self.task: TaskID | None = None
        self.planned = 0  #: visible actions of the plan
        self.done = 0  #: visible actions finished
        self.failed = 0

    def on_plan(self, plan: Plan) -> None:
        self.planned = len(plan.visible())
        if self.as_json or plan.is_empty:
            return
        _print_plan(plan)

    def stopped_line(self) -> str:
        """The one line a stopped sync ends with: what finished, and that the rest waits."""
        left = max(0, self.planned - self.done - self.failed)
        failed = f", {self.failed} failed" if self.failed else ""
        return (
            f"stopped: {self.done} of {self.planned} change(s) done and recorded{failed}; "
            f"the other {left} wait for the next sync"
        )

    def start(self, plan: Plan) -> None:
        if self.as_json or not out.is_terminal or not plan.visible():
            return
        self.progress = Progress(
            TextColumn("[bold]syncing"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            TextColumn("{task.fields[files]}"),
            console=out,
            transient=True,
        )
        total = sum(a.size for a in plan.actions) or 1
        self.task = self.progress.add_task("sync", total=total, files="")
        self.progress.start()

    def stop(self) -> None:
        if self.progress is not None:
            self.progress.stop()

    def on_outcome(self, outcome: Outcome) -> None:
        action = outcome.action
        glyph, label, colour = GLYPHS[action.kind]
        if not action.is_bookkeeping:
            if outcome.ok:
                self.done += 1
            else:
                self.failed += 1
        if self.progress is not None and self.task is not None:
            self.progress.update(self.task, advance=action.size, files=shown(action.path[-40:]))
        if self.as_json:
            return
        if outcome.error:
            err.print(f"[red]failed[/] {label} {shown(action.path)}: {shown(outcome.error)}")
        elif not self.quiet and not action.is_bookkeeping:
            size = f" ({human_size(outcome.bytes_moved)})" if outcome.bytes_moved else ""
            note = f" - {outcome.note}" if outcome.note else ""
            out.print(f"[{colour}]{glyph} {label}[/] {shown(action.path + size + note)}")


def run_sync(drive: Drive, args: argparse.Namespace) -> SyncReport:
    """Plan, show, confirm, run: shared by `sync` and `demo`."""
    ask = make_asker(args.yes)
    output = _SyncOutput(args.quiet, getattr(args, "json", False))
    ctrl_c = CtrlC()

    def confirm(plan: Plan) -> bool:
        ok = ask("Run this plan?")
        if ok:
            output.start(plan)
            ctrl_c.running = True
        return ok

    with ctrl_c.installed():
        try:
            report = drive.sync(
                confirm=confirm,
                dry_run=args.dry_run,
                max_delete=args.max_delete,
                force=args.force,
                allow_vanished=args.allow_vanished,
                on_plan=output.on_plan,
                on_outcome=output.on_outcome,
                cancel=ctrl_c.cancel,
            )
        except KeyboardInterrupt:
            if not ctrl_c.running:
                raise Interrupted("interrupted before the plan ran; nothing was changed") from None
            raise Interrupted(output.stopped_line()) from None
        finally:
            output.stop()
    if report.cancelled and not getattr(args, "json", False):
        raise Interrupted(output.stopped_line())
    return report


def _finish(report: SyncReport, as_json: bool) -> int:
    if as_json:
        print_json(report_json(report))
    elif report.dry_run:
        out.print("Dry run: nothing was changed.")
    else:
        if report.plan.is_empty:
            out.print(
                "Everything else is in sync." if report.plan.skipped else "Everything is in sync."
            )
        else:
            out.print(f"Done: {len(report.done)} action(s), {len(report.failed)} failed.")
        if report.log_path:
            out.print(f"[dim]log: {shown(str(report.log_path))}[/]")
    if report.cancelled:
        return EXIT_INTERRUPTED
    if report.failed or report.plan.skipped:
        return errors.EXIT_PARTIAL
    return errors.EXIT_OK


def cmd_sync(args: argparse.Namespace) -> int:
    with open_drive(args) as drive:
        report = run_sync(drive, args)
        return _finish(report, args.json)


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


def cmd_demo(args: argparse.Namespace) -> int:
    folder = Path(args.folder).expanduser().resolve()
    fresh = not folder.exists()
    folder.mkdir(parents=True, exist_ok=True)
    try:
        drive = Drive.open(folder)
    except errors.NotADrive:
        drive = Drive.init(folder, prefix=args.prefix, consent=lambda q: True)
    if fresh:
        for rel, text in DEMO_FILES.items():
            (folder / rel).parent.mkdir(parents=True, exist_ok=True)
            (folder / rel).write_text(text, encoding="utf-8")
    with drive:
        endpoint = drive.remote.client.meta.endpoint_url
        out.print(f"Demo drive: {drive.root} <-> {drive.uri} (local S3 server at {endpoint})")
        args.yes, args.dry_run, args.max_delete, args.force = True, False, None, False
        args.allow_vanished = False
        report = run_sync(drive, args)
        code = _finish(report, False)
    out.print(f"Try: cd {folder} && echo hello > new.txt && clouddrive status && clouddrive sync")
    return code


def cmd_app(args: argparse.Namespace) -> int:
    """The Textual app on a terminal; without one, the status, saying why."""
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        err.print("[dim](no terminal for the interactive app: showing status instead)[/]")
        args.json = False
        return cmd_status(args)
    from clouddrive.tui import run_app

    return run_app(args.root)


def cmd_server(args: argparse.Namespace) -> int:
    """Report on (never start, unless asked to) or stop the embedded server."""
    from clouddrive.embedded import access, registry

    if args.server_action == "stop":
        stopped = registry.stop_embedded()
        out.print("Embedded server stopped." if stopped else "No embedded server was running.")
        return errors.EXIT_OK
    info = registry.ensure_embedded() if args.server_action == "start" else None
    info = info or registry.running_embedded()
    if info is None:
        record = registry.registration()
        where = f" (it comes back on {record.endpoint_url})" if record else ""
        out.print(
            f"No embedded server is running{where}. It starts with the first command that "
            "needs it, or with 'clouddrive server start'.",
            soft_wrap=True,
        )
        return errors.EXIT_USER
    lines = (
        f"Embedded S3 server: {info.endpoint_url} (pid {info.pid})",
        f"data: {info.data_dir}",
        f"bucket: {access.DEFAULT_BUCKET}",
        f"access key: {access.EMBEDDED_ACCESS_KEY}",
        f"secret key: {access.EMBEDDED_SECRET_KEY}",
        f"region: {access.EMBEDDED_REGION}",
        "(local fixed keys, not secrets; clouddrive finds them itself with "
        f"--endpoint-url {info.endpoint_url})",
    )
    for line in lines:
        out.print(shown(line), soft_wrap=True)
    return errors.EXIT_OK


# -- parsing -----------------------------------------------------------------------------------


def _sync_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dry-run", action="store_true", help="show the plan; change nothing")
    p.add_argument("--yes", "-y", action="store_true", help="run without asking")
    p.add_argument("--json", action="store_true", help="print one JSON document")
    p.add_argument("--quiet", "-q", action="store_true", help="print only the plan and errors")
    p.add_argument(
        "--max-delete",
        type=int,
        metavar="N",
        help="stop if the plan deletes more than N files on either side "
        "(default: more than 50 and more than half of the synced files)",
    )
    p.add_argument("--force", action="store_true", help="run past the mass-delete guard")
    p.add_argument(
        "--allow-vanished",
        action="store_true",
        help="run past the guard against many files vanishing from S3 at once "
        "(your copies are uploaded again)",
    )


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

    p = sub.add_parser("status", help="show the plan of the next sync; change nothing")
    p.add_argument("--json", action="store_true", help="print one JSON document")
    p.set_defaults(func=cmd_status)

    p = sub.add_parser("sync", help="show the plan, ask, and run it")
    _sync_flags(p)
    p.set_defaults(func=cmd_sync)

    p = sub.add_parser("reset", help="remove this drive's local sync state (asks first)")
    p.add_argument("--yes", "-y", action="store_true", help="reset without asking")
    p.set_defaults(func=cmd_reset)

    p = sub.add_parser(
        "demo", help="create a demo drive on the embedded local S3 server and sync it"
    )
    p.add_argument("folder", nargs="?", default="clouddrive-demo", help="(default: %(default)s)")
    p.add_argument("--prefix", default="demo", help="key prefix (default: %(default)s)")
    p.add_argument("--quiet", "-q", action="store_true", help="print only the plan and errors")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("app", help="open the interactive app (the same as no command)")
    p.set_defaults(func=cmd_app)

    p = sub.add_parser(
        "server", help="the embedded local S3 server: status (endpoint and keys), start or stop"
    )
    p.add_argument(
        "server_action", choices=("status", "start", "stop"), nargs="?", default="status"
    )
    p.set_defaults(func=cmd_server)

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
