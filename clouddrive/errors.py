"""One exception hierarchy for clouddrive.

Every error a user can cause or meet is a `CloudDriveError`: the CLI prints its message as one
line on stderr and exits with its `exit_code` (see interface.md). botocore errors are translated
into these at the remote boundary only, keeping the original as `__cause__`.
"""

from __future__ import annotations

__all__ = [
    "AccessDenied",
    "BucketNotFound",
    "CloudDriveError",
    "ConfigError",
    "CredentialsError",
    "EmbeddedServerError",
    "GuardTripped",
    "ListingFailed",
    "LocalError",
    "LockHeld",
    "NotADrive",
    "PreconditionFailed",
    "Refused",
    "RemoteError",
    "SyncIncomplete",
    "TransientRemoteError",
    "UserError",
    "VersioningNotEnabled",
]

EXIT_OK = 0
EXIT_USER = 1
EXIT_FAILURE = 2
EXIT_PARTIAL = 3


class CloudDriveError(Exception):
    """Base of every clouddrive error; `exit_code` is what the CLI exits with."""

    exit_code: int = EXIT_FAILURE


# -- the user's input or choices ------------------------------------------------------------


class UserError(CloudDriveError):
    """Bad input or a refused action: nothing was changed."""

    exit_code = EXIT_USER


class ConfigError(UserError):
    """The drive's configuration or a command-line value is missing or invalid."""


class NotADrive(ConfigError):
    """The folder (or none of its parents) holds no `.clouddrive/config.toml`."""


class Refused(UserError):
    """A change needed a confirmation that was declined or could not be asked."""


class GuardTripped(UserError):
    """A safety guard stopped the run before anything changed (mass delete, vanished paths)."""


class LockHeld(UserError):
    """Another clouddrive process is syncing this drive."""


# -- the remote (S3) ------------------------------------------------------------------------


class RemoteError(CloudDriveError):
    """S3 failed or refused; translated from botocore at the remote boundary."""


class CredentialsError(RemoteError):
    """No credentials were found, or S3 rejected them."""

    exit_code = EXIT_USER


class BucketNotFound(RemoteError):
    """The configured bucket does not exist."""

    exit_code = EXIT_USER


class AccessDenied(RemoteError):
    """The credentials lack a permission clouddrive needs."""


class VersioningNotEnabled(RemoteError):
    """The bucket's versioning is off or suspended: deletes would destroy data."""

    exit_code = EXIT_USER


class ListingFailed(RemoteError):
    """A page of the version listing failed: nothing is planned on a partial listing."""


class TransientRemoteError(RemoteError):
    """A retryable failure (throttling, 5xx, dropped connection) that outlasted the retries."""


class PreconditionFailed(RemoteError):
    """A conditional write lost a race (412 / 409): another writer got there first."""


class EmbeddedServerError(RemoteError):
    """The embedded SeaweedFS server could not be started or reached."""


# -- the local side ---------------------------------------------------------------------------


class LocalError(CloudDriveError):
    """A local file-system operation failed."""


class SyncIncomplete(CloudDriveError):
    """The run finished, but some files failed and were skipped (the log names them)."""

    exit_code = EXIT_PARTIAL
