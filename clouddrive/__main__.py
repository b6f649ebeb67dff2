"""`python -m clouddrive` runs the CLI."""

import sys

from clouddrive.cli.main import main

sys.exit(main())
