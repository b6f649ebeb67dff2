"""The `clouddrive` command: a thin shell over `clouddrive.drive.Drive`.

Every user error prints one line on stderr and exits with the code of interface.md
(0 done, 1 user error or refused, 2 remote or local failure, 3 some files skipped).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from rich.markup import escape
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
from clouddrive.cli import health as cli_health
from clouddrive.cli import s3synchrony as cli_s3synchrony
from clouddrive.cli import timetravel as cli_timetravel
from clouddrive.cli import watch as cli_watch
from clouddrive.cli.common import err, make_asker, open_drive, out, print_json
from clouddrive.core.models import Plan
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
        err.print(f"[yellow]skipped[/] {escape(skip.path)}: {escape(skip.reason)}")
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

    def on_plan(self, plan: Plan) -> None:
        if self.as_json or plan.is_empty:
            return
        _print_plan(plan)

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
        if self.progress is not None and self.task is not None:
            self.progress.update(self.task, advance=action.size, files=escape(action.path[-40:]))
        if self.as_json:
            return
        if outcome.error:
            err.print(f"[red]failed[/] {label} {escape(action.path)}: {escape(outcome.error)}")
        elif not self.quiet and not action.is_bookkeeping:
            size = f" ({human_size(outcome.bytes_moved)})" if outcome.bytes_moved else ""
            note = f" - {outcome.note}" if outcome.note else ""
            out.print(f"[{colour}]{glyph} {label}[/] {escape(action.path + size + note)}")


def run_sync(drive: Drive, args: argparse.Namespace) -> SyncReport:
    """Plan, show, confirm, run: shared by `sync` and `demo`."""
    ask = make_asker(args.yes)
    output = _SyncOutput(args.quiet, getattr(args, "json", False))

    def confirm(plan: Plan) -> bool:
        ok = ask("Run this plan?")
        if ok:
            output.start(plan)
        return ok

    try:
        return drive.sync(
            confirm=confirm,
            dry_run=args.dry_run,
            max_delete=args.max_delete,
            force=args.force,
            on_plan=output.on_plan,
            on_outcome=output.on_outcome,
        )
    finally:
        output.stop()


def _finish(report: SyncReport, as_json: bool) -> int:
    if as_json:
        print_json(report_json(report))
    elif report.dry_run:
        out.print("Dry run: nothing was changed.")
    elif report.plan.is_empty:
        out.print("Everything is in sync.")
    else:
        out.print(f"Done: {len(report.done)} action(s), {len(report.failed)} failed.")
        if report.log_path:
            out.print(f"[dim]log: {report.log_path}[/]")
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
    from clouddrive.embedded.server import default_data_dir, ensure_embedded, stop_embedded

    if args.server_action == "stop":
        stopped = stop_embedded()
        out.print("Embedded server stopped." if stopped else "No embedded server was running.")
    else:
        info = ensure_embedded()
        out.print(f"Embedded S3 server: {info.endpoint_url} (pid {info.pid})")
        out.print(f"data: {default_data_dir()}")
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
    p.add_argument("--force", action="store_true", help="run past the delete and vanish guards")


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

    p = sub.add_parser("server", help="the embedded local S3 server: status or stop")
    p.add_argument("server_action", choices=("status", "stop"), nargs="?", default="status")
    p.set_defaults(func=cmd_server)

    # Command groups of their own modules register here, each with register(sub).
    cli_health.register(sub)
    cli_timetravel.register(sub)
    cli_watch.register(sub)
    cli_s3synchrony.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        args.func = cmd_app
    try:
        code: int = args.func(args)
    except errors.CloudDriveError as exc:
        print(f"clouddrive: {exc}", file=sys.stderr)
        code = exc.exit_code
    except KeyboardInterrupt:
        print("clouddrive: interrupted; finished actions are recorded", file=sys.stderr)
        code = 130
    except Exception as exc:  # a bug: still one line, never a traceback (unless debugging)
        if os.environ.get("CLOUDDRIVE_DEBUG"):
            raise
        print(f"clouddrive: internal error: {type(exc).__name__}: {exc}", file=sys.stderr)
        code = errors.EXIT_FAILURE
    return code
