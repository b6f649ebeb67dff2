"""`clouddrive deleted | restore-deleted | history | restore | activity | undo`: time travel.

A thin shell over the engine's time-travel API (`Drive.deleted`, `Drive.history`,
`Drive.plan_*`, `Drive.apply`, `Drive.activity`); nothing here talks to S3 directly.
PATH arguments are relative to the current folder when it is inside the drive, else to the
drive's root. Commands that change something show their plan and ask (unless `--yes`; with no
terminal they refuse). Exit codes: 0 done, 1 user error or refused (also: nothing could be
done, with the reason), 2 a remote or local failure, 3 some paths were skipped or failed.
"""

from __future__ import annotations

import argparse
import os
from datetime import UTC, datetime
from pathlib import Path

from rich.table import Table
from rich.text import Text

from clouddrive import errors
from clouddrive.cli.common import err, make_asker, open_drive, out, print_json
from clouddrive.cli.common import shown as escape  # markup and control characters escaped
from clouddrive.core.paths import escape_name
from clouddrive.core.timeline import Op, Step
from clouddrive.core.when import ago, format_moment, parse_when
from clouddrive.drive import Drive
from clouddrive.history.runs import RunRecord
from clouddrive.history.timetravel import DeletedFile, StepResult, TimeTravelPlan, TimeTravelReport
from clouddrive.views.planview import human_size

__all__ = ["drive_path", "register"]

_OP_LOOK = {Op.COPY: ("↺", "restore", "green"), Op.DELETE: ("✗", "delete", "red")}
_MAX_ROWS = 200


# -- helpers ----------------------------------------------------------------------------------


def drive_path(root: Path, arg: str, cwd: Path | None = None) -> str:
    """A PATH argument as a drive path ("" for the drive's root).

    Absolute paths must lie inside the drive. Relative ones count from the current folder
    when it is inside the drive, else from the drive's root. The file need not exist (it
    may be deleted).
    """
    root = root.resolve()
    here = (cwd or Path.cwd()).resolve()
    raw = Path(os.path.expanduser(arg))
    if raw.is_absolute():
        full = Path(os.path.normpath(raw))
    elif here == root or root in here.parents:
        full = Path(os.path.normpath(here / raw))
    else:
        full = Path(os.path.normpath(root / raw))
    candidates = [full]
    if full.parent.exists():  # the same place through a symlinked folder
        candidates.append(full.parent.resolve() / full.name)
    for candidate in candidates:
        if candidate == root:
            return ""
        if root in candidate.parents:
            return candidate.relative_to(root).as_posix()
    raise errors.UserError(f"{arg} is outside the drive {root}")


def _now() -> datetime:
    return datetime.now(UTC)


def _when(text: str | None) -> datetime | None:
    return parse_when(text, now=_now()) if text else None


def _moment(moment: datetime | None, now: datetime) -> str:
    if moment is None:
        return "-"
    return f"{format_moment(moment)} ({ago(moment, now=now)})"


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


def _show_plan(plan: TimeTravelPlan) -> None:
    out.print(f"[bold]{escape(plan.title)}[/]")
    if plan.steps:
        out.print(plan_table(plan))
    for skip in plan.skipped:
        err.print(f"[yellow]not changed[/] {escape(skip.path)}: {escape(skip.reason)}")
    if plan.local_only:
        out.print(
            f"[dim]{plan.local_only} action(s) of that run changed only its own machine's "
            "files (downloads, local deletes): nothing on S3 to revert.[/]"
        )


def _nothing_to_do(plan: TimeTravelPlan) -> int:
    """A plan without steps: fine if nothing was asked for, a user error if all was refused."""
    if not plan.skipped:
        out.print("Nothing to change: it is already that way.")
        return errors.EXIT_OK
    if len(plan.skipped) == 1:
        skip = plan.skipped[0]
        raise errors.UserError(f"{skip.path}: {skip.reason}; nothing was changed")
    for skip in plan.skipped:
        err.print(f"[yellow]not changed[/] {escape(skip.path)}: {escape(skip.reason)}")
    raise errors.UserError("nothing to do for any of the paths given; nothing was changed")


def _on_result(result: StepResult) -> None:
    glyph, label, colour = _OP_LOOK[result.step.op]
    if result.ok:
        out.print(f"[{colour}]{glyph} {label}d[/] {escape(result.step.path)}")
    else:
        err.print(
            f"[red]failed[/] {label} {escape(result.step.path)}: {escape(result.error or '')}"
        )


def _finish(report: TimeTravelReport, as_json: bool) -> int:
    if as_json:
        print_json(report.to_json())
    else:
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
    if report.failed or report.plan.skipped or report.local_failed:
        return errors.EXIT_PARTIAL
    return errors.EXIT_OK


def _run_plan(drive: Drive, plan: TimeTravelPlan, args: argparse.Namespace) -> int:
    """Show, ask, carry out, report: shared by every command that changes something."""
    if args.json and args.dry_run:
        print_json(plan.to_json())
        return errors.EXIT_OK
    if plan.is_empty:
        if args.json:
            print_json(plan.to_json())
        return _nothing_to_do(plan)
    if not args.json:
        _show_plan(plan)
    if args.dry_run:
        out.print("Dry run: nothing was changed.")
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


def _change_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--yes", "-y", action="store_true", help="go ahead without asking")
    p.add_argument("--dry-run", action="store_true", help="show the plan; change nothing")
    p.add_argument("--json", action="store_true", help="print one JSON document")


# -- commands ---------------------------------------------------------------------------------


def _until(deleted: DeletedFile) -> str:
    if deleted.recoverable_until is not None:
        return format_moment(deleted.recoverable_until)
    if deleted.lifecycle_rule is not None:
        return "kept (newest versions are kept)"
    return "no expiry"


def cmd_deleted(args: argparse.Namespace) -> int:
    with open_drive(args) as drive:
        path = drive_path(drive.root, args.path) if args.path else ""
        found = drive.deleted(path, since=_when(args.since))
        if args.json:
            print_json({"path": path, "deleted": [d.to_json() for d in found]})
            return errors.EXIT_OK
        where = path or "the drive"
        if not found:
            out.print(f"Nothing deleted in {escape(where)}.")
            return errors.EXIT_OK
        now = _now()
        table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
        for name in ("path", "deleted", "by", "size", "last version by"):
            table.add_column(name, overflow="fold", no_wrap=name != "path")
        with_expiry = any(d.lifecycle_rule is not None for d in found)
        if with_expiry:
            table.add_column("recoverable until")
        for d in found:
            row: list[str | Text] = [
                Text(escape_name(d.path) + (f" ({d.markers} deletes)" if d.markers > 1 else "")),
                _moment(d.deleted_at, now),
                Text(escape_name(d.deleted_by)),
                human_size(d.size),
                Text(escape_name(d.author)),
            ]
            if with_expiry:
                row.append(_until(d))
            table.add_row(*row)
        out.print(f"[bold]Deleted in {escape(where)}[/] ({len(found)})")
        out.print(table)
        if not with_expiry:
            out.print(
                "[dim]No lifecycle rule expires old versions here: deleted files stay "
                "recoverable until someone purges them.[/]"
            )
        out.print("[dim]Bring one back: clouddrive restore-deleted PATH[/]")
    return errors.EXIT_OK


def cmd_restore_deleted(args: argparse.Namespace) -> int:
    if bool(args.paths) == bool(args.all):
        raise errors.UserError("give the deleted PATHs to restore, or --all (not both)")
    with open_drive(args) as drive:
        paths = [drive_path(drive.root, p) for p in args.paths]
        if "" in paths:
            raise errors.UserError("to restore everything deleted in the drive, use --all")
        plan = drive.plan_restore_deleted(paths, everything=args.all, since=_when(args.since))
        return _run_plan(drive, plan, args)


def cmd_history(args: argparse.Namespace) -> int:
    with open_drive(args) as drive:
        path = drive_path(drive.root, args.path)
        versions = drive.history(path)
        if args.json:
            print_json({"path": path, "versions": [v.to_json() for v in versions]})
            return errors.EXIT_OK
        now = _now()
        table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
        # Ids are shown by their first 12 characters (any unique prefix is accepted back;
        # --json has them whole), so the table fits a normal terminal.
        for name in ("version", "time", "author", "size", ""):
            table.add_column(name, overflow="fold", no_wrap=bool(name))
        for v in versions:
            notes = []
            if v.is_latest:
                notes.append("current")
            if v.restored_from:
                notes.append(f"restored from {v.restored_from[:12]}")
            if v.is_delete_marker:
                label = Text("delete marker", style="red")
                size = "-"
            else:
                label = Text(v.version_id[:12])
                size = human_size(v.size)
            table.add_row(
                label,
                _moment(v.modified, now),
                Text(escape_name(v.author)),
                size,
                Text(escape_name(", ".join(notes))),
            )
        out.print(f"[bold]History of {escape(path)}[/] ({len(versions)} entries, newest first)")
        out.print(table)
        out.print("[dim]Make one current again: clouddrive restore PATH --version ID[/]")
    return errors.EXIT_OK


def cmd_restore(args: argparse.Namespace) -> int:
    with open_drive(args) as drive:
        path = drive_path(drive.root, args.path)
        plan = drive.plan_restore(path, version_id=args.version, at=_when(args.at))
        return _run_plan(drive, plan, args)


def _what(record: RunRecord) -> str:
    counts = record.counts()
    labels = {
        "upload": "up",
        "download": "down",
        "delete-remote": "deleted on S3",
        "delete-local": "deleted here",
        "conflict-copy": "conflict copies",
        "restore": "restored",
    }
    parts = [f"{n} {labels.get(op, op)}" for op, n in sorted(counts.items())]
    if record.failed:
        parts.append(f"{len(record.failed)} failed")
    return ", ".join(parts) or "nothing"


def cmd_activity(args: argparse.Namespace) -> int:
    with open_drive(args) as drive:
        limit = args.limit if args.limit > 0 else None
        records = drive.activity(since=_when(args.since), limit=limit + 1 if limit else None)
        shown = records[:limit] if limit else records
        more = len(records) > len(shown)
        if args.json:
            print_json({"runs": [r.to_json() for r in shown], "more": more})
            return errors.EXIT_OK
        if not records:
            out.print("No runs recorded yet.")
            return errors.EXIT_OK
        table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
        for name in ("when", "run", "who", "kind", "what"):
            table.add_column(name, overflow="fold", no_wrap=name in ("when", "run"))
        table.add_column("paths", overflow="fold", min_width=16)
        for record in shown:
            paths = sorted({a.path for a in record.actions})
            sample = ", ".join(paths[:3]) + (f", +{len(paths) - 3} more" if len(paths) > 3 else "")
            kind = record.kind + (f" of {record.undo_of}" if record.undo_of else "")
            table.add_row(
                format_moment(record.started),
                record.run_id,
                Text(escape_name(f"{record.user}@{record.host}" if record.host else record.user)),
                kind,
                _what(record),
                Text(escape_name(sample)),
            )
        out.print(table)
        if more:
            out.print("[dim]... and older runs (see more with --limit N, or --since WHEN)[/]")
        out.print("[dim]Revert one run: clouddrive undo RUN_ID[/]")
    return errors.EXIT_OK


def cmd_undo(args: argparse.Namespace) -> int:
    with open_drive(args) as drive:
        plan = drive.plan_undo(args.run_id)
        return _run_plan(drive, plan, args)


# -- parsing ----------------------------------------------------------------------------------


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the time-travel commands to the `clouddrive` parser."""
    when_help = "ISO 8601 time (a UTC offset allowed) or relative: 30m, 2h, 3d, 1w"

    p = sub.add_parser("deleted", help="recently deleted files: when, by whom, recoverable until")
    p.add_argument("path", nargs="?", help="a folder (or file) to look in (default: the drive)")
    p.add_argument("--since", metavar="WHEN", help=f"only deletes since WHEN ({when_help})")
    p.add_argument("--json", action="store_true", help="print one JSON document")
    p.set_defaults(func=cmd_deleted)

    p = sub.add_parser(
        "restore-deleted", help="bring deleted files (or every deleted file in a folder) back"
    )
    p.add_argument("paths", nargs="*", metavar="PATH", help="deleted files or folders")
    p.add_argument("--all", action="store_true", help="everything deleted in the drive")
    p.add_argument(
        "--since", metavar="WHEN", help=f"only what was deleted since WHEN ({when_help})"
    )
    _change_flags(p)
    p.set_defaults(func=cmd_restore_deleted)

    p = sub.add_parser("history", help="every version of one file: when, who, size")
    p.add_argument("path", metavar="PATH")
    p.add_argument("--json", action="store_true", help="print one JSON document")
    p.set_defaults(func=cmd_history)

    p = sub.add_parser(
        "restore", help="make an old version current again (a whole folder too, with --at)"
    )
    p.add_argument("path", metavar="PATH", help="a file (or, with --at, a folder; '.' for all)")
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--version", metavar="ID", help="the version to restore (see history)")
    which.add_argument("--at", metavar="WHEN", help=f"as it was at WHEN ({when_help})")
    _change_flags(p)
    p.set_defaults(func=cmd_restore)

    p = sub.add_parser("activity", help="the feed of runs by every user: who, when, what")
    p.add_argument("--since", metavar="WHEN", help=f"only runs since WHEN ({when_help})")
    p.add_argument(
        "--limit",
        type=int,
        default=50,
        metavar="N",
        help="newest N runs (default: %(default)s; 0: all)",
    )
    p.add_argument("--json", action="store_true", help="print one JSON document")
    p.set_defaults(func=cmd_activity)

    p = sub.add_parser("undo", help="revert exactly the changes one run made on S3")
    p.add_argument("run_id", metavar="RUN_ID", help="the run (see 'clouddrive activity')")
    _change_flags(p)
    p.set_defaults(func=cmd_undo)
