"""How a plan and a run's results look to people (a rich table) and to scripts (JSON)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from rich.table import Table
from rich.text import Text

from clouddrive.core.models import Action, ActionKind, Plan
from clouddrive.core.paths import escape_name
from clouddrive.sync.report import SyncReport

__all__ = [
    "GLYPHS",
    "done_summary",
    "human_size",
    "plan_json",
    "plan_summary",
    "plan_table",
    "report_json",
    "size_text",
]

#: glyph, label and colour per action, shared by the CLI (and the TUI later).
GLYPHS: dict[ActionKind, tuple[str, str, str]] = {
    ActionKind.UPLOAD: ("↑", "upload", "green"),
    ActionKind.DOWNLOAD: ("↓", "download", "cyan"),
    ActionKind.DELETE_LOCAL: ("✗", "delete here", "red"),
    ActionKind.DELETE_REMOTE: ("✗", "delete on S3", "red"),
    ActionKind.CONFLICT: ("⚠", "conflict", "bold yellow"),
    ActionKind.RECORD: ("=", "already equal", "dim"),
    ActionKind.FORGET: ("·", "gone on both", "dim"),
}


_BOOKKEEPING = (ActionKind.RECORD, ActionKind.FORGET)


def human_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"


def _why(action: Action) -> str:
    if action.kind is ActionKind.CONFLICT:
        return f"both changed; yours is kept as '{escape_name(action.conflict_path or '')}'"
    if action.kind is ActionKind.UPLOAD and action.remote_change.value == "deleted":
        return "edited here, deleted on S3: the edit wins"
    if action.kind is ActionKind.DOWNLOAD and action.local_change.value == "deleted":
        return "deleted here, edited on S3: the edit wins"
    if action.remote_change.value == "vanished":
        return "its history vanished from S3"
    return f"{action.local_change.value} here, {action.remote_change.value} on S3"


def size_text(action: Action) -> str:
    """The size column: a conflict keeps both sides, so it shows each (never their sum)."""
    if action.kind is ActionKind.CONFLICT and action.local is not None and action.remote:
        return f"{human_size(action.local.size)} here, {human_size(action.remote.size)} on S3"
    return human_size(action.size) if action.size else ""


#: what a user must see first when a plan is too long to show whole
_PRIORITY = {
    ActionKind.CONFLICT: 0,
    ActionKind.DELETE_REMOTE: 1,
    ActionKind.DELETE_LOCAL: 1,
    ActionKind.UPLOAD: 2,
    ActionKind.DOWNLOAD: 2,
}


def plan_table(plan: Plan, max_rows: int = 200) -> Table:
    """The visible actions, conflicts and deletes first; long plans end with a count."""
    table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
    table.add_column("", width=1)
    table.add_column("action")
    table.add_column("path", overflow="fold")
    table.add_column("size", justify="right")
    table.add_column("why", style="dim")
    actions = plan.visible()
    if len(actions) > max_rows:
        actions = tuple(sorted(actions, key=lambda a: _PRIORITY.get(a.kind, 3)))
    for action in actions[:max_rows]:
        glyph, label, colour = GLYPHS[action.kind]
        table.add_row(
            Text(glyph, style=colour),
            Text(label, style=colour),
            Text(escape_name(action.path)),  # Text: a name is never markup, never a raw newline
            size_text(action),
            Text(_why(action)),
        )
    if len(actions) > max_rows:
        more = len(actions) - max_rows
        table.add_row("", "", Text(f"... and {more} more (status --json lists all)"), "", "")
    return table


def plan_summary(plan: Plan) -> str:
    counts = plan.counts()
    parts = [
        f"{counts[kind]} {GLYPHS[kind][1]}"
        for kind in ActionKind
        if counts[kind] and kind not in _BOOKKEEPING
    ]
    text = ", ".join(parts) if parts else "nothing to transfer"
    if plan.skipped:
        text += f"; {len(plan.skipped)} skipped"
    return text


#: how bookkeeping that was carried out reads after a run (nothing moved for these)
_BOOKKEPT = {
    ActionKind.RECORD: "already in sync, recorded",
    ActionKind.FORGET: "gone on both sides, forgotten",
}


def done_summary(report: SyncReport) -> str:
    """What a run did, counted the way its plan was shown (`plan_summary`): the changes the
    user saw and approved, then the failures, then bookkeeping, named as such (`reset`
    then sync: "1 download; 3006 already in sync, recorded")."""
    done = Counter(o.action.kind for o in report.done)
    parts = [
        f"{done[kind]} {GLYPHS[kind][1]}"
        for kind in ActionKind
        if done[kind] and kind not in _BOOKKEEPING
    ]
    text = ", ".join(parts) if parts else "no change"
    failed = [o for o in report.failed if not o.action.is_bookkeeping]
    if failed:
        text += f", {len(failed)} failed"
    kept = [f"{done[kind]} {_BOOKKEPT[kind]}" for kind in _BOOKKEEPING if done[kind]]
    if kept:
        text += "; " + ", ".join(kept)
    if report.plan.skipped:
        text += f"; {len(report.plan.skipped)} skipped"
    return text


def _action_json(action: Action) -> dict[str, Any]:
    return {
        "action": action.kind.value,
        "path": action.path,
        "size": action.size,
        "local_size": action.local.size if action.local is not None else None,
        "remote_size": action.remote.size if action.remote is not None else None,
        "local": action.local_change.value,
        "remote": action.remote_change.value,
        "remote_version": action.remote.version_id if action.remote else None,
        "conflict_path": action.conflict_path,
    }


def plan_json(plan: Plan) -> dict[str, Any]:
    return {
        "actions": [_action_json(a) for a in plan.actions],
        "counts": {kind.value: n for kind, n in plan.counts().items()},
        "skipped": [{"path": s.path, "reason": s.reason} for s in plan.skipped],
        "vanished": list(plan.vanished),
    }


def report_json(report: SyncReport) -> dict[str, Any]:
    """The same shape whether the plan ran or was a dry run (then no run id: nothing ran)."""
    return {
        "run_id": None if report.dry_run else report.run_id,
        "dry_run": report.dry_run,
        "plan": plan_json(report.plan),
        "done": [
            {
                **_action_json(o.action),
                "note": o.note,
                "transfers": [t.__dict__ for t in o.transfers],
            }
            for o in report.done
        ],
        "failed": [{**_action_json(o.action), "error": o.error} for o in report.failed],
        "log": str(report.log_path) if report.log_path else None,
    }
