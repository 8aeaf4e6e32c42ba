"""`platformctl dashboards`: bad input and an unreachable Prometheus give one clear line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.support.ports import free_port

PLATFORMCTL = str(Path(sys.executable).with_name("platformctl"))


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([PLATFORMCTL, "dashboards", *args], capture_output=True, text=True)


def test_a_bad_time_range_is_refused():
    result = run("--since", "yesterday")
    assert result.returncode == 2
    assert "--since must look like 90s, 15m or 2h" in result.stderr


def test_an_unreachable_prometheus_is_one_line_and_exit_1(tmp_path):
    url = f"http://127.0.0.1:{free_port()}"
    result = run("--prometheus-url", url, "--since", "1m", "--out", str(tmp_path))
    assert result.returncode == 1
    assert result.stderr.strip().startswith("error: dashboard review failed:")
    assert "Traceback" not in result.stderr
