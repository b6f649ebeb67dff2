"""Driving the app in tests: run a scenario under `App.run_test`, wait for conditions."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from textual.pilot import Pilot

from clouddrive.tui.app import CloudDriveApp
from clouddrive.tui.drive_api import DriveAPI
from clouddrive.tui.fmt import Clock
from clouddrive.tui.screens.sync import SyncScreen

SIZE = (120, 35)

Scenario = Callable[[Pilot[Any], CloudDriveApp], Awaitable[None]]


def run_scenario(drive: DriveAPI, scenario: Scenario, *, clock: Clock | None = None) -> None:
    """Open the app on `drive` (120x35, headless) and play `scenario` in it."""
    app = CloudDriveApp(lambda: drive, clock=clock, root_hint=str(drive.root))

    async def main() -> None:
        async with app.run_test(size=SIZE) as pilot:
            await scenario(pilot, app)

    asyncio.run(main())


def busy(app: CloudDriveApp, *, but: tuple[str, ...] = ()) -> bool:
    """Is a worker still running (other than those of the groups in `but`)?"""
    return any(w.is_running and w.group not in but for w in app.workers)


async def wait_for(
    pilot: Pilot[Any], condition: Callable[[], object], *, timeout: float = 20, what: str = ""
) -> None:
    """Let the app run until `condition()` holds (and its pending messages are handled)."""
    deadline = time.monotonic() + timeout
    while True:
        await pilot.pause()
        if condition():
            await pilot.pause()
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or condition}")
        await asyncio.sleep(0.02)


async def settle(pilot: Pilot[Any], *, but: tuple[str, ...] = (), timeout: float = 20) -> None:
    """Until no worker runs (but those of `but`), and what they posted is handled."""
    app = pilot.app
    assert isinstance(app, CloudDriveApp)
    await wait_for(pilot, lambda: not busy(app, but=but), timeout=timeout, what="idle workers")
    await pilot.pause()


def journal(app: CloudDriveApp) -> str:
    """Every notice of the session, one per line."""
    return "\n".join(line.plain for line in app.journal)


def play(app: CloudDriveApp, scenario: Scenario, *, size: tuple[int, int] = SIZE) -> None:
    """Run `scenario` in `app` (headless, at `size`)."""

    async def main() -> None:
        async with app.run_test(size=size) as pilot:
            await scenario(pilot, app)

    asyncio.run(main())


async def plan_shown(pilot: Pilot[Any], app: CloudDriveApp) -> SyncScreen:
    """Until the sync screen shows a plan, all its rows added, and the workers are idle."""
    from clouddrive.tui.widgets.plan_table import PlanTable

    screen = app.screen
    assert isinstance(screen, SyncScreen)
    await wait_for(pilot, lambda: screen.plan is not None and not screen.planning, what="plan")
    await settle(pilot, but=("sync",))
    await wait_for(pilot, lambda: not screen.query_one(PlanTable).filling, what="rows")
    return screen


async def until_screen(pilot: Pilot[Any], app: CloudDriveApp, kind: type[Any]) -> Any:
    await wait_for(pilot, lambda: isinstance(app.screen, kind), what=kind.__name__)
    return app.screen


def status_text(app: CloudDriveApp, widget_id: str) -> str:
    """What the widget `#widget_id` of the current screen shows, as plain text."""
    return str(app.screen.query_one(f"#{widget_id}").render())
