"""What every CLI command module shares: consoles, the yes/no prompt, opening the drive.

Command groups live in their own modules (`cli_*.py`), each with a `register(sub)` that adds
its subcommands; `cli.py` builds the parser and turns errors into exit codes.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any

from rich.console import Console
from rich.markup import escape

from clouddrive import errors
from clouddrive.core.paths import escape_name
from clouddrive.drive import Drive

__all__ = ["err", "make_asker", "open_drive", "out", "print_json", "shown"]

#: Wide enough that no line of a table or message is ever wrapped or cut off a terminal.
_UNWRAPPED = 1 << 16


def _console(*, stderr: bool) -> Console:
    """On a terminal, its width. Off one (a pipe, a file), full lines: never wrapped or cut
    at 80 columns, so a path, an id or a pasteable command stays whole for `grep` and `cut`."""
    stream = sys.stderr if stderr else sys.stdout
    if stream is not None and stream.isatty():
        return Console(stderr=stderr, highlight=False, soft_wrap=stderr)
    return Console(stderr=stderr, highlight=False, soft_wrap=True, width=_UNWRAPPED)


out = _console(stderr=False)
err = _console(stderr=True)


def shown(text: str) -> str:
    """`text` (a file name, a message holding one) ready for a rich console: control
    characters escaped (a newline in a name never starts a line, an escape sequence never
    reaches the terminal) and rich markup escaped (`[bold]` in a name stays text)."""
    return escape(escape_name(text))


def make_asker(assume_yes: bool) -> Callable[[str], bool]:
    """A yes/no prompt that refuses, rather than guesses, when there is no terminal."""

    def ask(question: str) -> bool:
        if assume_yes:
            return True
        if not sys.stdin or not sys.stdin.isatty():
            raise errors.Refused(
                "this needs a confirmation but there is no terminal to ask on; rerun with --yes"
            )
        err.print(f"{escape(question)} \\[y/N] ", end="")
        try:
            answer = input()
        except EOFError:
            return False
        return answer.strip().lower() in ("y", "yes")

    return ask


def open_drive(args: argparse.Namespace) -> Drive:
    """The drive named by --root, or the one around the current folder."""
    return Drive.open(args.root)


def print_json(document: Any) -> None:
    """One JSON document on stdout, for scripts (`--json`)."""
    print(json.dumps(document, indent=2, default=str))
