"""`clouddrive status` and `clouddrive sync`: the plan, the question, the progress, the end.

A sync shows what it will do and asks (unless --yes); Ctrl-C stops it within seconds: the
first stops what has not started, a second quits at once (`clouddrive.cli.interrupt`).
"""

from __future__ import annotations

import argparse

from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from clouddrive import errors
from clouddrive.cli.common import (
    count,
    err,
    error_json,
    make_asker,
    open_drive,
    out,
    print_json,
    shown,
)
from clouddrive.cli.interrupt import EXIT_INTERRUPTED, CtrlC, Interrupted
from clouddrive.core.models import Plan
from clouddrive.drive import Drive
from clouddrive.sync.outcome import Outcome
from clouddrive.sync.report import SyncReport
from clouddrive.views.planview import (
    GLYPHS,
    done_summary,
    human_size,
    plan_json,
    plan_summary,
    plan_table,
    report_json,
)

__all__ = ["cmd_status", "finish", "register", "run_sync"]


def _print_plan(plan: Plan) -> None:
    """The table, then each skipped file by name (on stdout, part of the plan: it will not
    be synced, and why), then the counts."""
    if plan.visible():
        out.print(plan_table(plan))
    for skip in plan.skipped:
        out.print(f"[yellow]! skipped[/] {shown(skip.path)}: {shown(skip.reason)}")
    out.print(f"[bold]Plan:[/] {plan_summary(plan)}")


def _warn_skipped(plan: Plan) -> None:
    """Skipped files on stderr, for a quiet run whose plan is not printed."""
    for skip in plan.skipped:
        err.print(f"[yellow]skipped[/] {shown(skip.path)}: {shown(skip.reason)}")


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
    """Prints the plan, one line per finished action, and a progress bar on a terminal.

    Quiet (`-q`): no line per file, no progress bar, no summary; the plan only when it is
    asked about (no `--yes`) or is the point (`--dry-run`); errors and skipped files on
    stderr. A quiet run that needs no question prints nothing when all goes well."""

    def __init__(self, quiet: bool, as_json: bool, *, asks: bool = True) -> None:
        self.quiet = quiet
        self.asks = asks  #: the plan is shown for a question (or as a dry run's result)
        self.as_json = as_json
        self.progress: Progress | None = None
        self.task: TaskID | None = None
        self.planned = 0  #: visible actions of the plan
        self.done = 0  #: visible actions finished
        self.failed = 0

    def on_plan(self, plan: Plan) -> None:
        self.planned = len(plan.visible())
        if self.as_json or not (plan.visible() or plan.skipped):
            return
        if self.quiet and not self.asks:
            _warn_skipped(plan)
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
        if self.as_json or self.quiet or not out.is_terminal or not plan.visible():
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
    output = _SyncOutput(
        args.quiet, getattr(args, "json", False), asks=args.dry_run or not args.yes
    )
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


def finish(report: SyncReport, as_json: bool, quiet: bool = False) -> int:
    """The last line: what was done, counted as the plan was shown (bookkeeping named
    apart), or that nothing needed doing; then the exit code (3 when files were skipped)."""
    if as_json:
        document = report_json(report)
        if report.cancelled:  # exit 130: the error shape, with what was done beside it
            stopped = "stopped; finished actions are recorded, the rest waits for the next sync"
            document = {**error_json("interrupted", stopped, EXIT_INTERRUPTED), **document}
        print_json(document)
    elif report.dry_run:
        out.print("Dry run: nothing was changed.")
    elif not quiet:
        plan = report.plan
        if plan.is_empty and not plan.skipped:
            out.print("Everything is in sync.")
        elif plan.is_empty:
            out.print(
                f"Nothing else to do: {len(plan.skipped)} file(s) skipped (named above), "
                "everything else is in sync."
            )
        else:
            out.print(f"Done: {done_summary(report)}.")
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
        return finish(report, args.json, args.quiet)


def _sync_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dry-run", action="store_true", help="show the plan; change nothing")
    p.add_argument("--yes", "-y", action="store_true", help="run without asking")
    p.add_argument("--json", action="store_true", help="print one JSON document")
    p.add_argument(
        "--quiet",
        "-q",
        action="store_true",
        help="print only errors and skipped files (and the plan when it asks)",
    )
    p.add_argument(
        "--max-delete",
        type=count,
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


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `status` and `sync` to the `clouddrive` parser."""
    p = sub.add_parser("status", help="show the plan of the next sync; change nothing")
    p.add_argument("--json", action="store_true", help="print one JSON document")
    p.set_defaults(func=cmd_status)

    p = sub.add_parser("sync", help="show the plan, ask, and run it")
    _sync_flags(p)
    p.set_defaults(func=cmd_sync)
