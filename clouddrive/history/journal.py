"""The drive's local journal of runs in progress: what a run set out to do, and each action
as it finishes, appended to `ROOT/.clouddrive/journal/<run id>.jsonl`.

Why local: a run killed at any moment (Ctrl-C, kill -9, a power cut) cannot write its S3
record any more, but every action it finished was appended here first. The next run of the
same drive reads the journal and completes the record on S3 (`RunLog.complete_unfinished`),
so `deleted`, `activity` and `undo` see the interrupted run's actions and its user.

Line 1 is the record as started (`RunRecord.to_json`, with the process that runs it); each
further line is `{"done": action}` or `{"failed": {...}}`. A torn last line (killed
mid-write) is ignored. A journal whose process is still alive (another clouddrive on the same
drive: a watch, the app) belongs to a run in progress, never to an interrupted one.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

import psutil

from clouddrive.history.records import RunAction, RunRecord

__all__ = ["RunJournal"]

log = logging.getLogger("clouddrive")


def _this_process() -> dict[str, Any]:
    return {"pid": os.getpid(), "pid_started": psutil.Process().create_time()}


def _alive(header: dict[str, Any]) -> bool:
    """Is the process that wrote this journal still running (the same process, not a new
    one that got its pid)?"""
    pid, started = header.get("pid"), header.get("pid_started")
    if not isinstance(pid, int) or not isinstance(started, int | float):
        return False
    try:
        return abs(psutil.Process(pid).create_time() - started) < 1.0
    except (psutil.Error, OSError):
        return False


class RunJournal:
    """One folder of `<run id>.jsonl` files; thread-safe appends."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._lock = threading.Lock()
        #: the open journal of each run being appended to: one open per run, not per action
        #: (an open and close per finished file was a measurable part of a small transfer)
        self._open: dict[str, TextIO] = {}
        self._holding = False  #: inside `grouped`: appends are flushed when it ends

    def _path(self, run_id: str) -> Path:
        return self.folder / f"{run_id}.jsonl"

    def begin(self, record: RunRecord) -> None:
        """Start (or restart) a run's journal with its record as planned, done actions kept."""
        header = {**record.to_json(), "relkey": record.relkey, **_this_process()}
        lines = [json.dumps(header)]
        lines += [json.dumps({"done": a.to_json()}) for a in record.actions]
        lines += [json.dumps({"failed": f}) for f in record.failed]
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self._path(record.run_id)
        tmp = path.with_name(f".{path.name}.tmp")
        with self._lock:
            self._close(record.run_id)
            tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
            os.replace(tmp, path)

    def _append(self, run_id: str, entry: dict[str, Any]) -> None:
        """One line, written through to the OS at once (a kill right after loses nothing),
        or at the end of the `grouped` block it is written in."""
        line = json.dumps(entry) + "\n"
        with self._lock:
            fh = self._open.get(run_id)
            if fh is None:
                fh = self._open[run_id] = self._path(run_id).open("a", encoding="utf-8")
            fh.write(line)
            if not self._holding:
                fh.flush()

    @contextlib.contextmanager
    def grouped(self) -> Iterator[None]:
        """Lines appended inside reach the OS together when it ends: one write for a group
        of outcomes rather than one per line (see `StateStore.grouped` for why)."""
        with self._lock:
            nested, self._holding = self._holding, True
        try:
            yield
        finally:
            if not nested:
                with self._lock:
                    self._holding = False
                    for fh in self._open.values():
                        fh.flush()

    def close(self, run_id: str) -> None:
        """Stop appending to a run's journal (it stays on disk)."""
        with self._lock:
            self._close(run_id)

    def _close(self, run_id: str) -> None:
        fh = self._open.pop(run_id, None)
        if fh is not None:
            fh.close()

    def done(self, run_id: str, action: RunAction) -> None:
        self._append(run_id, {"done": action.to_json()})

    def failed(self, run_id: str, failure: dict[str, Any]) -> None:
        self._append(run_id, {"failed": failure})

    def end(self, run_id: str) -> None:
        """The run's record is complete on S3: forget its journal."""
        with self._lock:
            self._close(run_id)
            self._path(run_id).unlink(missing_ok=True)

    def load(self, run_id: str, *, live: bool = True) -> RunRecord | None:
        """The run as journalled: its record with every finished action (None if absent,
        or, with `live=False`, if the process running it is still alive)."""
        try:
            text = self._path(run_id).read_text(encoding="utf-8")
        except OSError:
            return None
        lines = text.splitlines()
        if not lines:
            return None
        try:
            header = json.loads(lines[0])
            if not live and _alive(header):
                return None
            record = RunRecord.from_json(header, header.get("relkey"))
        except (ValueError, TypeError, KeyError) as exc:
            log.warning("run journal %s is not valid: %s", run_id, exc)
            return None
        done: list[RunAction] = []
        failed: list[dict[str, Any]] = []
        for line in lines[1:]:
            try:
                entry = json.loads(line)
            except ValueError:
                continue  # a line torn by a kill
            if isinstance(entry.get("done"), dict):
                done.append(RunAction.from_json(entry["done"]))
            elif isinstance(entry.get("failed"), dict):
                failed.append(entry["failed"])
        return dataclasses.replace(record, actions=tuple(done), failed=tuple(failed))

    def pending(self) -> list[RunRecord]:
        """Every journalled run whose process is gone (oldest first): runs that were
        interrupted and are not yet completed on S3."""
        try:
            names = sorted(p.stem for p in self.folder.glob("*.jsonl"))
        except OSError:
            return []
        found = [r for r in (self.load(name, live=False) for name in names) if r is not None]
        return sorted(found, key=lambda r: r.started)
