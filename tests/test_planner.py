"""Unit tests of the pure three-way planner against sync-model.md (no S3, no disk)."""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import posixpath
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clouddrive.core.models import (
    Action,
    ActionKind,
    BaseEntry,
    LocalChange,
    LocalFile,
    Plan,
    RemoteChange,
    RemoteEntry,
)
from clouddrive.core.paths import unsafe_reason
from clouddrive.core.planner import (
    CLOCK_SKEW_NS,
    RACY_WINDOW_NS,
    classify_local,
    classify_remote,
    conflict_name,
    decide,
    is_racy,
    plan,
    rolled_back,
    swaps,
)

# --------------------------------------------------------------------------------------------
# Builders
# --------------------------------------------------------------------------------------------

USER = "ann"
NOW = datetime(2026, 1, 2, 3, 4, 5)
LISTED_AT = datetime(2026, 1, 1, tzinfo=UTC)
BASE_MTIME = 1_000
TOUCHED_MTIME = 2_000  #: a later stat of this machine's own file
LOCAL_STAMP = "1970-01-01 000000"  #: a conflict copy's name carries the local file's mtime


def sha(content: str) -> str:
    return hashlib.sha256(content.encode()).hexdigest()


def etag_of(version: str) -> str:
    return f'"etag-{version}"'


def local(
    path: str, content: str, mtime_ns: int = TOUCHED_MTIME, *, hashed: bool = True
) -> LocalFile:
    """A scanned file; `hashed=False` is what the scanner reports when the stat equals the base."""
    return LocalFile(path, len(content), mtime_ns, sha(content) if hashed else None)


def remote(path: str, content: str, version: str) -> RemoteEntry:
    """The latest object version of a key, with its sha256 learnt from metadata."""
    return RemoteEntry(
        path,
        path,
        version,
        False,
        LISTED_AT,
        etag=etag_of(version),
        size=len(content),
        sha256=sha(content),
    )


def marker(path: str, version: str) -> RemoteEntry:
    """A delete marker as the key's latest entry."""
    return RemoteEntry(path, path, version, True, LISTED_AT)


def base_of(path: str, content: str, version: str, mtime_ns: int = BASE_MTIME) -> BaseEntry:
    return BaseEntry(path, len(content), mtime_ns, sha(content), version, etag_of(version))


def plan_one(
    lf: LocalFile | None, re_: RemoteEntry | None, be: BaseEntry | None, path: str
) -> Plan:
    return plan(
        {path: lf} if lf else {},
        {path: re_} if re_ else {},
        {path: be} if be else {},
        user=USER,
        now=NOW,
    )


# --------------------------------------------------------------------------------------------
# 1. The decision table, one case per cell
# --------------------------------------------------------------------------------------------

P = "docs/report.txt"
L, R, K = LocalChange, RemoteChange, ActionKind
BASE = base_of(P, "v1", "r1")


@dataclass(frozen=True)
class Cell:
    id: str
    local: LocalFile | None
    remote: RemoteEntry | None
    base: BaseEntry | None
    lc: LocalChange
    rc: RemoteChange
    kind: ActionKind | None
    if_match: str | None = None
    vanished: bool = False


# One state per side, reused across the cells (P's base is content "v1" at version "r1").
SAME = local(P, "v1", BASE_MTIME, hashed=False)  # stat equals the base: the scanner skips hashing
TOUCHED = local(P, "v1")  # same content, mtime moved
EDITED, MINE = local(P, "v2"), local(P, "mine")
R_BASE, R_V2, R_THEIRS = remote(P, "v1", "r1"), remote(P, "v2", "r2"), remote(P, "theirs", "r2")
MARK = marker(P, "d2")
ETAG = etag_of("r1")

# fmt: off
CELLS = [
    Cell("unchanged/unchanged", SAME, R_BASE, BASE, L.UNCHANGED, R.UNCHANGED, None),
    Cell("touched/unchanged", TOUCHED, R_BASE, BASE, L.UNCHANGED, R.UNCHANGED, K.RECORD),
    Cell("unchanged/modified", SAME, R_V2, BASE, L.UNCHANGED, R.MODIFIED, K.DOWNLOAD),
    Cell("touched/modified", TOUCHED, R_V2, BASE, L.UNCHANGED, R.MODIFIED, K.DOWNLOAD),
    Cell("unchanged/deleted", SAME, MARK, BASE, L.UNCHANGED, R.DELETED, K.DELETE_LOCAL),
    Cell("unchanged/vanished", SAME, None, BASE, L.UNCHANGED, R.VANISHED, K.UPLOAD,
         vanished=True),
    Cell("created/created same", TOUCHED, R_BASE, None, L.CREATED, R.CREATED, K.RECORD),
    Cell("created/created differ", MINE, R_THEIRS, None, L.CREATED, R.CREATED, K.CONFLICT),
    Cell("created/deleted", MINE, MARK, None, L.CREATED, R.DELETED, K.UPLOAD),
    Cell("created/absent", MINE, None, None, L.CREATED, R.ABSENT, K.UPLOAD),
    Cell("modified/unchanged", EDITED, R_BASE, BASE, L.MODIFIED, R.UNCHANGED, K.UPLOAD,
         if_match=ETAG),
    Cell("modified/modified same", EDITED, R_V2, BASE, L.MODIFIED, R.MODIFIED, K.RECORD),
    Cell("modified/modified differ", MINE, R_THEIRS, BASE, L.MODIFIED, R.MODIFIED,
         K.CONFLICT),
    Cell("modified/deleted", EDITED, MARK, BASE, L.MODIFIED, R.DELETED, K.UPLOAD),
    Cell("modified/vanished", EDITED, None, BASE, L.MODIFIED, R.VANISHED, K.UPLOAD,
         vanished=True),
    Cell("deleted/unchanged", None, R_BASE, BASE, L.DELETED, R.UNCHANGED, K.DELETE_REMOTE,
         if_match=ETAG),
    Cell("deleted/modified", None, R_V2, BASE, L.DELETED, R.MODIFIED, K.DOWNLOAD),
    Cell("deleted/deleted", None, MARK, BASE, L.DELETED, R.DELETED, K.FORGET),
    Cell("deleted/vanished", None, None, BASE, L.DELETED, R.VANISHED, K.FORGET,
         vanished=True),
    Cell("absent/created", None, R_BASE, None, L.ABSENT, R.CREATED, K.DOWNLOAD),
    Cell("absent/deleted", None, MARK, None, L.ABSENT, R.DELETED, None),
    Cell("absent/absent", None, None, None, L.ABSENT, R.ABSENT, None),
]
# fmt: on


class TestDecisionTable:
    """Every cell of sync-model.md's decision table."""

    @pytest.mark.parametrize("cell", CELLS, ids=[c.id for c in CELLS])
    def test_classification(self, cell: Cell) -> None:
        """classify_local / classify_remote name the row and column of the cell."""
        assert classify_local(cell.local, cell.base) is cell.lc
        assert classify_remote(cell.remote, cell.base) is cell.rc

    @pytest.mark.parametrize("cell", CELLS, ids=[c.id for c in CELLS])
    def test_decide(self, cell: Cell) -> None:
        """decide() picks the cell's action, condition and conflict copy."""
        action = decide(P, cell.local, cell.remote, cell.base, user=USER, now=NOW)
        if cell.kind is None:
            assert action is None
            return
        assert action is not None
        assert action.kind is cell.kind
        assert action.path == P
        assert (action.local_change, action.remote_change) == (cell.lc, cell.rc)
        assert action.if_match == cell.if_match
        assert (action.local, action.remote, action.base) == (cell.local, cell.remote, cell.base)
        if cell.kind is ActionKind.CONFLICT:
            assert action.conflict_path == f"docs/report (conflict ann {LOCAL_STAMP}).txt"
        else:
            assert action.conflict_path is None

    @pytest.mark.parametrize("cell", CELLS, ids=[c.id for c in CELLS])
    def test_plan(self, cell: Cell) -> None:
        """plan() of a single path agrees with decide() and lists vanished paths."""
        result = plan_one(cell.local, cell.remote, cell.base, P)
        kinds = [a.kind for a in result.actions]
        assert kinds == ([] if cell.kind is None else [cell.kind])
        assert result.vanished == ((P,) if cell.vanished else ())
        assert result.is_empty is (cell.kind is None)

    def test_stat_moved_but_unhashed_is_an_error(self) -> None:
        """A moved stat without a hash is a scanner bug, not a silent 'unchanged'."""
        with pytest.raises(ValueError, match="did not hash"):
            classify_local(local(P, "v2", hashed=False), BASE)

    def test_same_hash_needs_a_known_remote_hash(self) -> None:
        """Without the remote sha256 the planner cannot prove agreement: conflict, never adopt."""
        unknown = RemoteEntry(P, P, "r1", False, LISTED_AT, etag=etag_of("r1"), size=2)
        action = decide(P, local(P, "v1"), unknown, None, user=USER, now=NOW)
        assert action is not None and action.kind is ActionKind.CONFLICT

    def test_remote_change_is_the_version_id_not_the_time(self) -> None:
        """A newer LastModified with the base version id is still unchanged."""
        later = RemoteEntry(
            P,
            P,
            "r1",
            False,
            datetime(2030, 1, 1, tzinfo=UTC),
            etag=etag_of("r1"),
            size=2,
            sha256=sha("v1"),
        )
        assert classify_remote(later, BASE) is RemoteChange.UNCHANGED


class TestRacilyClean:
    """git's rule: an equal stat proves nothing when the mtime is not safely older than the
    moment the base was recorded (sync-model.md, "Racily clean")."""

    def test_is_racy_within_the_window(self) -> None:
        recorded = 10 * RACY_WINDOW_NS
        b = dataclasses.replace(BASE, recorded_ns=recorded)
        assert is_racy(b, recorded)  # same moment
        assert is_racy(b, recorded - RACY_WINDOW_NS + 1)  # within a coarse tick
        assert not is_racy(b, recorded - RACY_WINDOW_NS)  # safely older
        assert is_racy(BASE, BASE_MTIME)  # recorded at an unknown moment: hash it

    def test_equal_stat_with_a_differing_hash_is_modified(self) -> None:
        """The scanner hashed a racily clean file: its hash decides, not its equal stat."""
        same_stat_new_content = local(P, "v2", BASE_MTIME)
        assert classify_local(same_stat_new_content, BASE) is LocalChange.MODIFIED
        action = decide(P, same_stat_new_content, remote(P, "v1", "r1"), BASE, user=USER, now=NOW)
        assert action is not None and action.kind is ActionKind.UPLOAD
        assert action.if_match == BASE.etag

    def test_equal_stat_and_hash_is_unchanged_and_needs_nothing(self) -> None:
        rehashed = local(P, "v1", BASE_MTIME)
        assert classify_local(rehashed, BASE) is LocalChange.UNCHANGED
        assert decide(P, rehashed, remote(P, "v1", "r1"), BASE, user=USER, now=NOW) is None

    def test_racy_edit_against_a_remote_change_is_a_conflict(self) -> None:
        action = decide(
            P, local(P, "v2", BASE_MTIME), remote(P, "v3", "r2"), BASE, user=USER, now=NOW
        )
        assert action is not None and action.kind is ActionKind.CONFLICT


class TestHistoryRewritten:
    """A base whose version id left the key's history: keep the local copy, put it back."""

    def gone(self, lf: LocalFile | None, re_: RemoteEntry) -> Action | None:
        return decide(P, lf, re_, BASE, user=USER, now=NOW, base_gone=True)

    def test_classified_as_rewritten_not_modified_or_deleted(self) -> None:
        for entry in (remote(P, "v0", "r0"), marker(P, "d0")):
            assert classify_remote(entry, BASE) is not RemoteChange.REWRITTEN
            assert classify_remote(entry, BASE, base_gone=True) is RemoteChange.REWRITTEN

    def test_unchanged_copy_goes_up_over_an_older_version(self) -> None:
        older = RemoteEntry(P, P, "r0", False, LISTED_AT, etag=etag_of("r0"), size=2)
        action = self.gone(local(P, "v1", BASE_MTIME, hashed=False), older)
        assert action is not None
        assert (action.kind, action.if_match) == (ActionKind.UPLOAD, etag_of("r0"))
        assert action.remote_change is RemoteChange.REWRITTEN

    def test_unchanged_copy_goes_up_over_an_older_delete(self) -> None:
        action = self.gone(local(P, "v1", BASE_MTIME, hashed=False), marker(P, "d0"))
        assert action is not None
        assert (action.kind, action.if_match) == (ActionKind.UPLOAD, None)

    def test_edited_copy_goes_up(self) -> None:
        action = self.gone(local(P, "v2"), remote(P, "v0", "r0"))
        assert action is not None and action.kind is ActionKind.UPLOAD

    def test_same_content_already_put_back_is_recorded(self) -> None:
        action = self.gone(local(P, "v1", BASE_MTIME, hashed=False), remote(P, "v1", "r9"))
        assert action is not None and action.kind is ActionKind.RECORD

    def test_deleted_here(self) -> None:
        down = self.gone(None, remote(P, "v0", "r0"))
        forget = self.gone(None, marker(P, "d0"))
        assert down is not None and down.kind is ActionKind.DOWNLOAD
        assert forget is not None and forget.kind is ActionKind.FORGET

    def test_a_newer_change_whose_base_expired_is_ordinary(self) -> None:
        """Lifecycle expired the (noncurrent) base version after someone wrote a newer one:
        that newer one is an ordinary change, not a rollback."""
        listed_ns = int(LISTED_AT.timestamp() * 1e9)
        long_before = dataclasses.replace(BASE, recorded_ns=listed_ns - 2 * CLOCK_SKEW_NS)
        newer = remote(P, "v2", "r2")
        assert not rolled_back(newer, long_before)
        assert classify_remote(newer, long_before, base_gone=True) is RemoteChange.MODIFIED
        action = decide(
            P,
            local(P, "v1", BASE_MTIME, hashed=False),
            newer,
            long_before,
            user=USER,
            now=NOW,
            base_gone=True,
        )
        assert action is not None and action.kind is ActionKind.DOWNLOAD
        after = dataclasses.replace(BASE, recorded_ns=listed_ns + 1)
        assert rolled_back(newer, after)
        assert classify_remote(newer, after, base_gone=True) is RemoteChange.REWRITTEN

    def test_plan_passes_base_gone_per_path(self) -> None:
        plan_ = plan(
            {P: local(P, "v1", BASE_MTIME, hashed=False)},
            {P: marker(P, "d0")},
            {P: BASE},
            user=USER,
            now=NOW,
            base_gone={P},
        )
        assert [(a.kind, a.remote_change) for a in plan_.actions] == [
            (ActionKind.UPLOAD, RemoteChange.REWRITTEN)
        ]
        assert plan_.vanished == ()


class TestSwaps:
    """A file replaced by a folder of the same name, or the reverse (planner.swaps)."""

    def test_unchanged_file_under_a_new_folder_leaves(self) -> None:
        result = swaps(
            {"a": local("a", "x", BASE_MTIME, hashed=False)},
            {"a": marker("a", "d1"), "a/b": remote("a/b", "y", "rb")},
            {"a": base_of("a", "x", "ra")},
        )
        assert result.leaving_local == {"a"} and not result.set_aside

    def test_edited_file_under_a_new_folder_is_set_aside(self) -> None:
        files = {"a": local("a", "edited")}
        entries = {"a": marker("a", "d1"), "a/b": remote("a/b", "y", "rb")}
        bases = {"a": base_of("a", "x", "ra")}
        result = swaps(files, entries, bases)
        assert result.set_aside == {"a"} and not result.leaving_local
        plan_ = plan(files, entries, bases, user=USER, now=NOW, set_aside=result.set_aside)
        by_path = {a.path: a for a in plan_.actions}
        assert by_path["a"].kind is ActionKind.CONFLICT
        assert by_path["a"].conflict_path == f"a (conflict ann {LOCAL_STAMP})"
        assert by_path["a/b"].kind is ActionKind.DOWNLOAD

    def test_edit_inside_a_folder_that_became_a_file_goes_under_a_renamed_folder(self) -> None:
        files = {"a/b": local("a/b", "edited")}
        entries = {"a/b": marker("a/b", "d1"), "a": remote("a", "y", "ra")}
        bases = {"a/b": base_of("a/b", "x", "rb")}
        result = swaps(files, entries, bases)
        assert result.set_aside == {"a/b"}
        plan_ = plan(files, entries, bases, user=USER, now=NOW, set_aside=result.set_aside)
        by_path = {a.path: a for a in plan_.actions}
        assert by_path["a/b"].conflict_path == f"a (conflict ann {LOCAL_STAMP})/b"

    def test_local_swap_deletes_the_old_name_on_s3(self) -> None:
        result = swaps(
            {"a/b": local("a/b", "new")},
            {"a": remote("a", "x", "ra")},
            {"a": base_of("a", "x", "ra")},
        )
        assert result.leaving_remote == {"a"}

    def test_edit_without_a_swap_is_not_set_aside(self) -> None:
        result = swaps(
            {"a": local("a", "edited")}, {"a": marker("a", "d1")}, {"a": base_of("a", "x", "ra")}
        )
        assert not result.set_aside and not result.leaving_local


class TestPlanShape:
    """Plan-level bookkeeping: order, counts, visibility."""

    def test_paths_in_order_with_counts(self) -> None:
        """Actions come in path order; counts and delete tallies match."""
        plan_ = plan(
            {"b": local("b", "new"), "c": local("c", "x", BASE_MTIME, hashed=False)},
            {"a": remote("a", "x", "ra"), "c": marker("c", "dc"), "d": remote("d", "x", "rd")},
            {"c": base_of("c", "x", "rc"), "d": base_of("d", "x", "rd")},
            user=USER,
            now=NOW,
        )
        assert [(a.path, a.kind) for a in plan_.actions] == [
            ("a", ActionKind.DOWNLOAD),
            ("b", ActionKind.UPLOAD),
            ("c", ActionKind.DELETE_LOCAL),
            ("d", ActionKind.DELETE_REMOTE),
        ]
        assert plan_.local_deletes == 1 and plan_.remote_deletes == 1
        assert plan_.counts()[ActionKind.DOWNLOAD] == 1

    def test_visible_hides_bookkeeping(self) -> None:
        """RECORD and FORGET are bookkeeping and not shown."""
        plan_ = plan(
            {"a": local("a", "x")},
            {"a": remote("a", "x", "ra"), "b": marker("b", "db")},
            {"b": base_of("b", "y", "rb")},
            user=USER,
            now=NOW,
        )
        assert [a.kind for a in plan_.actions] == [ActionKind.RECORD, ActionKind.FORGET]
        assert plan_.visible() == ()

    def test_sizes(self) -> None:
        """Action.size counts the bytes moved: upload local, download remote, conflict both."""
        up = decide(P, local(P, "abc"), None, None, user=USER, now=NOW)
        down = decide(P, None, remote(P, "hello", "r1"), None, user=USER, now=NOW)
        clash = decide(P, local(P, "abc"), remote(P, "hello", "r1"), None, user=USER, now=NOW)
        assert up is not None and down is not None and clash is not None
        assert (up.size, down.size, clash.size) == (3, 5, 8)


# --------------------------------------------------------------------------------------------
# 2. Conflict names
# --------------------------------------------------------------------------------------------


class TestConflictName:
    """`name (conflict USER YYYY-MM-DD HHMMSS).ext`, safe and unique."""

    @pytest.mark.parametrize(
        ("path", "user", "expected"),
        [
            ("docs/report.txt", "ann", "docs/report (conflict ann 2026-01-02 030405).txt"),
            ("report.txt", "ann", "report (conflict ann 2026-01-02 030405).txt"),
            (".env", "ann", ".env (conflict ann 2026-01-02 030405)"),
            ("cfg/.env", "ann", "cfg/.env (conflict ann 2026-01-02 030405)"),
            ("Makefile", "ann", "Makefile (conflict ann 2026-01-02 030405)"),
            ("a.tar.gz", "ann", "a.tar (conflict ann 2026-01-02 030405).gz"),
            (
                "docs/report.txt",
                "ann/../x y",
                "docs/report (conflict ann_.._x_y 2026-01-02 030405).txt",
            ),
            ("r.txt", "Ann Smith", "r (conflict Ann_Smith 2026-01-02 030405).txt"),
            ("r.txt", "  //  ", "r (conflict someone 2026-01-02 030405).txt"),
            ("r.txt", "", "r (conflict someone 2026-01-02 030405).txt"),
        ],
    )
    def test_names(self, path: str, user: str, expected: str) -> None:
        """The name sits beside the original, keeps its extension, and sanitises the user."""
        assert conflict_name(path, user, NOW, set()) == expected

    @pytest.mark.parametrize("user", ["a/b", "a\\b", "x\ny", "tab\there", "..", "C:\\x", "日本 語"])
    def test_user_cannot_escape_the_folder(self, user: str) -> None:
        """Whatever the user name, the copy stays in the same folder and is a safe path."""
        name = conflict_name("docs/report.txt", user, NOW, set())
        assert posixpath.dirname(name) == "docs"
        assert unsafe_reason(name) is None

    def test_unique_when_taken(self) -> None:
        """A taken name gets a ' 2' (then ' 3') inside the parentheses."""
        first = "docs/report (conflict ann 2026-01-02 030405).txt"
        second = "docs/report (conflict ann 2026-01-02 030405 2).txt"
        third = "docs/report (conflict ann 2026-01-02 030405 3).txt"
        assert conflict_name("docs/report.txt", USER, NOW, {first}) == second
        assert conflict_name("docs/report.txt", USER, NOW, {first, second}) == third
        assert conflict_name("docs/report.txt", USER, NOW, frozenset({second})) == first

    def test_the_same_conflict_has_the_same_name_in_every_plan(self) -> None:
        """Issue 12.8: `status` then `sync` plan the same conflict seconds apart; the copy's
        name comes from the local file's mtime, not the planning time, so both show one name."""
        mtime = int(datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC).timestamp()) * 1_000_000_000
        mine, theirs = local(P, "mine", mtime), remote(P, "theirs", "r9")
        first = decide(P, mine, theirs, BASE, user=USER, now=NOW)
        later = decide(P, mine, theirs, BASE, user=USER, now=NOW + timedelta(seconds=2))
        assert first is not None and later is not None
        assert first.conflict_path == later.conflict_path
        assert first.conflict_path == "docs/report (conflict ann 2026-03-04 050607).txt"

    def test_plan_avoids_existing_and_earlier_names(self) -> None:
        """Within one plan, conflict copies are distinct and never hit a local or remote path."""
        label = f"conflict ann {LOCAL_STAMP}"
        on_disk = f"r ({label}).txt"
        in_bucket = f"r ({label} 2).txt"
        as_marker = f"r ({label} 3).txt"
        locals_ = {
            "r.txt": local("r.txt", "mine"),
            "x": local("x", "mine"),
            "y.md": local("y.md", "mine"),
            on_disk: local(on_disk, "old copy"),
        }
        remotes = {
            "r.txt": remote("r.txt", "theirs", "1"),
            "x": remote("x", "theirs", "2"),
            "y.md": remote("y.md", "theirs", "3"),
            in_bucket: remote(in_bucket, "older copy", "4"),
            as_marker: marker(as_marker, "5"),
        }
        plan_ = plan(locals_, remotes, {}, user=USER, now=NOW)
        copies = [a.conflict_path for a in plan_.actions if a.kind is ActionKind.CONFLICT]
        assert len(copies) == 3
        assert f"r ({label} 4).txt" in copies
        assert len(set(copies)) == len(copies)
        assert not set(copies) & (set(locals_) | set(remotes))

    def test_plan_many_conflicts_in_one_folder(self) -> None:
        """Many conflicting files in one folder each get their own copy name."""
        names = ["a", "a.txt", "a.md", ".a", "a.", "a.tar.gz", "a (conflict ann 2026-01-02 030405)"]
        paths = [f"d/{n}" for n in names]
        plan_ = plan(
            {p: local(p, "mine") for p in paths},
            {p: remote(p, "theirs", str(i)) for i, p in enumerate(paths)},
            {},
            user=USER,
            now=NOW,
        )
        copies = [a.conflict_path for a in plan_.actions]
        assert all(a.kind is ActionKind.CONFLICT for a in plan_.actions)
        assert len(set(copies)) == len(paths)
        assert not set(copies) & set(paths)

    @pytest.mark.parametrize(("path", "user"), [("x" * 240 + ".txt", "ann"), ("r.txt", "a" * 300)])
    def test_name_fits_the_file_system(self, path: str, user: str) -> None:
        """The copy's name is a safe local name even for long originals or user names."""
        assert unsafe_reason(conflict_name(path, user, NOW, set())) is None


# --------------------------------------------------------------------------------------------
# 3. Property tests against an in-memory executor
# --------------------------------------------------------------------------------------------

PATHS = ["a", "b/c", "d.txt", "b/c.txt", "e/.env", "f g.md"]
CONTENTS = ["", "x", "y", "zz"]


@dataclass
class World:
    """Both sides and the base. Local: path -> (content, mtime_ns). Remote: key -> versions
    oldest first, each (version id, content or None for a delete marker)."""

    local: dict[str, tuple[str, int]] = field(default_factory=dict)
    history: dict[str, list[tuple[str, str | None]]] = field(default_factory=dict)
    base: dict[str, BaseEntry] = field(default_factory=dict)
    clock: int = 10_000  #: mtimes and version ids this "executor" hands out

    def tick(self) -> int:
        self.clock += 1
        return self.clock

    def latest(self, path: str) -> tuple[str, str | None] | None:
        versions = self.history.get(path)
        return versions[-1] if versions else None

    def current(self, path: str) -> str | None:
        """The key's current content (None if absent or a delete marker is latest)."""
        top = self.latest(path)
        return top[1] if top else None

    def inputs(self) -> tuple[dict[str, LocalFile], dict[str, RemoteEntry], dict[str, BaseEntry]]:
        """What the scanner and the lister would report."""
        files = {}
        for path, (content, mtime) in self.local.items():
            b = self.base.get(path)
            stat_same = b is not None and (b.size, b.mtime_ns) == (len(content), mtime)
            files[path] = local(path, content, mtime, hashed=not stat_same)
        entries = {}
        for path in self.history:
            top = self.latest(path)
            if top is None:
                continue
            vid, content = top
            entries[path] = marker(path, vid) if content is None else remote(path, content, vid)
        return files, entries, dict(self.base)

    def plan(self) -> Plan:
        files, entries, base = self.inputs()
        return plan(files, entries, base, user=USER, now=NOW)

    def put(self, path: str, content: str) -> str:
        vid = f"v{self.tick()}"
        self.history.setdefault(path, []).append((vid, content))
        return vid

    def record(self, path: str, vid: str) -> None:
        content, mtime = self.local[path]
        self.base[path] = BaseEntry(path, len(content), mtime, sha(content), vid, etag_of(vid))


def apply_action(world: World, action: Action, *, record: bool = True) -> None:
    """Run one action as the executor would, checking its S3 preconditions."""
    p = action.path
    top = world.latest(p)
    if action.kind in (ActionKind.UPLOAD, ActionKind.DELETE_REMOTE) and action.if_match:
        assert top is not None and top[1] is not None, "If-Match on a key with no object"
        assert etag_of(top[0]) == action.if_match, "If-Match would fail"
        assert action.base is not None and top[0] == action.base.version_id, (
            "replaces a version this client never saw"
        )
    if action.kind is ActionKind.UPLOAD:
        if not action.if_match:
            assert world.current(p) is None, "If-None-Match: * would fail"
        vid = world.put(p, world.local[p][0])
        if record:
            world.record(p, vid)
    elif action.kind is ActionKind.DOWNLOAD:
        assert top is not None and top[1] is not None
        world.local[p] = (top[1], world.tick())
        if record:
            world.record(p, top[0])
    elif action.kind is ActionKind.DELETE_LOCAL:
        assert top is not None and top[1] is None
        del world.local[p]
        if record:
            world.base.pop(p)
    elif action.kind is ActionKind.DELETE_REMOTE:
        world.history[p].append((f"dm{world.tick()}", None))
        if record:
            world.base.pop(p)
    elif action.kind is ActionKind.CONFLICT:
        cp = action.conflict_path
        assert cp is not None and cp != p
        assert cp not in world.local and world.latest(cp) is None, "conflict copy overwrites"
        assert top is not None and top[1] is not None
        mine = world.local.pop(p)[0]
        world.local[cp] = (mine, world.tick())
        copy_vid = world.put(cp, mine)
        world.local[p] = (top[1], world.tick())
        if record:
            world.record(cp, copy_vid)
            world.record(p, top[0])
    elif action.kind is ActionKind.RECORD:
        assert top is not None and top[1] is not None
        assert world.local[p][0] == top[1], "RECORD of sides that disagree"
        if record:
            world.record(p, top[0])
    elif action.kind is ActionKind.FORGET:
        assert p not in world.local and world.current(p) is None
        if record:
            world.base.pop(p)
    else:  # pragma: no cover
        raise AssertionError(action.kind)


def apply(plan_: Plan, world: World) -> World:
    """A copy of `world` after every action of `plan_` ran and was recorded."""
    after = copy.deepcopy(world)
    for action in plan_.actions:
        apply_action(after, action)
    return after


@st.composite
def worlds(draw: st.DrawFn) -> World:
    """1-6 paths, each with a random base, local state and remote state."""
    paths = draw(st.lists(st.sampled_from(PATHS), min_size=1, max_size=6, unique=True))
    contents = st.sampled_from(CONTENTS)
    world = World()
    for i, p in enumerate(paths):
        has_base = draw(st.booleans())
        base_content = draw(contents)
        base_vid = f"b{i}"
        if has_base:
            world.base[p] = base_of(p, base_content, base_vid)

        lstate = draw(st.sampled_from(["absent", "same", "touched", "other"]))
        if lstate == "same" and has_base:
            world.local[p] = (base_content, BASE_MTIME)
        elif lstate == "touched" and has_base:
            world.local[p] = (base_content, TOUCHED_MTIME + i)
        elif lstate != "absent":
            world.local[p] = (draw(contents), 3_000 + i)

        rstate = draw(st.sampled_from(["absent", "base", "other", "marker"]))
        if has_base:
            prior: list[tuple[str, str | None]] = [(base_vid, base_content)]
        elif draw(st.booleans()):
            prior = [(f"old{i}", draw(contents))]  # history this client never saw
        else:
            prior = []
        if rstate == "absent":
            pass  # never existed, or purged (vanished when there is a base)
        elif rstate == "base" and has_base:
            world.history[p] = prior
        elif rstate == "marker":
            world.history[p] = [*prior, (f"dm{i}", None)]
        else:
            world.history[p] = [*prior, (f"r{i}", draw(contents))]
    return world


def contents_at(world: World, paths: set[str]) -> set[str]:
    """Every content held at these paths: local files and every remote version."""
    found = {world.local[p][0] for p in paths if p in world.local}
    found |= {c for p in paths for _, c in world.history.get(p, []) if c is not None}
    return found


PROPS = settings(max_examples=300, deadline=None)


class TestProperties:
    """Invariants of plan + execute on random three-way states."""

    @PROPS
    @given(worlds())
    def test_applied_plan_converges(self, world: World) -> None:
        """Planning again after the plan has run yields no actions."""
        after = apply(world.plan(), world)
        again = after.plan()
        assert again.actions == (), again.actions

    @PROPS
    @given(worlds())
    def test_deletes_only_what_the_base_knew(self, world: World) -> None:
        """No plan deletes a path on either side that the base never had."""
        for action in world.plan().actions:
            if action.kind in (ActionKind.DELETE_LOCAL, ActionKind.DELETE_REMOTE):
                assert action.path in world.base
                assert action.base is not None

    @PROPS
    @given(worlds())
    def test_no_content_is_lost(self, world: World) -> None:
        """Every local or latest remote content before the plan still exists after it."""
        plan_ = world.plan()
        after = apply(plan_, world)
        copies = {a.path: a.conflict_path for a in plan_.actions if a.conflict_path}
        for p in set(world.local) | set(world.history):
            before = {world.local[p][0]} if p in world.local else set()
            theirs = world.current(p)
            if theirs is not None:
                before.add(theirs)
            where = {p} | ({copies[p]} if p in copies else set())
            assert before <= contents_at(after, where), p

    @PROPS
    @given(worlds())
    def test_conflict_keeps_both(self, world: World) -> None:
        """After a CONFLICT both contents exist: theirs at the path, mine at the copy."""
        plan_ = world.plan()
        after = apply(plan_, world)
        for a in plan_.actions:
            if a.kind is not ActionKind.CONFLICT:
                continue
            assert a.conflict_path is not None
            mine, theirs = world.local[a.path][0], world.current(a.path)
            assert mine != theirs
            assert after.local[a.path][0] == theirs and after.current(a.path) == theirs
            assert after.local[a.conflict_path][0] == mine
            assert after.current(a.conflict_path) == mine
            assert after.history[a.path] == world.history[a.path]  # nothing put over it

    @PROPS
    @given(worlds())
    def test_last_writer_never_wins_silently(self, world: World) -> None:
        """Where both sides hold new, different content, the plan is a conflict."""
        changed = (LocalChange.CREATED, LocalChange.MODIFIED)
        for a in world.plan().actions:
            if a.local_change in changed and a.remote_change in (R.CREATED, R.MODIFIED):
                same = world.local[a.path][0] == world.current(a.path)
                assert a.kind is (ActionKind.RECORD if same else ActionKind.CONFLICT)

    @PROPS
    @given(worlds())
    def test_plan_bookkeeping(self, world: World) -> None:
        """Vanished paths are listed; conflict copies are unique and new on both sides."""
        plan_ = world.plan()
        files, entries, base = world.inputs()
        assert set(plan_.vanished) == {p for p in base if p not in entries}
        copies = [a.conflict_path for a in plan_.actions if a.conflict_path]
        assert len(copies) == len(set(copies))
        assert not set(copies) & (set(files) | set(entries))
        assert [a.path for a in plan_.actions] == sorted(a.path for a in plan_.actions)

    @PROPS
    @given(worlds(), st.data())
    def test_crash_before_recording_is_adopted(self, world: World, data: st.DataObject) -> None:
        """An action done but not recorded is adopted on the rerun: no conflict, no new write."""
        plan_ = world.plan()
        if not plan_.actions:
            return
        k = data.draw(st.integers(0, len(plan_.actions) - 1), label="crash at")
        crashed = copy.deepcopy(world)
        for action in plan_.actions[:k]:
            apply_action(crashed, action)
        done = plan_.actions[k]
        apply_action(crashed, done, record=False)

        rerun = crashed.plan()
        touched = {done.path, done.conflict_path} - {None}
        for a in rerun.actions:
            if a.path not in touched:
                continue
            assert a.kind in (ActionKind.RECORD, ActionKind.FORGET, ActionKind.DOWNLOAD), a
            if a.kind is ActionKind.DOWNLOAD:  # re-fetching what is already there
                assert crashed.local[a.path][0] == crashed.current(a.path)
        assert apply(rerun, crashed).plan().actions == ()
