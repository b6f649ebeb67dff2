"""What importing the CLI loads: only what every command needs."""

from __future__ import annotations

import subprocess
import sys

# Imported only by the commands that use them: time travel, the bucket's lifecycle rules, the
# live drive (watchfiles, anyio), the app (Textual).
LAZY = {
    "clouddrive.history.apply",
    "clouddrive.history.plans",
    "clouddrive.history.timetravel",
    "clouddrive.admin.apply",
    "clouddrive.live.loop",
    "clouddrive.live.s3synchrony",
    "watchfiles",
    "anyio",
    "textual",
}


def test_cli_start_up_loads_no_command_specific_modules() -> None:
    """Every command pays for what `import clouddrive.cli.main` loads, before it does anything;
    most of all the no-op `sync`, which a live drive (cron, a login service) runs again and again.
    The modules of other commands are imported by those commands, not at start-up."""
    code = "import sys, clouddrive.cli.main; print('\\n'.join(sorted(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    loaded = set(done.stdout.split())
    assert sorted(loaded & LAZY) == []
