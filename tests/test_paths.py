"""Unit tests of keys <-> local paths and the rules that keep hostile keys off the disk."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clouddrive.core.paths import (
    MAX_NAME_BYTES,
    MAX_PATH_BYTES,
    UnsafeKey,
    find_collisions,
    is_internal,
    key_to_path,
    normalize_prefix,
    path_to_key,
    unsafe_reason,
)

PREFIX = "team/docs"
FLAGS = [
    pytest.param(False, False, id="case-sensitive"),
    pytest.param(True, False, id="case-insensitive"),
    pytest.param(False, True, id="normalizing"),
    pytest.param(True, True, id="case-insensitive+normalizing"),
]


def nfc(s: str) -> str:
    return unicodedata.normalize("NFC", s)


def nfd(s: str) -> str:
    return unicodedata.normalize("NFD", s)


def collisions(
    paths: list[str], case_insensitive: bool, normalizes_unicode: bool
) -> dict[str, str]:
    return find_collisions(
        paths, case_insensitive=case_insensitive, normalizes_unicode=normalizes_unicode
    )


class TestKeyToPath:
    """key_to_path accepts ordinary keys and rejects hostile ones with a reason."""

    @pytest.mark.parametrize(
        ("key", "prefix", "expected"),
        [
            ("team/docs/a.txt", PREFIX, "a.txt"),
            ("team/docs/sub dir/report final.txt", PREFIX, "sub dir/report final.txt"),
            ("team/docs/ünï cödé/日本語 ファイル.txt", PREFIX, "ünï cödé/日本語 ファイル.txt"),
            ("team/docs/.hidden", PREFIX, ".hidden"),
            ("team/docs/...", PREFIX, "..."),
            ("team/docs/a..b/c.", PREFIX, "a..b/c."),
            ("team/docs/emoji 🎉.md", PREFIX, "emoji 🎉.md"),
            ("team/docs/" + "x" * MAX_NAME_BYTES, PREFIX, "x" * MAX_NAME_BYTES),
            ("team/docs/" + "é" * 127, PREFIX, "é" * 127),  # 254 bytes
            ("a/b.txt", "", "a/b.txt"),
            ("team/docs/team/docs/x", PREFIX, "team/docs/x"),
        ],
    )
    def test_accepts(self, key: str, prefix: str, expected: str) -> None:
        """Ordinary keys (spaces, Unicode, dot-files) map to their relative path and back."""
        assert key_to_path(key, prefix) == expected
        assert path_to_key(expected, prefix) == key

    @pytest.mark.parametrize(
        ("key", "prefix", "reason"),
        [
            ("team/docs/..", PREFIX, "'..' segment"),
            ("team/docs/a/../../x", PREFIX, "'..' segment"),
            ("..", "", "'..' segment"),
            ("team/docs/./x", PREFIX, "'.' segment"),
            ("/abs", "", "absolute path"),
            ("team/docs//etc/passwd", PREFIX, "absolute path"),
            ("team/docs/a\\b", PREFIX, "backslash"),
            ("team/docs/..\\..\\x", PREFIX, "backslash"),
            ("team/docs/C:x", PREFIX, "drive-letter"),
            ("c:/Windows", "", "drive-letter"),
            ("team/docs/a//b", PREFIX, "empty path segment"),
            ("team/docs/a/", PREFIX, "empty path segment"),
            ("team/docs/", PREFIX, "empty path"),
            ("team/docs/\uff0e\uff0e", PREFIX, "normalised"),
            ("team/docs/a/\uff0e\uff0e/x", PREFIX, "normalised"),
            ("team/docs/\uff0e", PREFIX, "normalised"),
            ("team/docs/a\uff0fb", PREFIX, "normalised"),
            ("team/docs/a\uff3cb", PREFIX, "normalised"),
            ("team/docs/a\x01b", PREFIX, "control character"),
            ("team/docs/\n", PREFIX, "control character"),
            ("team/docs/x\ty", PREFIX, "control character"),
            ("team/docs/x\x7f", PREFIX, "control character"),
            ("team/docs/x\x85", PREFIX, "control character"),
            ("a\x00b", "", "NUL"),
            ("team/docs/" + "x" * 300, PREFIX, f"longer than {MAX_NAME_BYTES} bytes"),
            ("team/docs/" + "x" * (MAX_NAME_BYTES + 1), PREFIX, "longer than"),
            ("team/docs/" + "é" * 128, PREFIX, "longer than"),  # 128 chars, 256 bytes
            ("team/docs/" + "/".join(["x" * 200] * 16), PREFIX, f"longer than {MAX_PATH_BYTES}"),
            ("other/a.txt", PREFIX, "outside the drive's prefix"),
            ("team/docsX/a.txt", PREFIX, "outside the drive's prefix"),
            ("team/docs", PREFIX, "outside the drive's prefix"),
            ("Team/Docs/a.txt", PREFIX, "outside the drive's prefix"),
        ],
    )
    def test_rejects(self, key: str, prefix: str, reason: str) -> None:
        """Hostile keys raise UnsafeKey naming the key and why."""
        with pytest.raises(UnsafeKey) as info:
            key_to_path(key, prefix)
        assert info.value.key == key
        assert reason in info.value.reason
        assert info.value.reason in str(info.value)
        assert isinstance(info.value, ValueError)

    def test_unsafe_reason_none_for_safe(self) -> None:
        """unsafe_reason is None for a safe path and a string otherwise."""
        assert unsafe_reason("a/b c/d.txt") is None
        assert unsafe_reason("") == "empty path"
        assert unsafe_reason("a/../b")


class TestPrefix:
    """normalize_prefix and path_to_key."""

    @pytest.mark.parametrize(
        ("raw", "expected"),
        [
            (None, ""),
            ("", ""),
            ("/", ""),
            ("//", ""),
            ("team", "team"),
            ("/team/docs/", "team/docs"),
            ("team/docs//", "team/docs"),
        ],
    )
    def test_normalize_prefix(self, raw: str | None, expected: str) -> None:
        """Leading and trailing slashes go; None and '/' mean the bucket root."""
        assert normalize_prefix(raw) == expected

    def test_path_to_key(self) -> None:
        """The key is PREFIX/path, or the path itself at the bucket root."""
        assert path_to_key("a/b.txt", "team/docs") == "team/docs/a/b.txt"
        assert path_to_key("a/b.txt", "") == "a/b.txt"


class TestIsInternal:
    """clouddrive's own folder and s3synchrony's .S3 are never synced."""

    @pytest.mark.parametrize(
        "path",
        [
            ".clouddrive",
            ".clouddrive/state.db",
            ".clouddrive/runs/x.json",
            ".S3",
            ".S3/a/b",
            "a/.clouddrive/x",
            "a/b/.clouddrive",
        ],
    )
    def test_internal(self, path: str) -> None:
        """.clouddrive at any depth (drives never nest) and a top-level .S3 are internal."""
        assert is_internal(path)

    @pytest.mark.parametrize(
        "path",
        ["docs/.S3", ".clouddrivex/y", "a/.clouddrivex/y", ".S3x", "clouddrive/x", "S3/x", "a.txt"],
    )
    def test_not_internal(self, path: str) -> None:
        """.S3 counts only at the top; look-alike names are ordinary files."""
        assert not is_internal(path)

    def test_case_variant_of_internal_dir(self) -> None:
        """A case variant of .clouddrive must not reach the internal folder on macOS/Windows."""
        assert is_internal(".CloudDrive/state.db") or find_collisions(
            [".CloudDrive/state.db"], case_insensitive=True, normalizes_unicode=True
        )


class TestFindCollisions:
    """Names that cannot coexist on this file system are all reported."""

    @pytest.mark.parametrize(("ci", "nu"), FLAGS)
    def test_file_and_folder(self, ci: bool, nu: bool) -> None:
        """`a` as a file and `a/b` (or deeper) both reported on any file system."""
        bad = collisions(["a", "a/b", "a/c/d", "z"], ci, nu)
        assert set(bad) == {"a", "a/b", "a/c/d"}
        assert "both a file and a folder" in bad["a"]
        assert "'a'" in bad["a/b"]

    def test_case_clash_only_when_case_insensitive(self) -> None:
        """`A.txt` and `a.txt` clash only where the file system folds case."""
        assert collisions(["A.txt", "a.txt"], False, False) == {}
        assert collisions(["A.txt", "a.txt"], False, True) == {}
        bad = collisions(["A.txt", "a.txt", "b.txt"], True, False)
        assert set(bad) == {"A.txt", "a.txt"}
        assert "clash" in bad["A.txt"]

    def test_unicode_clash_only_when_normalizing(self) -> None:
        """NFC and NFD spellings of one name clash only where the file system normalises."""
        names = [nfc("café.txt"), nfd("café.txt")]
        assert names[0] != names[1]
        assert collisions(names, False, False) == {}
        assert set(collisions(names, False, True)) == set(names)
        assert set(collisions(names, True, True)) == set(names)

    def test_unicode_no_clash_when_only_case_insensitive(self) -> None:
        """Case folding alone does not merge NFC and NFD spellings."""
        assert collisions([nfc("café.txt"), nfd("café.txt")], True, False) == {}

    def test_folder_spellings(self) -> None:
        """`Docs/x` and `docs/y` would share one folder: both reported where case folds."""
        assert collisions(["Docs/x", "docs/y"], False, False) == {}
        bad = collisions(["Docs/x", "docs/y", "other/z"], True, False)
        assert set(bad) == {"Docs/x", "docs/y"}
        assert "folder" in bad["Docs/x"]

    def test_folder_spellings_unicode(self) -> None:
        """NFC and NFD spellings of a folder clash where the file system normalises."""
        paths = [nfc("é/x"), nfd("é/y")]
        assert collisions(paths, False, False) == {}
        assert set(collisions(paths, False, True)) == set(paths)

    @pytest.mark.parametrize(
        ("paths", "ci", "nu"),
        [(["A", "a/b"], True, False), ([nfc("é"), nfd("é") + "/x"], False, True)],
    )
    def test_file_and_folder_by_fold(self, paths: list[str], ci: bool, nu: bool) -> None:
        """A file and a folder that fold to one name are both reported."""
        assert set(collisions(paths, ci, nu)) == set(paths)

    @pytest.mark.parametrize(("ci", "nu"), FLAGS)
    def test_no_false_positives(self, ci: bool, nu: bool) -> None:
        """Distinct names, shared folders and look-alike prefixes are not collisions."""
        paths = [
            "a.txt",
            "b.txt",
            "ab",
            "a b",
            "a.txt.bak",
            "dir/x",
            "dir/y",
            "dir2/x",
            "dir/sub/x",
            "a/x",
            nfc("café.txt"),
            "cafe.txt",
            "résumé/cv.pdf",
            "日本/語",
        ]
        assert collisions(paths, ci, nu) == {}
        assert collisions(["a", "a"], ci, nu) == {}
        assert collisions([], ci, nu) == {}


# --------------------------------------------------------------------------------------------
# Property tests
# --------------------------------------------------------------------------------------------

tricky = st.sampled_from(
    ["", ".", "..", "\uff0e\uff0e", "C:", "a\\b", "x\x01", "\n", "\x00", "é" * 128, "x" * 256]
)
printable = st.text(st.characters(exclude_categories=("Cc", "Cs")), min_size=1, max_size=8)
segment = st.one_of(printable, printable, printable, st.text(max_size=6), tricky)
key_text = st.lists(segment, min_size=1, max_size=5).map("/".join)


class TestProperties:
    """Anything key_to_path accepts is a safe relative path that maps back to the key."""

    @settings(max_examples=500, deadline=None)
    @given(key_text, st.sampled_from(["", "team", "team/docs"]))
    def test_accepted_keys_are_safe(self, text: str, prefix: str) -> None:
        """Accepted: no ./../empty segment, not absolute, no backslash; round-trips."""
        key = path_to_key(text, prefix)
        try:
            path = key_to_path(key, prefix)
        except UnsafeKey as exc:
            assert exc.reason
            assert unsafe_reason(text) == exc.reason
            return
        assert unsafe_reason(path) is None
        assert path == text
        assert not path.startswith("/")
        assert "\\" not in path and "\x00" not in path
        for segment in path.split("/"):
            assert segment not in ("", ".", "..")
            assert unicodedata.normalize("NFKC", segment) not in (".", "..")
            assert not any(unicodedata.category(ch) == "Cc" for ch in segment)
            assert len(segment.encode()) <= MAX_NAME_BYTES
        assert path_to_key(key_to_path(key, prefix), prefix) == key

    @settings(max_examples=200, deadline=None)
    @given(
        st.lists(st.sampled_from(["a", "A", "b", "a/b", "A/c", "é", "e\u0301", "d/e"]), max_size=6),
        st.booleans(),
        st.booleans(),
    )
    def test_collisions_report_whole_groups(self, paths: list[str], ci: bool, nu: bool) -> None:
        """Reported names come from the input, and every exact fold group is reported whole."""
        bad = collisions(paths, ci, nu)
        assert set(bad) <= set(paths)
        if not ci and not nu:  # nothing folds: only file-and-folder pairs remain
            assert all("file" in reason for reason in bad.values())

        def fold(p: str) -> str:
            p = nfc(p) if nu else p
            return p.casefold() if ci else p

        for p in set(paths):
            for q in set(paths):
                if p != q and fold(p) == fold(q):
                    assert p in bad and q in bad
