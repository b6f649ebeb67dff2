"""`clouddrive watch`: keep a drive in sync (local events, the remote change feed, a slower
full check), or `--once` for cron; `--print-service` writes a login service for it."""

from __future__ import annotations

import argparse
import shlex
import shutil
import signal
import sys
import threading
from datetime import datetime
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from rich.markup import escape

from clouddrive import errors
from clouddrive.cli.common import count, err, open_drive, out, seconds
from clouddrive.views.planview import plan_summary

if TYPE_CHECKING:
    from clouddrive.live.loop import WatchOptions
    from clouddrive.sync.report import SyncReport

__all__ = ["cmd_watch", "register"]


def _say(line: str) -> None:
    out.print(f"[dim]{datetime.now():%H:%M:%S}[/] {escape(line)}")


def _report(report: SyncReport) -> None:
    """One line for a sync that did something, one per failed file."""
    if report.plan.visible():
        _say(f"synced: {plan_summary(report.plan)}")
    for outcome in report.failed:
        action = outcome.action
        err.print(
            f"[red]failed[/] {escape(action.kind.value)} {escape(action.path)}: "
            f"{escape(outcome.error or 'failed')}"
        )


def _options(args: argparse.Namespace) -> WatchOptions:
    # imported here, as in cmd_watch: the live drive (watchfiles, anyio) is for `watch` only;
    # `sync` and every other command should not pay for it
    from clouddrive.live.loop import WatchOptions

    return WatchOptions(
        poll=args.poll, full_every=args.full_every, settle=args.settle, max_delete=args.max_delete
    )


#: the intervals' defaults, in seconds (the flags' defaults, and what a service leaves out)
_INTERVALS = {"poll": 5.0, "full_every": 300.0, "settle": 1.0}


def _watch_flags(args: argparse.Namespace) -> list[str]:
    """The flags this watch was given (those that differ from their defaults), so that the
    service runs the watch the same way."""
    flags: list[str] = []
    for name, default in _INTERVALS.items():
        value = getattr(args, name)
        if value != default:
            flags += [f"--{name.replace('_', '-')}", format(value, "g")]
    if args.max_delete is not None:
        flags += ["--max-delete", str(args.max_delete)]
    return flags


def _print_service(kind: str, root: Path, flags: list[str]) -> int:
    from clouddrive.live.service import launchd_plist, systemd_unit

    exe = shutil.which("clouddrive") or shlex.join([sys.executable, "-m", "clouddrive"])
    make = systemd_unit if kind == "systemd" else launchd_plist
    print(make(exe, root, flags), end="")
    return errors.EXIT_OK


def cmd_watch(args: argparse.Namespace) -> int:
    from clouddrive.live.loop import Watcher  # imported here: see _options

    options = _options(args)
    with open_drive(args) as drive:
        if args.print_service:
            return _print_service(args.print_service, drive.root, _watch_flags(args))
        watcher = Watcher(drive, options, say=_say, on_report=_report)
        if args.once:
            report = watcher.once()
            _report(report)
            return errors.EXIT_PARTIAL if report.failed or report.plan.skipped else errors.EXIT_OK
        stop = threading.Event()

        def handle(signum: int, _frame: FrameType | None) -> None:
            stop.set()
            watcher.cancel.set()
            watcher.wake()

        previous: dict[signal.Signals, Any] = {}
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, handle)
        try:
            _say(
                f"watching {drive.root} <-> {drive.uri} as {drive.user} "
                f"(changes on S3 every {options.poll:g}s, full check every "
                f"{options.full_every:g}s); Ctrl-C stops"
            )
            watcher.run(stop)
        finally:
            for sig, old in previous.items():
                signal.signal(sig, old)
        _say("stopped")
    return errors.EXIT_OK


def register(sub: Any) -> None:
    """Add `watch` to the CLI's subcommands."""
    p = sub.add_parser(
        "watch",
        help="keep syncing: local file events plus a cheap remote change feed",
        description="Keep the drive in sync until stopped (Ctrl-C or SIGTERM, exit 0): local "
        "changes sync once the files settle, changes by other clouddrive users arrive within "
        "a poll or two, and a full check catches every other writer. The same guards as "
        "'clouddrive sync --yes': a mass delete pauses watching and says why.",
    )
    p.add_argument("--once", action="store_true", help="one sync, then exit (for cron)")
    p.add_argument(
        "--poll",
        type=seconds,
        default=_INTERVALS["poll"],
        metavar="SECONDS",
        help="how often to look for runs by others (default: %(default)s)",
    )
    p.add_argument(
        "--full-every",
        type=seconds,
        default=_INTERVALS["full_every"],
        metavar="SECONDS",
        help="how often to run a full check, for writers that are not clouddrive "
        "(default: %(default)s)",
    )
    p.add_argument(
        "--settle",
        type=seconds,
        default=_INTERVALS["settle"],
        metavar="SECONDS",
        help="how long a changed file must stand still before it syncs (default: %(default)s)",
    )
    p.add_argument(
        "--max-delete",
        type=count,
        metavar="N",
        help="pause if a sync would delete more than N files on either side "
        "(default: more than 50 and more than half of the synced files)",
    )
    p.add_argument(
        "--print-service",
        choices=("systemd", "launchd"),
        help="print a systemd user unit or a launchd agent that runs this watch at login",
    )
    p.set_defaults(func=cmd_watch)
