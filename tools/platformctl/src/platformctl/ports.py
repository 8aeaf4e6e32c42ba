"""Free loopback ports for processes this one is about to start."""

from __future__ import annotations

import socket
import threading

# The kernel may hand the same ephemeral port to two bind(0) calls once the first socket is
# closed, and the process meant to take the first has not bound it yet: two servers started
# together then collide. Never hand out a port twice from one process.
_handed_out: set[int] = set()
_lock = threading.Lock()
ATTEMPTS = 50


def free_port() -> int:
    """An ephemeral loopback port, free a moment ago and not yet given to anyone here."""
    with _lock:
        for _ in range(ATTEMPTS):
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
                sock.bind(("127.0.0.1", 0))
                port = int(sock.getsockname()[1])
            if port not in _handed_out:
                _handed_out.add(port)
                return port
    raise RuntimeError(f"no fresh loopback port in {ATTEMPTS} attempts")
