"""Keys <-> local paths, and the rules that keep hostile keys off the disk.

Pure functions: a key that does not map to a safe relative POSIX path is reported with a
reason, never written. Collisions (a name that is both a file and a folder, names that one
file system would fold together) are found across the whole set of names at once.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable

__all__ = [
    "INTERNAL_DIR",
    "MAX_NAME_BYTES",
    "MAX_PATH_BYTES",
    "S3SYNCHRONY_DIR",
    "UnsafeKey",
    "escape_name",
    "find_collisions",
    "internal_owner",
    "is_internal",
    "key_to_path",
    "normalize_prefix",
    "path_to_key",
    "safe_name",
    "unsafe_reason",
]

INTERNAL_DIR = ".clouddrive"  #: local state, and remote run records under PREFIX/.clouddrive/
S3SYNCHRONY_DIR = ".S3"  #: left behind by s3synchrony; never synced
MAX_NAME_BYTES = 255
MAX_PATH_BYTES = 3072  #: leaves room for the root inside PATH_MAX (4096)

_DRIVE_LETTER = re.compile(r"^[A-Za-z]:")
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


class UnsafeKey(ValueError):
    """A key that has no safe local path; `reason` says why."""

    def __init__(self, key: str, reason: str) -> None:
        super().__init__(f"{key!r}: {reason}")
        self.key = key
        self.reason = reason


_UNSAFE_IN_NAME = re.compile(r"[^\w.@+-]+")


def safe_name(text: str, fallback: str = "someone") -> str:
    """`text` (a user name) reduced to characters safe in a file name or key segment."""
    cleaned = _UNSAFE_IN_NAME.sub("_", text).strip("_.")
    return cleaned or fallback


def normalize_prefix(prefix: str | None) -> str:
    """`"/team/docs/"` -> `"team/docs"`; `None` or `"/"` -> `""` (the bucket's root)."""
    return (prefix or "").strip("/")


def path_to_key(path: str, prefix: str) -> str:
    return f"{prefix}/{path}" if prefix else path


@functools.lru_cache(maxsize=4096)  # folder names repeat on every key below them
def _segment_reason(segment: str) -> str | None:
    if segment.isascii() and segment.isprintable() and segment not in ("", ".", ".."):
        # the common case, checked without a pass per character: no control or
        # text-direction character, and NFKC changes nothing in printable ASCII
        if "\\" in segment or "/" in segment:
            return "name that reads as a dot or separator once normalised"
        if len(segment) > MAX_NAME_BYTES:
            return f"name longer than {MAX_NAME_BYTES} bytes"
        return None
    if segment == "":
        return "empty path segment (//)"
    if segment in (".", ".."):
        return f"'{segment}' segment"
    if any(unicodedata.category(ch) == "Cc" for ch in segment):
        return "control character in name"
    if any(ch in _BIDI_CONTROLS for ch in segment):
        return "text-direction control character in name (spoofing)"
    folded = unicodedata.normalize("NFKC", segment)
    if folded in (".", "..") or "/" in folded or "\\" in folded:
        return "name that reads as a dot or separator once normalised"
    if len(segment.encode("utf-8", "surrogatepass")) > MAX_NAME_BYTES:
        return f"name longer than {MAX_NAME_BYTES} bytes"
    return None


def unsafe_reason(path: str) -> str | None:
    """Why `path` (relative, POSIX) must not be written under the root; None if it is safe."""
    if not path:
        return "empty path"
    if path.startswith("/"):
        return "absolute path"
    if "\\" in path:
        return "backslash in key"
    if "\x00" in path:
        return "NUL in key"
    if _DRIVE_LETTER.match(path):
        return "drive-letter path"
    if len(path.encode("utf-8", "surrogatepass")) > MAX_PATH_BYTES:
        return f"path longer than {MAX_PATH_BYTES} bytes"
    for segment in path.split("/"):
        reason = _segment_reason(segment)
        if reason:
            return reason
    return None


def key_to_path(key: str, prefix: str) -> str:
    """The relative path of `key` under `prefix`; raises UnsafeKey if it has no safe one."""
    if prefix:
        if not key.startswith(prefix + "/"):
            raise UnsafeKey(key, "outside the drive's prefix")
        path = key[len(prefix) + 1 :]
    else:
        path = key
    reason = unsafe_reason(path)
    if reason:
        raise UnsafeKey(key, reason)
    return path


_INTERNAL_FOLDED = {
    unicodedata.normalize("NFKC", n).casefold() for n in (INTERNAL_DIR, S3SYNCHRONY_DIR)
}


def escape_name(text: str) -> str:
    """`text` with every character that is not printable written as an escape (`\\n`,
    `\\x1b`, `\\udcff` for a byte of a name that is not UTF-8): one name, one line, in logs
    and on terminals, so a file name cannot forge a line or move the cursor."""
    if text.isprintable():
        return text
    return "".join(
        ch if ch.isprintable() else ch.encode("unicode_escape", "backslashreplace").decode()
        for ch in text
    )


def _folded(name: str) -> str:
    if name.isascii():
        return name.lower()  # NFKC changes no ASCII; casefold is lower() on ASCII
    return unicodedata.normalize("NFKC", name).casefold()


_INTERNAL_DIR_FOLDED = _folded(INTERNAL_DIR)


def is_internal(path: str) -> bool:
    """clouddrive's own folders and s3synchrony's leftovers: never synced as files.

    A `.clouddrive/` folder at any depth is internal (another drive's state, config and run
    records, were one ever made inside this one); s3synchrony's `.S3/` only at the top.
    Compared case- and normalisation-insensitively: on macOS or Windows '.CloudDrive/x'
    would land inside the drive's own state folder.
    """
    segments = path.split("/")
    if _folded(segments[0]) in _INTERNAL_FOLDED:
        return True
    return any(_folded(segment) == _INTERNAL_DIR_FOLDED for segment in segments[1:])


def internal_owner(path: str) -> str | None:
    """The folder holding the first `.clouddrive/` segment of `path` (`"x/y"` for
    `x/y/.clouddrive/runs/r.json`, `""` at the top), or None if there is none."""
    segments = path.split("/")
    for i, segment in enumerate(segments):
        if _folded(segment) == _INTERNAL_DIR_FOLDED:
            return "/".join(segments[:i])
    return None


def _fold(name: str, case_insensitive: bool, normalizes_unicode: bool) -> str:
    """The name as this file system tells names apart."""
    if normalizes_unicode:
        name = unicodedata.normalize("NFC", name)
    if case_insensitive:
        name = name.casefold()
    return name


def find_collisions(
    paths: Iterable[str], *, case_insensitive: bool, normalizes_unicode: bool
) -> dict[str, str]:
    """Paths that cannot coexist on this file system, each with the reason.

    A name that is both a file and a folder (`a` and `a/b`), and names that fold to the same
    entry (by case, or Unicode normalisation where the file system does either): every member
    of such a group is reported, so none of them overwrites another.
    """
    all_paths = sorted(set(paths))
    bad: dict[str, str] = {}

    def fold(name: str) -> str:
        return _fold(name, case_insensitive, normalizes_unicode)

    files = {fold(p): p for p in all_paths}
    for path in all_paths:
        parts = path.split("/")
        for i in range(1, len(parts)):
            folder = "/".join(parts[:i])
            as_file = files.get(fold(folder))
            if as_file is not None:
                bad[as_file] = "both a file and a folder"
                bad.setdefault(path, f"inside '{folder}', which is also a file")

    if case_insensitive or normalizes_unicode:
        groups: dict[str, list[str]] = defaultdict(list)
        for path in all_paths:
            groups[fold(path)].append(path)
        for members in groups.values():
            if len(members) > 1:
                others = ", ".join(repr(m) for m in members)
                for m in members:
                    bad.setdefault(m, f"names clash on this file system: {others}")
        folders: dict[str, set[str]] = defaultdict(set)
        for path in all_paths:
            parts = path.split("/")
            for i in range(1, len(parts)):
                folder = "/".join(parts[:i])
                # 'A/x' and 'a/y' would land in one folder spelled by whoever came first.
                folders[fold(folder)].add(folder)
        clashing = {f for spellings in folders.values() if len(spellings) > 1 for f in spellings}
        for path in all_paths:
            parts = path.split("/")
            for i in range(1, len(parts)):
                folder = "/".join(parts[:i])
                if folder in clashing:
                    bad.setdefault(path, f"folder '{folder}' clashes with another spelling of it")
                    break
    return bad
