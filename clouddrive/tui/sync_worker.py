"""The sync itself, on a worker thread: it reads nothing of the app but what it is given,
asks for confirmation on the UI thread (and waits there), counts progress in a
`SyncTracker`, and ends with a message (`SyncDone` / `SyncFailed`), never with a raise."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from textual.message import Message
from textual.worker import Worker, get_current_worker

from clouddrive import errors
from clouddrive.tui.messages import SyncDone, SyncFailed, SyncPlanned, SyncProgress
from clouddrive.tui.screens.base import error_text
from clouddrive.tui.tracker import SyncTracker

if TYPE_CHECKING:
    from clouddrive.core.models import Plan
    from clouddrive.tui.app import CloudDriveApp

__all__ = ["confirm_from_thread", "run_sync"]


def run_sync(
    shell: CloudDriveApp,
    post: Callable[[Message], object],
    tracker: SyncTracker,
    skip: frozenset[str],
    force: bool,
) -> None:
    """Plan, confirm and carry out one sync of the app's drive, reporting through `post`."""
    cancel = shell.cancel
    worker = get_current_worker()

    def confirm(plan: Plan) -> bool:
        yes = confirm_from_thread(shell, plan, len(skip), cancel, worker)
        if yes:
            tracker.begin()
            post(SyncProgress())
        return yes

    def on_plan(plan: Plan) -> None:
        tracker.planned(plan)
        post(SyncPlanned(plan))

    try:
        drive = shell.ensure_drive()
        report = drive.sync(
            confirm=confirm,
            on_plan=on_plan,
            on_start=tracker.started,
            on_outcome=tracker.finished,
            on_bytes=tracker.moved,
            cancel=cancel,
            skip=skip,
            force=force,
        )
    except errors.GuardTripped as exc:
        post(SyncFailed(str(exc), guard=True))
    except errors.Refused as exc:
        post(SyncFailed(str(exc), declined=True))
    except Exception as exc:
        post(SyncFailed(error_text(exc)))
    else:
        post(SyncDone(report))


def confirm_from_thread(
    shell: CloudDriveApp,
    plan: Plan,
    skipped: int,
    cancel: threading.Event,
    worker: Worker[None],
) -> bool:
    """Show the sync's confirmation on the UI thread; wait (on the sync's thread) for it.

    A sync stopped before the question (escape while it plans) never shows it; one stopped
    while the question shows takes it down, so no dialog is left that nothing answers."""
    from clouddrive.tui.screens.confirm_sync import SyncConfirmScreen

    answered = threading.Event()
    answer = [False]

    def reply(yes: bool | None) -> None:
        answer[0] = bool(yes)
        answered.set()

    def ask() -> None:
        if not cancel.is_set():  # checked on the UI thread, where escape sets it
            shell.push_screen(dialog, reply)

    def withdraw() -> None:
        dialog.withdraw()
        answered.set()

    if cancel.is_set() or worker.is_cancelled:
        return False
    dialog = SyncConfirmScreen(plan, skipped)
    shell.call_from_thread(ask)
    while not answered.wait(0.1):
        if cancel.is_set() or worker.is_cancelled:
            with contextlib.suppress(RuntimeError):  # RuntimeError: the app is gone
                shell.call_from_thread(withdraw)
            return False
    return answer[0] and not cancel.is_set()
