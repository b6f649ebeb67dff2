"""The import rules of the design, enforced: a pure core, layers pointing inward."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_import_contracts_hold() -> None:
    """import-linter's contracts in pyproject.toml are all kept."""
    exe = shutil.which("lint-imports") or str(Path(sys.executable).parent / "lint-imports")
    result = subprocess.run([exe], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_core_imports_no_boto3() -> None:
    """Importing the planner in a fresh interpreter loads neither boto3 nor textual."""
    code = (
        "import sys, clouddrive.core.planner, clouddrive.core.models, clouddrive.core.paths;"
        "bad = [m for m in ('boto3', 'botocore', 'textual') if m in sys.modules];"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout
