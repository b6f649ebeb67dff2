"""Shell completion: `clouddrive completion SHELL` prints a script the shell accepts, and a
bash that loads it completes commands and flags from the real parser."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow  # subprocesses

CLI = [sys.executable, "-m", "clouddrive"]


def _complete(line: str) -> list[str]:
    """What the parser answers a shell asking to complete `line` (argcomplete's protocol)."""
    env = {
        **os.environ,
        "_ARGCOMPLETE": "1",
        "_ARGCOMPLETE_IFS": "\n",
        "COMP_LINE": line,
        "COMP_POINT": str(len(line)),
    }
    # argcomplete answers on file descriptor 8; the shell's usual plumbing, spelled out.
    done = subprocess.run(
        ["sh", "-c", '"$@" 8>&1 9>/dev/null >/dev/null', "sh", *CLI],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return done.stdout.split()


def test_parser_completes_commands_and_flags() -> None:
    assert _complete("clouddrive li") == ["lifecycle", "link"]
    assert "--expires" in _complete("clouddrive link --ex")
    assert _complete("clouddrive completion f") == ["fish"]


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_each_shell_gets_a_script(shell: str) -> None:
    done = subprocess.run([*CLI, "completion", shell], capture_output=True, text=True)
    assert done.returncode == 0 and "clouddrive" in done.stdout
    if shell == "bash":
        assert subprocess.run(["bash", "-n"], input=done.stdout, text=True).returncode == 0


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_bash_completes_through_the_loaded_script() -> None:
    bin_dir = os.path.dirname(sys.executable)
    script = (
        'eval "$(clouddrive completion bash)"; '
        "COMP_WORDS=(clouddrive sy); COMP_CWORD=1; COMP_LINE='clouddrive sy'; COMP_POINT=13; "
        '_python_argcomplete clouddrive sy clouddrive; echo "${COMPREPLY[@]}"'
    )
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run(["bash", "-c", script], capture_output=True, text=True, env=env)
    assert done.stdout.split() == ["sync"], done.stderr
