"""The `Drive` facade that every shell (CLI, app, Python API) uses, and how a drive is set
up and connected."""

from clouddrive.drive.facade import Drive

__all__ = ["Drive"]
