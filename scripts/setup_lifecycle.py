#!/usr/bin/env python3
"""Bound a versioned bucket's history for one clouddrive prefix: for the bucket's owner.

    python scripts/setup_lifecycle.py --bucket B [--prefix P] [--endpoint-url URL]
        [--profile NAME] [--noncurrent-days D] [--keep-versions N] [--abort-multipart-days K]
        [--run-record-days R] [--dry-run] [--remove] [--yes] [--reenable-versioning]
    python scripts/setup_lifecycle.py --root ROOT ...     # bucket and prefix from a drive

Applies clouddrive's lifecycle rules for the prefix (keep the newest N old versions of each
file, remove older ones D days after they were replaced, clean expired delete markers, abort
stale multipart uploads, expire old run records), merged with the bucket's other rules, which
stay untouched. Running it again changes nothing and says so; `--dry-run` prints the exact
JSON it would apply; `--remove` takes out only clouddrive's own rules. It offers to enable
versioning if it is off; versioning someone suspended only with --reenable-versioning. The
same as `clouddrive lifecycle apply`: this file is a thin shell
over `clouddrive.cli.setup_script.setup_lifecycle_main`.
"""

from __future__ import annotations

import sys
from pathlib import Path

try:
    from clouddrive.cli.setup_script import setup_lifecycle_main
except ImportError:  # run from a clone without installing: use the clone's package
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from clouddrive.cli.setup_script import setup_lifecycle_main

if __name__ == "__main__":
    sys.exit(setup_lifecycle_main())
