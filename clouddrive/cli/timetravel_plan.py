"""A time-travel plan on the terminal: its table, the question, carrying it out, the result.

Shared by every command that changes something (`restore-deleted`, `restore`, `undo`):
show the plan, ask (unless `--yes`), apply it through `Drive.apply`, print each step as it
ends and a summary; with `--json`, one document instead.
"""

from __future__ import annotations

import argparse
from datetime import UTC
from typing import TYPE_CHECKING, Any

from rich.table import Table
from rich.text import Text

from clouddrive import errors
from clouddrive.cli.common import drive_command, err, make_asker, out, pasteable, print_json
from clouddrive.cli.common import shown as escape  # markup and control characters escaped
from clouddrive.core.paths import escape_name
from clouddrive.core.timeline import Op, Step
from clouddrive.core.when import format_moment
from clouddrive.views.planview import human_size

if TYPE_CHECKING:
    from pathlib import Path

    from clouddrive.drive import Drive
    from clouddrive.history.apply import StepResult, TimeTravelReport
    from clouddrive.history.plans import TimeTravelPlan

__all__ = ["change_flags", "plan_table", "run_plan"]

_OP_LOOK = {Op.COPY: ("↺", "restore", "green"), Op.DELETE: ("✗", "delete", "red")}
_MAX_ROWS = 200


def _why(step: Step) -> str:
    if step.why == "deleted":
        return "deleted: its last version comes back"
    if step.why == "version":
        return "that version becomes current again"
    if step.why == "undo":
        return "back to what it was before the run"
    return step.why


def plan_table(plan: TimeTravelPlan) -> Table:
    """The steps of a time-travel plan, one row each (long plans end with a count)."""
    table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
    table.add_column("", width=1)
    table.add_column("action")
    table.add_column("path", overflow="fold")
    table.add_column("version", overflow="fold")
    table.add_column("why", style="dim", overflow="fold")
    for step in plan.steps[:_MAX_ROWS]:
        glyph, label, colour = _OP_LOOK[step.op]
        if step.source is not None:
            version = (
                f"{step.source.version_id[:12]} of {format_moment(step.source.modified)}, "
                f"{human_size(step.source.size)}"
            )
        else:
            version = "delete marker (history stays)"
        table.add_row(
            Text(glyph, style=colour),
            Text(label, style=colour),
            Text(escape_name(step.path)),
            version,
            Text(escape_name(_why(step))),
        )
    if len(plan.steps) > _MAX_ROWS:
        more = len(plan.steps) - _MAX_ROWS
        table.add_row("", "", Text(f"... and {more} more (--dry-run --json lists all)"), "", "")
    return table


def _show_plan(plan: TimeTravelPlan, root: Path) -> None:
    out.print(f"[bold]{escape(plan.title)}[/]")
    if plan.resumes is not None:
        out.print(
            f"[yellow]Run {plan.resumes.run_id} of the same request was interrupted: "
            "this finishes its plan.[/]"
        )
    if plan.steps:
        out.print(plan_table(plan))
    for skip in plan.skipped:
        reason = pasteable(skip.reason, root)
        err.print(f"[yellow]not changed[/] {escape(skip.path)}: {escape(reason)}")
    if plan.local_only:
        out.print(
            f"[dim]{plan.local_only} action(s) of that run changed only its own machine's "
            "files (downloads, local deletes): nothing on S3 to revert.[/]"
        )


#: how many refused paths an error names one by one (the rest are counted)
_REASONS_NAMED = 5


def _nothing_to_do(plan: TimeTravelPlan) -> int:
    """A plan without steps: fine if nothing was asked for, a user error if all was refused:
    one line that names why for each path (the first few), so `--json` carries it too."""
    if not plan.skipped:
        out.print("Nothing to change: it is already that way.")
        return errors.EXIT_OK
    named = [f"{skip.path}: {skip.reason}" for skip in plan.skipped[:_REASONS_NAMED]]
    more = len(plan.skipped) - len(named)
    if more:
        named.append(f"and {more} more")
    raise errors.UserError(f"{'; '.join(named)}; nothing was changed")


def _on_result(result: StepResult) -> None:
    glyph, label, colour = _OP_LOOK[result.step.op]
    if result.ok:
        earlier = " [dim](already done by the interrupted run)[/]" if result.earlier else ""
        out.print(f"[{colour}]{glyph} {label}d[/] {escape(result.step.path)}{earlier}")
        if result.race:
            err.print(f"[yellow]race[/] {escape(result.step.path)}: {escape(result.race)}")
    else:
        err.print(
            f"[red]failed[/] {label} {escape(result.step.path)}: {escape(result.error or '')}"
        )


def dry_run_json(plan: TimeTravelPlan, *, dry_run: bool = True) -> dict[str, Any]:
    """A plan not carried out (a dry run, or nothing to do): the shape of a run's document
    (`report.to_json()`), with nothing done and no run id."""
    return {
        "run_id": None,
        "dry_run": dry_run,
        "plan": plan.to_json(),
        "done": [],
        "failed": [],
        "record": None,
        "local": None,
    }


def _finish(report: TimeTravelReport, as_json: bool) -> int:
    if as_json:
        print_json({**report.to_json(), "dry_run": False})
    else:
        if report.plan.resumes is not None:
            out.print(f"[dim]Finished the interrupted run {report.run_id}.[/]")
        for path in report.downloaded:
            out.print(f"[cyan]↓ here[/] {escape(path)}")
        for path in report.removed_here:
            out.print(f"[red]✗ removed here[/] {escape(path)}")
        for skip in report.left_for_sync:
            err.print(f"[yellow]left here[/] {escape(skip.path)}: {escape(skip.reason)}")
        for skip in report.local_failed:
            err.print(f"[red]not brought here[/] {escape(skip.path)}: {escape(skip.reason)}")
        if report.local_note:
            err.print(f"[yellow]{escape(report.local_note)}[/]")
        out.print(
            f"Done: {len(report.done)} changed on S3, {len(report.failed)} failed"
            + (f" (run {report.run_id})." if report.done else ".")
        )
    if report.failed or report.races or report.plan.skipped or report.local_failed:
        return errors.EXIT_PARTIAL
    return errors.EXIT_OK


def run_plan(drive: Drive, plan: TimeTravelPlan, args: argparse.Namespace) -> int:
    """Show, ask, carry out, report: shared by every command that changes something."""
    if plan.is_empty:
        if args.json and not plan.skipped:
            print_json(dry_run_json(plan, dry_run=args.dry_run))
            return errors.EXIT_OK
        # an error: with --json, main() prints it as one object
        return _nothing_to_do(plan)
    if args.json and args.dry_run:
        print_json(dry_run_json(plan))
        return errors.EXIT_OK
    if not args.json:
        _show_plan(plan, drive.root)
    if args.dry_run:
        out.print("Dry run: nothing was changed.")
        if plan.kind == "restore-at" and plan.at is not None:
            # A relative --at (10m) names another moment a minute later: this names this one.
            exact = plan.at.astimezone(UTC).isoformat(timespec="microseconds")
            again = drive_command(drive.root, "restore", getattr(args, "path", "") or ".")
            out.print(
                f"To run exactly this plan: {again} --at {exact}",
                soft_wrap=True,
                markup=False,
                highlight=False,
            )
        return errors.EXIT_OK
    parts = []
    if plan.copies:
        parts.append(f"restore {plan.copies} version(s)")
    if plan.deletes:
        parts.append(f"put {plan.deletes} delete marker(s)")
    question = f"{' and '.join(parts).capitalize()} on S3, then update this folder?"
    ask = make_asker(args.yes)
    report = drive.apply(
        plan,
        confirm=lambda _plan: ask(question),
        on_result=None if args.json else _on_result,
    )
    return _finish(report, args.json)


def change_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--yes", "-y", action="store_true", help="go ahead without asking")
    p.add_argument("--dry-run", action="store_true", help="show the plan; change nothing")
    p.add_argument("--json", action="store_true", help="print one JSON document")
