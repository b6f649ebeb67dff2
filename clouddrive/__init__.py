"""clouddrive: a local folder in two-way sync with a versioned S3 prefix shared by several people.

S3 bucket versioning is the ledger: every overwrite and delete stays recoverable. The names
below load lazily, so `import clouddrive.core.models` (the pure core) pulls in no boto3.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = [
    "Action",
    "ActionKind",
    "Drive",
    "Plan",
    "SyncReport",
    "__version__",
    "get_supported_platforms",
    "reset_all",
    "smart_sync",
]

_LAZY = {
    "Drive": "clouddrive.drive",
    "SyncReport": "clouddrive.sync.report",
    "Action": "clouddrive.core.models",
    "ActionKind": "clouddrive.core.models",
    "Plan": "clouddrive.core.models",
    "get_supported_platforms": "clouddrive.compat",
    "reset_all": "clouddrive.compat",
    "smart_sync": "clouddrive.compat",
}

if TYPE_CHECKING:
    from clouddrive.compat import get_supported_platforms, reset_all, smart_sync
    from clouddrive.core.models import Action, ActionKind, Plan
    from clouddrive.drive import Drive
    from clouddrive.sync.report import SyncReport


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'clouddrive' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
