"""`python -m clouddrive` runs the CLI."""

import sys

from clouddrive.cli import main

sys.exit(main())
