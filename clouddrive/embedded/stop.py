"""Stopping an embedded server and cleaning up the socket files weed leaves behind."""

from __future__ import annotations

import contextlib
import socket
import subprocess
from pathlib import Path

import psutil

from clouddrive.embedded.process import CHILDREN, pid_alive, unix_sockets_of, wait_gone
from clouddrive.errors import EmbeddedServerError

__all__ = ["kill_child", "remove_stale_sockets", "stop_server"]


def stop_server(pid: int, timeout: float = 10.0) -> None:
    """Stop the server with process id `pid`: terminate, wait `timeout` s, then kill.

    Only that one process is signalled (weed mini is a single process). SIGTERM lets weed
    flush its filer store and volume indexes; SIGKILL is the last resort. A process that is
    already gone is not an error. Raises EmbeddedServerError if it cannot be stopped.
    """
    proc = CHILDREN.pop(pid, None)
    if not pid_alive(pid, proc):
        return
    leftovers = unix_sockets_of(pid)
    try:
        process = psutil.Process(pid)
        process.terminate()
        if not wait_gone(pid, proc, timeout):
            process.kill()
            if not wait_gone(pid, proc, 5.0):
                raise EmbeddedServerError(f"the embedded SeaweedFS server (pid {pid}) did not stop")
    except psutil.NoSuchProcess:
        pass
    except psutil.AccessDenied as exc:
        raise EmbeddedServerError(f"not allowed to stop process {pid}: {exc}") from exc
    remove_stale_sockets(leftovers())


def kill_child(proc: subprocess.Popen[bytes]) -> None:
    """Kill a server that failed to start; it holds no data worth a graceful stop."""
    if proc.poll() is None:
        leftovers = unix_sockets_of(proc.pid)
        proc.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=10)
        remove_stale_sockets(leftovers())


def remove_stale_sockets(paths: list[Path]) -> None:
    """Unlink the given socket files unless something (a newer server) now listens there."""
    if not hasattr(socket, "AF_UNIX"):
        return
    for path in paths:
        with contextlib.suppress(OSError), socket.socket(socket.AF_UNIX) as probe:
            try:
                probe.connect(str(path))
            except ConnectionRefusedError:
                path.unlink()
