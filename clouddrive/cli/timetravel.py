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
from clouddrive.cli.common import count, drive_command, open_drive, out, print_json
from clouddrive.cli.common import shown as escape  # markup and control characters escaped
from clouddrive.cli.timetravel_plan import change_flags, run_plan
from clouddrive.core.paths import escape_name
from clouddrive.core.when import ago, format_moment, parse_when
from clouddrive.history.records import RunRecord
from clouddrive.history.views import DeletedFile, DeletedFolder, console_url, group_deleted, s3_uri
from clouddrive.views.planview import human_size

__all__ = ["drive_path", "register"]


# -- helpers ----------------------------------------------------------------------------------


def drive_path(root: Path, arg: str, cwd: Path | None = None) -> str:
    """A PATH argument as a drive path ("" for the drive's root).

    Absolute paths must lie inside the drive. Relative ones count from the current folder
    when it is inside the drive, else from the drive's root. The file need not exist (it
    may be deleted).
    """
    if not arg.strip():  # an unset variable in a script must not mean the whole drive
        raise errors.UserError(
            f"an empty path ({arg!r}): name a file or a folder (a folder means all in it)"
        )
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
    return parse_when(text, now=_now()) if text is not None else None


def _moment(moment: datetime | None, now: datetime) -> str:
    if moment is None:
        return "-"
    return f"{format_moment(moment)} ({ago(moment, now=now)})"


# -- commands ---------------------------------------------------------------------------------


def _until(deleted: DeletedFile) -> str:
    if deleted.recoverable_until is not None:
        return format_moment(deleted.recoverable_until)
    if deleted.lifecycle_rule is not None:
        return "kept (newest versions are kept)"
    return "no expiry"


def _expiry_order(d: DeletedFile) -> datetime:
    return d.recoverable_until or datetime.max.replace(tzinfo=UTC)


def cmd_deleted(args: argparse.Namespace) -> int:
    with open_drive(args) as drive:
        path = drive_path(drive.root, args.path) if args.path is not None else ""
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
        lines = [*found] if args.all else group_deleted(found, path)
        for d in lines:
            if isinstance(d, DeletedFolder):
                row: list[str | Text] = [
                    Text(escape_name(f"{d.path}/ ({len(d.files)} files)")),
                    _moment(d.deleted_at, now),
                    Text(escape_name(d.deleted_by)),
                    human_size(d.size),
                    "",
                ]
                first = min(
                    d.files, key=lambda f: f.recoverable_until or datetime.max.replace(tzinfo=UTC)
                )
            else:
                row = [
                    Text(
                        escape_name(d.path) + (f" ({d.markers} deletes)" if d.markers > 1 else "")
                    ),
                    _moment(d.deleted_at, now),
                    Text(escape_name(d.deleted_by)),
                    human_size(d.size),
                    Text(escape_name(d.author)),
                ]
                first = d
            if with_expiry:
                row.append(_until(first))
            table.add_row(*row)
        out.print(f"[bold]Deleted in {escape(where)}[/] ({len(found)})")
        out.print(table)
        if len(lines) < len(found):
            out.print(
                f"[dim]Folders show as one line; 'clouddrive deleted FOLDER' looks inside, "
                f"--all lists all {len(found)} files.[/]"
            )
        if not with_expiry:
            out.print(
                "[dim]No lifecycle rule expires old versions here: deleted files stay "
                "recoverable until someone purges them.[/]"
            )
        again = escape(drive_command(drive.root, "restore-deleted", "PATH"))
        out.print(f"[dim]Bring one back: {again}[/]")
    return errors.EXIT_OK


def cmd_restore_deleted(args: argparse.Namespace) -> int:
    if bool(args.paths) == bool(args.all):
        raise errors.UserError("give the deleted PATHs to restore, or --all (not both)")
    with open_drive(args) as drive:
        paths = [drive_path(drive.root, p) for p in args.paths]
        if "" in paths:
            raise errors.UserError("to restore everything deleted in the drive, use --all")
        plan = drive.plan_restore_deleted(paths, everything=args.all, since=_when(args.since))
        return run_plan(drive, plan, args)


def cmd_history(args: argparse.Namespace) -> int:
    with open_drive(args) as drive:
        path = drive_path(drive.root, args.path)
        versions = drive.history(path)
        cfg = drive.config
        key = f"{cfg.prefix}/{path}" if cfg.prefix else path
        uri = s3_uri(cfg.bucket, key)
        console = console_url(cfg.bucket, key, endpoint_url=drive.endpoint, region=cfg.region)
        if args.json:
            versions_json = [v.to_json() for v in versions]
            print_json(
                {"path": path, "uri": uri, "console_url": console, "versions": versions_json}
            )
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
        out.print(f"[dim]On S3: {escape(uri)}[/]", soft_wrap=True)
        if console is not None:
            out.print(f"[dim]In the AWS console: {escape(console)}[/]", soft_wrap=True)
        out.print("[dim]Make one current again: clouddrive restore PATH --version ID[/]")
    return errors.EXIT_OK


def cmd_restore(args: argparse.Namespace) -> int:
    with open_drive(args) as drive:
        path = drive_path(drive.root, args.path)
        plan = drive.plan_restore(path, version_id=args.version, at=_when(args.at))
        return run_plan(drive, plan, args)


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
            if not record.is_finished:
                kind += f" ({record.state})"
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
        out.print(f"[dim]Revert one run: {escape(drive_command(drive.root, 'undo', 'RUN_ID'))}[/]")
    return errors.EXIT_OK


def cmd_undo(args: argparse.Namespace) -> int:
    with open_drive(args) as drive:
        plan = drive.plan_undo(args.run_id)
        return run_plan(drive, plan, args)


# -- parsing ----------------------------------------------------------------------------------


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the time-travel commands to the `clouddrive` parser."""
    when_help = "ISO 8601 time (a UTC offset allowed) or relative: 30m, 2h, 3d, 1w"

    p = sub.add_parser("deleted", help="recently deleted files: when, by whom, recoverable until")
    p.add_argument("path", nargs="?", help="a folder (or file) to look in (default: the drive)")
    p.add_argument("--since", metavar="WHEN", help=f"only deletes since WHEN ({when_help})")
    p.add_argument(
        "--all", action="store_true", help="every deleted file on its own line (not by folder)"
    )
    p.add_argument("--json", action="store_true", help="print one JSON document (every file)")
    p.set_defaults(func=cmd_deleted)

    p = sub.add_parser(
        "restore-deleted", help="bring deleted files (or every deleted file in a folder) back"
    )
    p.add_argument("paths", nargs="*", metavar="PATH", help="deleted files or folders")
    p.add_argument("--all", action="store_true", help="everything deleted in the drive")
    p.add_argument(
        "--since", metavar="WHEN", help=f"only what was deleted since WHEN ({when_help})"
    )
    change_flags(p)
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
    change_flags(p)
    p.set_defaults(func=cmd_restore)

    p = sub.add_parser("activity", help="the feed of runs by every user: who, when, what")
    p.add_argument("--since", metavar="WHEN", help=f"only runs since WHEN ({when_help})")
    p.add_argument(
        "--limit",
        type=count,
        default=50,
        metavar="N",
        help="newest N runs (default: %(default)s; 0: all)",
    )
    p.add_argument("--json", action="store_true", help="print one JSON document")
    p.set_defaults(func=cmd_activity)

    p = sub.add_parser("undo", help="revert exactly the changes one run made on S3")
    p.add_argument("run_id", metavar="RUN_ID", help="the run (see 'clouddrive activity')")
    change_flags(p)
    p.set_defaults(func=cmd_undo)
