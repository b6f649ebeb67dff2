"""One exception hierarchy for clouddrive.

Every error a user can cause or meet is a `CloudDriveError`: the CLI prints its message as one
line on stderr and exits with its `exit_code` (see interface.md). botocore errors are translated
into these at the remote boundary only, keeping the original as `__cause__`.
"""

from __future__ import annotations

import errno

__all__ = [
    "AccessDenied",
    "BucketNotFound",
    "ClockSkewed",
    "CloudDriveError",
    "ConfigError",
    "CredentialsError",
    "DiskFull",
    "EmbeddedServerError",
    "GuardTripped",
    "ListingFailed",
    "LocalError",
    "LocalPermissionDenied",
    "LockHeld",
    "NotADrive",
    "PreconditionFailed",
    "Refused",
    "RemoteError",
    "ServerUnreachable",
    "SyncIncomplete",
    "TransientRemoteError",
    "UserError",
    "VersioningNotEnabled",
    "local_error",
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


class ServerUnreachable(TransientRemoteError):
    """Nothing answers at the endpoint (connection refused, unknown host): retried once only,
    since a server that is down stays down for longer than a backoff is worth waiting."""


class ClockSkewed(RemoteError):
    """S3 refused a request because this machine's clock is too far from the server's.

    Not transient: every retry is signed with the same wrong clock."""


class PreconditionFailed(RemoteError):
    """A conditional write lost a race (412 / 409): another writer got there first."""


class EmbeddedServerError(RemoteError):
    """The embedded SeaweedFS server could not be started or reached."""


# -- the local side ---------------------------------------------------------------------------


class LocalError(CloudDriveError):
    """A local file-system operation failed; never an S3 failure, never retried."""


class DiskFull(LocalError):
    """The local disk (or the user's quota) is full: nothing half-written is left behind."""


class LocalPermissionDenied(LocalError):
    """A local file or folder cannot be written or read (permissions, a read-only mount)."""


class SourceChanged(LocalError):
    """A file being uploaded changed while it was read: what was sent is not what was
    planned, so the upload was abandoned (nothing landed); the next run sees the edit."""


class SyncIncomplete(CloudDriveError):
    """The run finished, but some files failed and were skipped (the log names them)."""

    exit_code = EXIT_PARTIAL


_DISK_FULL = {errno.ENOSPC, errno.EDQUOT}
_NO_PERMISSION = {errno.EACCES, errno.EPERM, errno.EROFS}


def local_error(exc: OSError, what: str) -> LocalError:
    """A local file-system failure as a one-line local error that says what to do."""
    where = f" ({exc.filename})" if exc.filename else ""
    if exc.errno in _DISK_FULL:
        return DiskFull(
            f"disk full while {what}{where}: free some space (or raise the quota) and run "
            "again; nothing half-written was kept"
        )
    if exc.errno in _NO_PERMISSION:
        return LocalPermissionDenied(
            f"permission denied while {what}{where}: {exc.strerror or exc}; make the folder "
            "writable (or not read-only) for this user and run again"
        )
    return LocalError(f"{what}{where}: {exc.strerror or exc}")
