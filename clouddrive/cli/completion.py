"""Shell completion for bash, zsh and fish, through argcomplete (the parser is the one
source of truth: every command, flag and choice completes as `--help` lists it).

`clouddrive completion bash` prints the script to load; argcomplete is imported only when
a shell asks for completions (`_ARGCOMPLETE` set), so ordinary commands pay nothing for it.
"""

from __future__ import annotations

import argparse
import os

from clouddrive import errors

__all__ = ["complete", "register"]

_HOW = {
    "bash": 'eval "$(clouddrive completion bash)"   # in ~/.bashrc',
    "zsh": 'eval "$(clouddrive completion zsh)"    # in ~/.zshrc',
    "fish": "clouddrive completion fish | source   # in ~/.config/fish/config.fish",
}


def complete(parser: argparse.ArgumentParser) -> None:
    """Answer a shell's completion request and exit; return at once when there is none."""
    if "_ARGCOMPLETE" in os.environ:
        import argcomplete

        argcomplete.autocomplete(parser)


def cmd_completion(args: argparse.Namespace) -> int:
    from argcomplete.shell_integration import shellcode

    print(shellcode(["clouddrive"], shell=args.shell), end="")
    return errors.EXIT_OK


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `completion SHELL` to the `clouddrive` parser."""
    p = sub.add_parser(
        "completion",
        help="print the shell completion script (bash, zsh, fish)",
        description="Load it from your shell's start-up file:\n  " + "\n  ".join(_HOW.values()),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("shell", choices=sorted(_HOW))
    p.set_defaults(func=cmd_completion)
