"""What one action did: the bases to write, the remote writes it made, or why it was skipped.

The executor makes one `Outcome` per action it ran; the engine records its bases as actions
finish, the run record lists its `Transfer`s, and the CLI, the app and the API report it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from clouddrive.core.models import Action, BaseEntry

__all__ = ["Outcome", "Transfer"]


@dataclass
class Transfer:
    """One remote write or local change made by an action (for the run record)."""

    op: str
    path: str
    version_id: str | None = None
    parent: str | None = None


@dataclass
class Outcome:
    """What one action did. `error` set means it was skipped; the rest of the run went on."""

    action: Action
    bases: list[BaseEntry] = field(default_factory=list)
    forget: list[str] = field(default_factory=list)
    transfers: list[Transfer] = field(default_factory=list)
    error: str | None = None
    replan: bool = False  #: lost a conditional-write race: re-read the key and plan again
    note: str | None = None
    bytes_moved: int = 0

    @property
    def ok(self) -> bool:
        return self.error is None and not self.replan
