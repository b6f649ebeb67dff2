"""`python -m clouddrive` runs the CLI."""

from clouddrive.cli.main import entry_point

entry_point()
