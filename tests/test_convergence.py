"""Two and three drives doing random work converge after everyone syncs twice; nothing is lost."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from tests.drivekit import Shared, sync, tree, write

PATHS = ["a.txt", "b.txt", "docs/c.md", "docs/d.md", "deep/e/f.bin", "g.txt"]


def random_step(rng: random.Random, root: Path, step: str) -> None:
    """Create, edit, delete or rename one file of a small shared pool."""
    present = sorted(tree(root))
    present = [p for p in present if p in PATHS]
    op = rng.choice(["write", "write", "delete", "rename"] if present else ["write"])
    if op == "write":
        content = f"{root.name} {step} {rng.random()}".encode()
        write(root, rng.choice(PATHS), content)
    elif op == "delete":
        (root / rng.choice(present)).unlink()
    else:
        src = rng.choice(present)
        dst = rng.choice([p for p in PATHS if p != src])
        data = (root / src).read_bytes()
        (root / src).unlink()
        write(root, dst, data)


@pytest.mark.parametrize(("seed", "users"), [(1, 2), (2, 2), (3, 3), (4, 3)])
def test_random_work_converges_and_keeps_every_content(seaweedfs, bucket, tmp_path, seed, users):
    """After random edits, deletes, renames and syncs, two more rounds make all drives equal."""
    rng = random.Random(seed)
    shared = Shared(seaweedfs.endpoint_url, bucket)
    drives = [shared.drive(tmp_path / f"u{i}", f"user{i}") for i in range(users)]
    # Every content a drive holds when it syncs must stay retrievable (an edit made and
    # overwritten between two syncs never reached clouddrive, so it is not counted).
    synced: set[bytes] = set()

    def sync_and_note(d) -> None:  # type: ignore[no-untyped-def]
        synced.update(tree(d.root).values())
        sync(d)

    for round_no in range(6):
        for d in drives:
            for step in range(rng.randint(0, 3)):
                random_step(rng, d.root, f"r{round_no}s{step}")
            if rng.random() < 0.7:
                sync_and_note(d)
    for _ in range(2):
        for d in drives:
            sync_and_note(d)
    trees = [tree(d.root) for d in drives]
    assert all(t == trees[0] for t in trees), "drives did not converge"
    assert trees[0] == shared.latest()
    for d in drives:
        assert d.status().is_empty
    kept = shared.all_contents() | set(trees[0].values())
    lost = {c for c in synced if c not in kept}
    assert not lost, f"lost contents: {lost}"
    for d in drives:
        d.close()
