"""Before `up` starts anything, every port it will listen on must be free.

Without this, a port taken by another program surfaced as "the supervisor exited at start",
whose log pointed to caddy's log, and only that one said "bind: address already in use". Now
`up` names each taken port, its role and, where /proc shows it, the pid and command holding it,
in one line, before anything starts or the state changes.
"""

from __future__ import annotations

import contextlib
import errno
import os
import socket
from pathlib import Path

from platformctl.backend import BackendError
from platformctl.local.state import Ports

LISTEN = "0A"  # the TCP state in /proc/net/tcp


def roles(ports: Ports) -> dict[int, str]:
    found = {port: f"{name} live" for name, port in ports.stable.items()}
    found |= {port: f"{name} preview" for name, port in ports.preview.items()}
    found[ports.prometheus] = "Prometheus"
    found[ports.caddy_admin] = "caddy admin API"
    return found


def in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # As a server binds: a connection lingering in TIME_WAIT does not hold the port.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                return True
            raise
    return False


def holder(port: int) -> str | None:
    """``pid N (command)`` of the process listening on ``port``, when /proc shows it."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                if fields[3] == LISTEN and int(fields[1].rsplit(":", 1)[1], 16) == port:
                    inodes.add(fields[9])
    if not inodes:
        return None
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            for fd in (proc / "fd").iterdir():
                link = os.readlink(fd)
                if link.startswith("socket:[") and link[8:-1] in inodes:
                    command = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
                    return f"pid {proc.name} ({command.strip()[:80]})"
    return None


def ensure_free(ports: Ports) -> None:
    """Raise one error naming every taken port, its role and its holder."""
    taken = []
    for port, role in sorted(roles(ports).items()):
        if in_use(port):
            who = holder(port)
            taken.append(f"{port} ({role}) is in use" + (f" by {who}" if who else ""))
    if taken:
        raise BackendError(
            f"port {'; port '.join(taken)}: stop it, or run `platformctl up --ephemeral-ports`"
        )
