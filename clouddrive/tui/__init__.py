"""The Textual app: `clouddrive` with no command opens it on the drive (see README, "The app").

Layout: `app.py` (the App), `screens/` (one screen per file: sync, the confirmation and
conflict dialogs, recently deleted, history, activity, ...), `widgets/` (one widget per file),
`styles/*.tcss`. Every blocking call to the engine runs in a thread worker that reports back
through messages (`messages.py`); the app talks to the engine's `Drive` API only
(`drive_api.DriveAPI`), never to boto3. Nothing here imports the engine at module level, so
the first frame paints before boto3 loads: the drive is opened in a worker.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["run_app"]


def run_app(root: Path | None = None) -> int:
    """Open the app on the drive at `root` (or around the current folder); its exit code."""
    from clouddrive.local.config import find_root
    from clouddrive.tui.app import CloudDriveApp
    from clouddrive.tui.drive_api import DriveAPI

    folder = find_root(Path(root) if root is not None else Path.cwd())  # NotADrive: no app

    def open_drive() -> DriveAPI:  # called in a worker: the engine (and boto3) load there
        from clouddrive.drive import Drive

        return Drive.open(folder)

    app = CloudDriveApp(open_drive, root_hint=str(folder))
    try:
        code = app.run()
    finally:
        app.close_drive()  # worker threads have ended: app.run waits for them
    return int(code or 0)
