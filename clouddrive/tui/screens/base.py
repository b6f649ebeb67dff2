"""What every screen shares: typed access to the app, and running blocking work in a thread
worker that reports back with a message (or `Failed`), never with an exception."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from textual.message import Message
from textual.screen import ModalScreen, Screen
from textual.worker import Worker, get_current_worker

from clouddrive.errors import CloudDriveError, ServerUnreachable
from clouddrive.tui.drive_api import DriveAPI
from clouddrive.tui.messages import Failed, TimeTravelDone, TimeTravelPlanned

if TYPE_CHECKING:
    from clouddrive.history.plans import TimeTravelPlan
    from clouddrive.tui.app import CloudDriveApp

__all__ = ["DriveScreen", "ModalDialog", "error_text"]

R = TypeVar("R")

log = logging.getLogger("clouddrive")


def error_text(exc: BaseException) -> str:
    """One line for a failure: the message of a clouddrive error, the type of anything else."""
    if isinstance(exc, CloudDriveError):
        return str(exc)
    return f"internal error: {type(exc).__name__}: {exc}"


class DriveScreen(Screen[None]):
    """A full screen over the drive."""

    @property
    def shell(self) -> CloudDriveApp:
        return self.app  # type: ignore[return-value]

    def background(
        self, doing: str, job: Callable[[DriveAPI], Message | None], *, group: str
    ) -> Worker[None]:
        """Run `job(drive)` in a thread worker (one per `group` at a time); post the message
        it returns, or `Failed(doing, ...)` if it raised."""

        shell = self.shell  # the thread reads nothing of the app but what it is given

        def run() -> None:
            worker = get_current_worker()
            message: Message | None
            try:
                drive = shell.ensure_drive()
                try:
                    message = job(drive)
                except ServerUnreachable:
                    # The drive's server may have moved (an embedded one restarted on a new
                    # port): open the drive afresh, which looks the endpoint up, and try once.
                    shell.reopen_drive(drive)
                    message = job(shell.ensure_drive())
            except Exception as exc:
                if not isinstance(exc, CloudDriveError):
                    log.exception("app: %s failed", doing)
                message = Failed(doing, error_text(exc))
            if message is not None and not worker.is_cancelled:
                self.post_message(message)

        return self.run_worker(
            run, name=doing, group=group, thread=True, exclusive=True, exit_on_error=False
        )

    def on_failed(self, message: Failed) -> None:
        self.shell.note(f"{message.doing} failed: {message.error}", severity="error")
        if message.doing == self.shell.operation:
            self.shell.end_operation()

    # -- time travel: plan, confirm, apply ---------------------------------------------------

    def time_travel(
        self, doing: str, verb: str, make_plan: Callable[[DriveAPI], TimeTravelPlan]
    ) -> None:
        """Plan (worker), show the plan for confirmation, then apply it (an app worker: it
        outlives this screen); the outcome is noted and `after_time_travel` called.

        One operation at a time: while one plans, waits for its confirmation or runs (the
        operation line shows it, with a spinner), a second is refused, visibly."""
        shell = self.shell
        busy = shell.operation or ("a sync" if shell.syncing else None)
        if busy is not None:
            shell.note(
                f"Not started: {busy} is still running; try again when it has finished.",
                severity="warning",
            )
            return
        shell.begin_operation(doing)

        def job(drive: DriveAPI) -> TimeTravelPlanned:
            return TimeTravelPlanned(make_plan(drive), verb)

        self.background(doing, job, group="time-travel")

    def on_time_travel_planned(self, message: TimeTravelPlanned) -> None:
        from clouddrive.tui.screens.confirm_plan import PlanConfirmScreen

        plan = message.plan
        shell = self.shell
        shell.begin_operation(f"{plan.title}: waiting for your answer", waiting=True)

        def answer(yes: bool | None) -> None:
            if not yes or not plan.steps:
                shell.end_operation()
                return
            steps = len(plan.steps)
            shell.begin_operation(f"{plan.title[:1].upper()}{plan.title[1:]} ({steps} step(s))…")
            shell.note(f"{plan.title}…", toast=False)
            screen = self

            def run() -> None:
                result: Message
                try:
                    result = TimeTravelDone(shell.ensure_drive().apply(plan))
                except Exception as exc:
                    if not isinstance(exc, CloudDriveError):
                        log.exception("app: %s failed", plan.title)
                    result = Failed(plan.title, error_text(exc))
                with contextlib.suppress(RuntimeError):  # RuntimeError: the app has closed
                    shell.call_from_thread(screen.time_travel_over, result)

            shell.run_worker(run, name=plan.title, group="apply", thread=True, exit_on_error=False)

        self.app.push_screen(PlanConfirmScreen(plan, message.verb, self.shell.clock), answer)

    def time_travel_over(self, result: Message) -> None:
        """An applied plan's result, on the UI thread (this screen may be closed by now)."""
        shell = self.shell
        shell.end_operation()
        if isinstance(result, Failed):
            shell.note(f"{result.doing} failed: {result.error}", severity="error")
            return
        if isinstance(result, TimeTravelDone):
            self.on_time_travel_done(result)

    def on_time_travel_done(self, message: TimeTravelDone) -> None:
        report = message.report
        shell = self.shell
        shell.plan_stale = True
        for shown, result in enumerate(report.failed):
            shell.note(f"{result.step.path}: {result.error}", severity="error", toast=shown < 3)
        for skip in report.left_for_sync:
            shell.note(f"{skip.path}: {skip.reason}", severity="warning")
        for skip in report.local_failed:
            shell.note(f"{skip.path}: not brought here: {skip.reason}", severity="warning")
        if report.local_note:
            shell.note(report.local_note, severity="warning")
        done = len(report.done)
        summary = f"{report.plan.title}: {done} done"
        if report.downloaded:
            summary += f", {len(report.downloaded)} brought into the folder"
        if report.removed_here:
            summary += f", {len(report.removed_here)} removed here"
        if report.failed:
            summary += f", {len(report.failed)} failed"
        shell.note(summary, severity="error" if report.failed and not done else "information")
        if self.is_attached:
            self.after_time_travel()

    def after_time_travel(self) -> None:
        """Reload what the screen shows (override)."""


class ModalDialog(ModalScreen[R]):
    """A dialog over the current screen."""
