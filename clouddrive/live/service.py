"""Running `clouddrive watch` at login: a systemd user unit (Linux) or a launchd agent
(macOS), filled in with this drive's folder and the clouddrive executable.

Both restart the watch if it dies and stop it with SIGTERM, which the watch answers by
finishing the actions in flight and exiting 0.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from pathlib import Path
from xml.sax.saxutils import escape

__all__ = ["launchd_plist", "service_label", "systemd_unit"]


def service_label(root: Path) -> str:
    """A name for the service that tells drives apart."""
    name = "".join(c if c.isalnum() else "-" for c in root.name).strip("-") or "drive"
    return f"clouddrive-watch-{name}"


def _systemd_word(word: str) -> str:
    """One word of `ExecStart=` as systemd reads it back: systemd expands `%` specifiers and
    `$` variables there, and C escapes inside quotes, so each is doubled or escaped."""
    text = word.replace("\\", "\\\\").replace('"', '\\"').replace("%", "%%").replace("$", "$$")
    return f'"{text}"'


def systemd_unit(exe: str, root: Path, watch_flags: Sequence[str] = ()) -> str:
    """`~/.config/systemd/user/<label>.service`; enable with `systemctl --user enable --now`.
    `watch_flags`: the watch's own flags (`--poll 3`), kept in the unit."""
    words = [*shlex.split(exe), "--root", str(root), "watch", *watch_flags]
    command = " ".join(map(_systemd_word, words))
    return (
        "# ~/.config/systemd/user/" + service_label(root) + ".service\n"
        "# enable: systemctl --user daemon-reload && "
        f"systemctl --user enable --now {service_label(root)}\n"
        "[Unit]\n"
        f"Description=clouddrive watch of {str(root).replace('%', '%%')}\n"
        "After=network-online.target\n"
        "\n"
        "[Service]\n"
        f"ExecStart={command}\n"
        "Restart=on-failure\n"
        "RestartSec=30\n"
        "KillSignal=SIGTERM\n"
        "TimeoutStopSec=30\n"
        "\n"
        "[Install]\n"
        "WantedBy=default.target\n"
    )


def launchd_plist(exe: str, root: Path, watch_flags: Sequence[str] = ()) -> str:
    """`~/Library/LaunchAgents/<label>.plist`; load with `launchctl load -w`."""
    label = service_label(root).replace("clouddrive-watch-", "org.clouddrive.watch.")
    args = [*shlex.split(exe), "--root", str(root), "watch", *watch_flags]
    program = "\n".join(f"    <string>{escape(a)}</string>" for a in args)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" '
        '"http://www.apple.com/DTDs/PropertyList-1.0.dtd">\n'
        f"<!-- ~/Library/LaunchAgents/{label}.plist; load: launchctl load -w "
        f"~/Library/LaunchAgents/{label}.plist -->\n"
        '<plist version="1.0">\n'
        "<dict>\n"
        f"  <key>Label</key><string>{label}</string>\n"
        "  <key>ProgramArguments</key>\n"
        "  <array>\n"
        f"{program}\n"
        "  </array>\n"
        "  <key>RunAtLoad</key><true/>\n"
        "  <key>KeepAlive</key><dict><key>SuccessfulExit</key><false/></dict>\n"
        f"  <key>StandardOutPath</key><string>{escape(str(root))}/.clouddrive/logs/watch.log"
        "</string>\n"
        f"  <key>StandardErrorPath</key><string>{escape(str(root))}/.clouddrive/logs/watch.log"
        "</string>\n"
        "</dict>\n"
        "</plist>\n"
    )
