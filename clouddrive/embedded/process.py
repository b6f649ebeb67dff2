"""Process identity of embedded servers, through psutil: alive, ours, the sockets it holds.

A pid recorded in a state file may belong to an unrelated process after a reboot; such a
process must be neither trusted nor signalled, so "is this our weed" checks its command line.
Servers started by this very process are kept in `CHILDREN` so they can be reaped (no
zombies, no ResourceWarning) and waited on precisely.
"""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import psutil

__all__ = ["CHILDREN", "is_our_weed", "pid_alive", "unix_sockets_of", "wait_gone"]

CHILDREN: dict[int, subprocess.Popen[bytes]] = {}

_PORT_ARG = re.compile(r"-[\w.]*port[\w.]*=(\d+)$")
_SOCKET_DIR = Path("/tmp")


def pid_alive(pid: int, proc: subprocess.Popen[bytes] | None = None) -> bool:
    """Whether process `pid` exists and is not a zombie."""
    if pid <= 0:
        return False
    proc = proc or CHILDREN.get(pid)
    if proc is not None:
        return proc.poll() is None
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:  # includes ZombieProcess
        return False
    except psutil.AccessDenied:
        return True  # exists, but belongs to another user


def is_our_weed(pid: int, data_dir: Path) -> bool | None:
    """Whether `pid` is a `weed mini` serving `data_dir`; None when that cannot be told."""
    try:
        args = psutil.Process(pid).cmdline()
    except psutil.NoSuchProcess:
        return False
    except psutil.AccessDenied:
        return None
    return (
        bool(args)
        and Path(args[0]).name.startswith("weed")
        and "mini" in args
        and f"-dir={data_dir}" in args
    )


def wait_gone(pid: int, proc: subprocess.Popen[bytes] | None, timeout: float) -> bool:
    """Wait up to `timeout` s for `pid` to exit (reaping it if it is our child).

    A zombie counts as gone: another process that started the server may reap it late.
    """
    if proc is not None:
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return False
        return True
    deadline = time.monotonic() + timeout
    while pid_alive(pid):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)
    return True


def unix_sockets_of(pid: int) -> Callable[[], list[Path]]:
    """A finder, to call once `pid` is gone, of the Unix socket files it leaves behind.

    weed creates one per gRPC service as /tmp/seaweedfs-<service>-<port>.sock and leaves
    several behind when it exits; they would pile up. Some bind late (the admin worker's), so
    besides the sockets open now, the finder also globs the names made from the ports on
    weed's command line, after the process has exited.
    """
    try:
        process = psutil.Process(pid)
        # a Unix socket's address is its path (psutil's stubs only know the TCP tuple)
        addresses: list[object] = [conn.laddr for conn in process.net_connections(kind="unix")]
        args = process.cmdline()
    except psutil.Error:
        addresses, args = [], []
    open_now = {Path(a) for a in addresses if isinstance(a, str) and a.startswith("/")}
    ports = {m.group(1) for arg in args if (m := _PORT_ARG.match(arg))}

    def find() -> list[Path]:
        found = set(open_now)
        for port in ports:
            found.update(_SOCKET_DIR.glob(f"seaweedfs-*-{port}.sock"))
        return sorted(found)

    return find
