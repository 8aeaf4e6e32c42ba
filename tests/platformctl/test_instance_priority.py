"""A new instance starts at low CPU priority, for its session's scheduling group too, and gets
normal priority back once it answers /readyz (the supervisor's renice)."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest
from platformctl.local.processes import STARTUP_NICENESS, InstanceProcess
from platformctl.ports import free_port

# Answers 200 to everything once it has slept: a stand-in for an instance that is starting.
SERVER = """
import http.server, sys, time
time.sleep(float(sys.argv[2]))
class Ok(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200); self.end_headers()
    def log_message(self, *args): pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), Ok).serve_forever()
"""


def autogroup_nice(pid: int) -> int | None:
    path = Path(f"/proc/{pid}/autogroup")
    return int(path.read_text().split()[-1]) if path.exists() else None


def test_an_instance_is_niced_until_ready(tmp_path: Path) -> None:
    port = free_port()
    instance = InstanceProcess(
        name="stand-in",
        command=[sys.executable, "-c", SERVER, str(port), "1"],
        env=None,
        log=tmp_path / "stand-in.log",
        port=port,
    )
    instance.start()
    try:
        assert instance.pid is not None
        assert os.getpriority(os.PRIO_PROCESS, instance.pid) == STARTUP_NICENESS
        if autogroup_nice(instance.pid) is None:
            pytest.skip("this kernel has no autogroup scheduling")
        assert autogroup_nice(instance.pid) == STARTUP_NICENESS

        instance.restore_priority()  # not ready yet: stays niced
        assert not instance.reniced
        deadline = time.monotonic() + 20
        while not instance.reniced and time.monotonic() < deadline:
            time.sleep(0.1)
            instance.restore_priority()
        assert instance.reniced
        if os.geteuid() == 0:  # lowering a nice value takes privilege
            assert os.getpriority(os.PRIO_PROCESS, instance.pid) == 0
            assert autogroup_nice(instance.pid) == 0
    finally:
        instance.terminate(grace_seconds=1)
        assert instance.popen is not None
        instance.popen.wait(5)
