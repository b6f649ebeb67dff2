"""Which paths a drive never syncs: its own folder, s3synchrony's, and .clouddriveignore."""

from __future__ import annotations

from pathlib import Path

import pathspec

from clouddrive.core.paths import is_internal

__all__ = ["IGNORE_FILE", "IgnoreRules"]

IGNORE_FILE = ".clouddriveignore"


class IgnoreRules:
    """gitignore-syntax patterns (via pathspec), applied to local and remote paths alike."""

    def __init__(self, lines: list[str] | None = None) -> None:
        self._spec = pathspec.GitIgnoreSpec.from_lines(lines or [])
        self._empty = not any(
            line.strip() and not line.lstrip().startswith("#") for line in lines or []
        )

    @classmethod
    def load(cls, root: Path) -> IgnoreRules:
        try:
            text = (root / IGNORE_FILE).read_text(encoding="utf-8")
        except FileNotFoundError:
            return cls()
        return cls(text.splitlines())

    def file_ignored(self, path: str) -> bool:
        return is_internal(path) or (not self._empty and self._spec.match_file(path))

    def dir_ignored(self, path: str) -> bool:
        return is_internal(path) or (not self._empty and self._spec.match_file(path + "/"))
