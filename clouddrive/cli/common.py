"""What every CLI command module shares: consoles, the yes/no prompt, opening the drive.

Command groups live in their own modules (`cli_*.py`), each with a `register(sub)` that adds
its subcommands; `cli.py` builds the parser and turns errors into exit codes.
"""

from __future__ import annotations

import argparse
import errno
import json
import math
import re
import shlex
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

from rich.console import Console
from rich.markup import escape

from clouddrive import errors
from clouddrive.core.paths import escape_name
from clouddrive.core.s3names import BUCKET, ENDPOINT, PREFIX, PROFILE, REGION, USER, NameRule
from clouddrive.drive import Drive
from clouddrive.local.config import find_root

__all__ = [
    "Parser",
    "UsageError",
    "drive_command",
    "err",
    "error_json",
    "make_asker",
    "open_drive",
    "out",
    "print_json",
    "shown",
]

#: Wide enough that no line of a table or message is ever wrapped or cut off a terminal.
_UNWRAPPED = 1 << 16


class _Console(Console):
    """A rich console whose closed pipe is a `BrokenPipeError` for `main()` to end quietly
    (exit 141, as `ls | head`), not rich's `SystemExit(1)`, which reads as a failure."""

    def on_broken_pipe(self) -> None:
        self.quiet = True
        raise BrokenPipeError(errno.EPIPE, "the reader of the output went away")


def _console(*, stderr: bool) -> Console:
    """On a terminal, its width. Off one (a pipe, a file), full lines: never wrapped or cut
    at 80 columns, so a path, an id or a pasteable command stays whole for `grep` and `cut`."""
    stream = sys.stderr if stderr else sys.stdout
    if stream is not None and stream.isatty():
        return _Console(stderr=stderr, highlight=False, soft_wrap=stderr)
    return _Console(stderr=stderr, highlight=False, soft_wrap=True, width=_UNWRAPPED)


out = _console(stderr=False)
err = _console(stderr=True)


def shown(text: str) -> str:
    """`text` (a file name, a message holding one) ready for a rich console: control
    characters escaped (a newline in a name never starts a line, an escape sequence never
    reaches the terminal) and rich markup escaped (`[bold]` in a name stays text)."""
    return escape(escape_name(text))


class UsageError(errors.UserError):
    """Bad input on the command line: one line, exit 1, like every other user error."""


def checked_flag(rule: NameRule) -> Callable[[str], str]:
    """An argparse `type` that refuses, before anything is done, a value `rule` does not
    accept (`clouddrive.core.s3names` says why), and says what it expects."""

    def value(text: str) -> str:
        if not rule.accepts(text):
            raise argparse.ArgumentTypeError(f"{text!r} is invalid: expected {rule.expected}")
        return text

    return value


def count(text: str) -> int:
    """A flag's count of files or runs: a whole number, 0 or more (argparse's `int` let
    `--max-delete -1` through, a limit nothing can meet)."""
    try:
        number = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if number < 0:
        raise argparse.ArgumentTypeError(f"{text!r} is below 0: expected a whole number, 0 or more")
    return number


def seconds(text: str) -> float:
    """A flag's length of time in seconds: a number above 0 (argparse's `float` took
    `nan` and `inf`)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"{text!r} is invalid: expected seconds, more than 0")
    return value


bucket_name = checked_flag(BUCKET)
endpoint_url = checked_flag(ENDPOINT)
region_name = checked_flag(REGION)
key_prefix = checked_flag(PREFIX)
profile_name = checked_flag(PROFILE)
user_name = checked_flag(USER)


class Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one short line and exit 1 (README's "bad input"),
    not argparse's usage block and exit 2 (2 means a remote or local failure here).

    `error` raises, so `main()` reports it the way it reports every error (JSON included)."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message}; see '{self.prog} --help'")

    def parse_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> argparse.Namespace:
        """As argparse's, but an unknown flag points at the help of the command it was
        given to (`clouddrive sync --help`), not at the top level's."""
        parsed, extras = self.parse_known_args(args, namespace)
        if extras:
            command = getattr(parsed, "command", None)
            prog = f"{self.prog} {command}" if command else self.prog
            raise UsageError(f"unrecognized arguments: {' '.join(extras)}; see '{prog} --help'")
        return parsed


def make_asker(assume_yes: bool, flag: str = "--yes") -> Callable[[str], bool]:
    """A yes/no prompt that refuses, rather than guesses, when there is no terminal: the
    refusal names the question and `flag`, the flag that answers it."""

    def ask(question: str) -> bool:
        if assume_yes:
            return True
        if not sys.stdin or not sys.stdin.isatty():
            asked = question.rstrip()
            asked = asked if asked.endswith(("?", ".")) else f"{asked}?"
            raise errors.Refused(
                f"no terminal to confirm this on: {asked} Nothing was changed; rerun with "
                f"{flag} to confirm"
            )
        err.print(f"{escape(question)} \\[y/N] ", end="")
        try:
            answer = input()
        except EOFError:
            return False
        return answer.strip().lower() in ("y", "yes")

    return ask


def _works_here(root: Path) -> bool:
    """Does a plain `clouddrive ...` find this drive from the current folder?"""
    try:
        return Path.cwd().resolve().is_relative_to(root.resolve())
    except OSError:
        return False


def drive_command(root: Path, *words: str) -> str:
    """`clouddrive WORDS...` as it works when pasted here: with `--root ROOT` (quoted) unless
    the current folder is in the drive already."""
    where = [] if _works_here(root) else ["--root", str(root)]
    return shlex.join(["clouddrive", *where, *words])


_QUOTED_COMMAND = re.compile(r"(?<=['\"])clouddrive (?!--root )")


def pasteable(text: str, root: Path | None) -> str:
    """`text` (a message from any layer) with each quoted `'clouddrive ...'` it suggests
    given `--root ROOT` where the current folder is outside the drive `root` (`--root`'s
    folder; None: the drive was found from here), so that the suggestion works when pasted."""
    if root is None or "clouddrive " not in text or _works_here(root):
        return text
    try:
        find_root(root)  # no drive there ('clouddrive init' is the fix): nothing to add
    except (errors.NotADrive, OSError):
        return text
    flag = f"clouddrive --root {shlex.quote(str(root.resolve()))} "
    return _QUOTED_COMMAND.sub(lambda _: flag, text)


def s3_flags(
    p: argparse._ActionsContainer,
    *,
    bucket: str,
    prefix: str,
    endpoint: str = "S3-compatible endpoint (default: AWS)",
    profile: str = "AWS profile name for credentials",
    region: str | None = "AWS region",
) -> None:
    """`--bucket`, `--prefix`, `--endpoint-url`, `--profile` and (unless None) `--region`,
    each checked as it is parsed; the help texts say what they default to in this command."""
    p.add_argument("--bucket", type=bucket_name, help=bucket)
    p.add_argument("--prefix", type=key_prefix, help=prefix)
    p.add_argument("--endpoint-url", type=endpoint_url, help=endpoint)
    p.add_argument("--profile", type=profile_name, help=profile)
    if region is not None:
        p.add_argument("--region", type=region_name, help=region)


def open_drive(args: argparse.Namespace) -> Drive:
    """The drive named by --root, or the one around the current folder."""
    return Drive.open(args.root)


def print_json(document: Any) -> None:
    """One JSON document on stdout, for scripts (`--json`)."""
    print(json.dumps(document, indent=2, default=str), flush=True)


def error_json(kind: str, message: str, exit_code: int) -> dict[str, Any]:
    """What `--json` prints for every error: `{"ok": false, "error": {...}}` (README)."""
    return {"ok": False, "error": {"kind": kind, "message": message, "exit_code": exit_code}}
