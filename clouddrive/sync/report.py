"""What a sync (or a pull, or a resolve) planned and did: the result the shells show."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from clouddrive.core.models import Action, Plan
from clouddrive.sync.outcome import Outcome, Transfer

__all__ = ["PullReport", "SyncReport"]


@dataclass
class SyncReport:
    """What a sync run planned and did."""

    plan: Plan
    run_id: str
    log_path: Path | None = None
    outcomes: list[Outcome] = field(default_factory=list)
    dry_run: bool = False
    cancelled: bool = False

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.ok]

    @property
    def done(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.ok]

    @property
    def transfers(self) -> list[Transfer]:
        return [t for o in self.outcomes if o.ok for t in o.transfers]


@dataclass
class PullReport(SyncReport):
    """A pull (`Drive.pull`): a sync restricted to some paths and to taking S3's state;
    `left` are the actions at those paths that wait for the next sync."""

    left: tuple[Action, ...] = ()
