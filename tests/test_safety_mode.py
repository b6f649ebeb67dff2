"""A download keeps the local file's mode (issue 9, item 15)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from tests.drivekit import sync, write


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_download_keeps_the_local_mode(two) -> None:
    ann, bob = two
    write(ann.root, "secret.txt", "v1")
    write(ann.root, "run.sh", "#!/bin/sh\necho 1\n")
    sync(ann)
    sync(bob)
    (bob.root / "secret.txt").chmod(0o600)
    (bob.root / "run.sh").chmod(0o750)
    write(ann.root, "secret.txt", "v2")
    write(ann.root, "run.sh", "#!/bin/sh\necho 2\n")
    write(ann.root, "new.txt", "new")
    sync(ann)
    sync(bob)
    assert (bob.root / "secret.txt").read_text() == "v2"
    assert _mode(bob.root / "secret.txt") == 0o600
    assert (bob.root / "run.sh").read_text().endswith("2\n")
    assert _mode(bob.root / "run.sh") == 0o750
    umask = os.umask(0)
    os.umask(umask)
    assert _mode(bob.root / "new.txt") == 0o666 & ~umask
