"""Picking the loopback ports `weed mini` listens on.

Every port `weed mini` would open is chosen here, free, on 127.0.0.1 and passed explicitly:
its defaults (8333, 9333, 8888, ...) would collide with a second server (tests run several)
or with anything else on the machine, and explicit ports make weed fail instead of silently
moving to another one. A restarted server asks for the ports it had before (kept in its
state file), so drives and scripts that know its endpoint keep working; only a port that
something else took in the meantime is replaced.
"""

from __future__ import annotations

import socket
from collections.abc import Mapping

from clouddrive.errors import EmbeddedServerError

__all__ = ["ADMIN_GRPC_OFFSET", "HOST", "PORT_FLAGS", "choose_ports", "free_port"]

HOST = "127.0.0.1"

# Ports weed mini opens, each set to a free loopback port (see choose_ports).
PORT_FLAGS = (
    "master.port",
    "master.port.grpc",
    "volume.port",
    "volume.port.grpc",
    "filer.port",
    "filer.port.grpc",
    "s3.port",
    "s3.port.grpc",
    "webdav.port",  # WebDAV is disabled, but weed still checks this port is free
)
# weed 4.48's maintenance worker dials the admin gRPC server at admin.port + 10000 whatever
# -admin.port.grpc says, so the admin gRPC port must be exactly that.
ADMIN_GRPC_OFFSET = 10000
_ADMIN_TRIES = 200


def free_port(host: str = HOST) -> int:
    """Return a TCP port that is free on `host` right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


class _Holder:
    """Binds ports and keeps them bound, so the OS cannot hand out the same port twice."""

    def __init__(self) -> None:
        self.held: list[socket.socket] = []

    def grab(self, port: int = 0) -> int:
        """Bind `port` (0: any free one) and return it; OSError if it is taken."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            if port:
                # a port our previous server used may linger in TIME_WAIT; weed (Go) binds
                # with SO_REUSEADDR and gets it, so the probe must not call it taken
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((HOST, port))
            # a listening probe: a port that another program listens on stays refused
            sock.listen(1)
        except OSError:
            sock.close()
            raise
        self.held.append(sock)
        chosen: int = sock.getsockname()[1]
        return chosen

    def grab_preferred(self, port: int | None) -> int:
        """`port` if it is free, else any free port."""
        if port:
            try:
                return self.grab(port)
            except OSError:
                pass
        return self.grab()

    def release(self) -> None:
        for sock in self.held:
            sock.close()


def choose_ports(preferred: Mapping[str, int] | None = None) -> dict[str, int]:
    """Distinct free loopback ports for every port flag weed mini has.

    `preferred` are the ports of a previous run: each is kept if it is still free. All
    sockets stay bound until every port is chosen and are released just before weed starts.
    """
    wanted = dict(preferred or {})
    holder = _Holder()
    try:
        ports = {name: holder.grab_preferred(wanted.get(name)) for name in PORT_FLAGS}
        admin = wanted.get("admin.port")
        if admin and admin + ADMIN_GRPC_OFFSET <= 65535:
            try:
                holder.grab(admin)
                holder.grab(admin + ADMIN_GRPC_OFFSET)
                return {**ports, "admin.port": admin, "admin.port.grpc": admin + ADMIN_GRPC_OFFSET}
            except OSError:
                pass
        for _ in range(_ADMIN_TRIES):
            admin = holder.grab()
            if admin + ADMIN_GRPC_OFFSET > 65535:
                continue
            try:
                holder.grab(admin + ADMIN_GRPC_OFFSET)
            except OSError:
                continue
            return {**ports, "admin.port": admin, "admin.port.grpc": admin + ADMIN_GRPC_OFFSET}
        raise EmbeddedServerError(
            "could not find a free pair of loopback ports for the embedded server's admin service"
        )
    finally:
        holder.release()
