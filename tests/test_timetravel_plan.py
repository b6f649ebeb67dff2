"""Time-travel planning on plain version lists (clouddrive.core.timeline): pure, no server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from clouddrive.core.timeline import (
    Entry,
    KeyHistory,
    Op,
    Skip,
    Step,
    at,
    last_content,
    order,
    plan_at,
    plan_revert,
    plan_undelete,
    plan_version,
    predecessor,
    top_markers,
)

T0 = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)


def v(vid: str, second: int, *, latest: bool = False, etag: str | None = None) -> Entry:
    return Entry(vid, False, T0 + timedelta(seconds=second), latest, 10, etag or f'"{vid}"')


def m(vid: str, second: int, *, latest: bool = False) -> Entry:
    return Entry(vid, True, T0 + timedelta(seconds=second), latest)


def history(path: str, *entries: Entry) -> KeyHistory:
    return KeyHistory(path, f"team/{path}", tuple(order(entries)))


class TestOrder:
    def test_latest_first_then_time_ties_keep_listing_order(self) -> None:
        """Newest first by time; the IsLatest entry leads even in a tie; ties keep order."""
        listed = [v("a", 5), m("b", 5, latest=True), v("c", 5), v("d", 9), m("e", 1)]
        assert [e.version_id for e in order(listed)] == ["b", "d", "a", "c", "e"]

    def test_helpers(self) -> None:
        """Stacked markers, last content, the entry at a moment, the predecessor."""
        entries = order([m("m2", 9, latest=True), m("m1", 8), v("v2", 5), v("v1", 1)])
        assert [e.version_id for e in top_markers(entries)] == ["m2", "m1"]
        assert last_content(entries) == entries[2]
        assert at(entries, T0) is None
        assert at(entries, T0 + timedelta(seconds=5)).version_id == "v2"  # type: ignore[union-attr]
        assert at(entries, T0 + timedelta(seconds=8, milliseconds=1)).version_id == "m1"  # type: ignore[union-attr]
        assert predecessor(entries, "m1").version_id == "v2"  # type: ignore[union-attr]
        assert predecessor(entries, "v1") is None


class TestUndelete:
    def test_deleted_twice_brings_back_the_last_content(self) -> None:
        """Stacked delete markers: the newest content version is copied forward."""
        h = history("f", m("m2", 9, latest=True), m("m1", 8), v("v2", 5), v("v1", 1))
        step = plan_undelete("f", h.entries)
        assert isinstance(step, Step) and step.op is Op.COPY
        assert step.source.version_id == "v2" and step.expect == "m2"  # type: ignore[union-attr]

    def test_not_deleted_is_a_clear_skip(self) -> None:
        """A key whose latest entry is content is not restored, with the reason."""
        h = history("f", v("v2", 5, latest=True), m("m1", 3), v("v1", 1))
        skip = plan_undelete("f", h.entries)
        assert isinstance(skip, Skip) and "not deleted" in skip.reason

    def test_markers_only(self) -> None:
        """Only markers left (versions purged): nothing to bring back."""
        skip = plan_undelete("f", history("f", m("m1", 3, latest=True)).entries)
        assert isinstance(skip, Skip) and "purged" in skip.reason


class TestVersion:
    def test_prefix_marker_and_current(self) -> None:
        """A unique id prefix works; a marker or the current version is refused."""
        entries = history(
            "f", v("abcd123", 5, latest=True), m("abcd999", 3), v("xyz000", 1)
        ).entries
        step = plan_version("f", entries, "xyz0")
        assert isinstance(step, Step) and step.source.version_id == "xyz000"  # type: ignore[union-attr]
        assert "delete marker" in plan_version("f", entries, "abcd999").reason  # type: ignore[union-attr]
        assert "already the current" in plan_version("f", entries, "abcd123").reason  # type: ignore[union-attr]
        assert "ambiguous" in plan_version("f", entries, "abcd").reason  # type: ignore[union-attr]
        assert "no version" in plan_version("f", entries, "nope").reason  # type: ignore[union-attr]


class TestAt:
    def test_every_kind_of_change_goes_back(self) -> None:
        """Edited, deleted, created-later, unchanged, and re-created keys all go back."""
        moment = T0 + timedelta(seconds=10)
        histories = [
            history("edited", v("e2", 20, latest=True), v("e1", 1)),
            history("deleted", m("d2", 20, latest=True), v("d1", 1)),
            history("new", v("n1", 20, latest=True)),
            history("same", v("s1", 1, latest=True)),
            history("gone-then", v("g2", 20, latest=True), m("g1", 5), v("g0", 1)),
            history("gone-both", m("b1", 20, latest=True), m("b0", 5), v("bv", 1)),
            history("same-bytes", v("sb2", 20, latest=True, etag='"x"'), v("sb1", 1, etag='"x"')),
            KeyHistory("bad\tname", "team/bad\tname", (v("z", 11, latest=True),), "control"),
            KeyHistory("bad\tsame", "team/bad\tsame", (v("y", 1, latest=True),), "control"),
        ]
        steps, skips = plan_at(histories, moment)
        got = {s.path: (s.op, s.source.version_id if s.source else None) for s in steps}
        assert got == {
            "edited": (Op.COPY, "e1"),
            "deleted": (Op.COPY, "d1"),
            "new": (Op.DELETE, None),
            "gone-then": (Op.DELETE, None),
        }
        assert [s.path for s in skips] == ["bad\tname"]
        assert next(s for s in steps if s.path == "new").expect == "n1"


class TestRevert:
    def test_upload_goes_back_to_its_parent(self) -> None:
        """An edit reverts to the version before it."""
        entries = history("f", v("v2", 5, latest=True), v("v1", 1)).entries
        step = plan_revert("f", entries, ["v2"])
        assert isinstance(step, Step) and step.source.version_id == "v1"  # type: ignore[union-attr]

    def test_created_key_is_deleted_again(self) -> None:
        """A file the run created gets a delete marker."""
        step = plan_revert("f", history("f", v("v1", 1, latest=True)).entries, ["v1"])
        assert isinstance(step, Step) and step.op is Op.DELETE and step.expect == "v1"

    def test_edit_over_a_delete_reverts_to_deleted(self) -> None:
        """An edit that beat a delete goes back to the delete marker, not the old content."""
        entries = history("f", v("v2", 9, latest=True), m("m1", 5), v("v1", 1)).entries
        step = plan_revert("f", entries, ["v2"])
        assert isinstance(step, Step) and step.op is Op.DELETE

    def test_delete_is_restored(self) -> None:
        """A delete the run made brings the hidden version back."""
        entries = history("f", m("m1", 5, latest=True), v("v1", 1)).entries
        step = plan_revert("f", entries, ["m1"])
        assert isinstance(step, Step) and step.op is Op.COPY
        assert step.source.version_id == "v1"  # type: ignore[union-attr]

    def test_changed_since_is_left_alone(self) -> None:
        """A key someone changed after the run is not touched."""
        entries = history("f", v("v3", 9, latest=True), v("v2", 5), v("v1", 1)).entries
        skip = plan_revert("f", entries, ["v2"])
        assert isinstance(skip, Skip) and "since that run" in skip.reason

    def test_purged_version(self) -> None:
        """The run's version gone from history: a clear skip."""
        skip = plan_revert("f", history("f", v("v1", 1, latest=True)).entries, ["vX"])
        assert isinstance(skip, Skip) and "purged" in skip.reason
