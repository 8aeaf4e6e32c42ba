"""A port `up` needs, held by another program: one error line naming the port, its role and the
holder, exit 1, and nothing started or saved."""

from __future__ import annotations

import os
import socket
from pathlib import Path

from platformctl.local.state import Ports
from platformctl.paths import Home

from tests.platformctl.conftest import Platform

ORDERS_LIVE = Ports().stable["orders"]  # 8002, a fixed port of `make up`


def test_a_port_in_use_is_named_with_its_holder_and_nothing_starts(tmp_path: Path) -> None:
    platform = Platform(tmp_path / "home")
    holder = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        holder.bind(("127.0.0.1", ORDERS_LIVE))
        holder.listen()
        ours = True
    except OSError:  # already held by someone else (a developer's `make up`): still in use
        ours = False
    try:
        result = platform.cli("up", timeout=60)
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        assert result.returncode == 1, result.stdout + result.stderr
        assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
        assert f"port {ORDERS_LIVE} (orders live) is in use" in lines[0]
        assert "--ephemeral-ports" in lines[0]
        if ours:
            assert f"by pid {os.getpid()} (" in lines[0]
        assert not Home(tmp_path / "home").state_file.exists()
    finally:
        holder.close()
        platform.cli("down", timeout=60)
