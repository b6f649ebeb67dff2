"""The scheduler on its own (no S3): outcomes reported in groups, downloads landing side by
side, and a stop that waits for a landing in progress but lets no other one start."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator

import pytest

from clouddrive.sync.scheduler import GROUP, Batch, Stopped, run_batch


def test_outcomes_that_arrive_together_are_reported_in_one_group() -> None:
    groups: list[list[int]] = []
    current: list[int] | None = None

    @contextlib.contextmanager
    def grouped() -> Iterator[None]:
        nonlocal current
        current = []
        yield
        groups.append(current)
        current = None

    def report(n: int) -> None:
        assert current is not None, "every outcome is reported inside a group"
        current.append(n)

    actions = list(range(2000))
    left = run_batch(
        actions,
        lambda n: n,
        workers=4,
        cancel=threading.Event(),
        on_outcome=report,
        grouped=grouped,
    )
    assert left == []
    assert sorted(n for g in groups for n in g) == actions  # each once
    assert max(len(g) for g in groups) <= GROUP
    assert len(groups) < len(actions) // 10  # grouped, not one by one


def test_a_slow_single_outcome_is_not_held_back() -> None:
    """A group waits a moment for company, never for the next slow action."""
    seen: list[float] = []
    start = time.monotonic()

    def perform(n: int) -> int:
        if n == 1:
            time.sleep(1.0)
        return n

    run_batch(
        [0, 1],
        perform,
        workers=2,
        cancel=threading.Event(),
        on_outcome=lambda n: seen.append(time.monotonic() - start),
    )
    assert seen[0] < 0.5 and seen[1] >= 1.0


def test_downloads_land_side_by_side_and_a_stop_waits_for_them() -> None:
    batch = Batch(threading.Event())
    inside = threading.Barrier(2)
    release = threading.Event()

    def land() -> None:
        with batch.landing():
            inside.wait(5)  # both are inside at once: landings do not queue
            release.wait(5)

    landers = [threading.Thread(target=land) for _ in range(2)]
    for t in landers:
        t.start()
    time.sleep(0.2)
    abandoning = threading.Thread(target=batch.abandon)
    abandoning.start()
    time.sleep(0.2)
    assert abandoning.is_alive(), "abandon waits for the landings in progress"
    with pytest.raises(Stopped), batch.landing():  # no new one starts meanwhile
        pass
    release.set()
    abandoning.join(5)
    assert not abandoning.is_alive()
    for t in landers:
        t.join(5)
