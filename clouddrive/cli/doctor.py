"""`clouddrive doctor`: every check of `clouddrive.admin.doctor`, one line each with its fix.

Exit codes: 0 when sync can run (warnings allowed), 1 when a check sync depends on failed.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from rich.markup import escape

from clouddrive import errors
from clouddrive.cli.common import error_json, open_drive, out, print_json

if TYPE_CHECKING:
    from clouddrive.admin.checks import Verdict

__all__ = ["cmd_doctor", "register_doctor"]


def _verdict_style(verdict: Verdict) -> str:
    from clouddrive.admin.checks import Verdict

    return {
        Verdict.OK: "[green]ok  [/]",
        Verdict.WARN: "[yellow]warn[/]",
        Verdict.FAIL: "[red]FAIL[/]",
        Verdict.SKIP: "[dim]skip[/]",
    }[verdict]


def cmd_doctor(args: argparse.Namespace) -> int:
    # imported here: `sync` and every other command should not pay for the checks
    from clouddrive.admin import doctor
    from clouddrive.admin.checks import Verdict

    with open_drive(args) as drive:
        if not args.json:
            out.print(
                f"[dim]{escape(str(drive.root))} <-> {escape(drive.uri)} as {drive.user}[/]",
                soft_wrap=True,
            )
        report = doctor.run(drive)
    if args.json:
        document = report.as_json()
        if not report.ok:  # the error shape of every --json command, with the checks
            names = ", ".join(c.name for c in report.failed)
            message = f"sync depends on what failed: {names}"
            document = {**error_json("checks_failed", message, errors.EXIT_USER), **document}
        print_json(document)
    else:
        for check in report.checks:
            fix = f" [bold]fix:[/] {escape(check.fix_line)}" if check.fix_line else ""
            line = f"{_verdict_style(check.verdict)} {check.name}: {escape(check.detail)}"
            out.print(line + (" —" + fix if fix else ""), soft_wrap=True)
        if report.ok:
            out.print(
                "The drive is set up right."
                if all(c.verdict is Verdict.OK for c in report.checks)
                else "Sync can run; see the warnings above."
            )
        else:
            names = ", ".join(c.name for c in report.failed)
            out.print(f"[red]Sync depends on what failed: {escape(names)}.[/]", soft_wrap=True)
    return errors.EXIT_OK if report.ok else errors.EXIT_USER


def register_doctor(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    d = sub.add_parser("doctor", help="check credentials, bucket, versioning, conditional writes")
    d.add_argument("--json", action="store_true", help="print one JSON document")
    d.set_defaults(func=cmd_doctor)
