"""Benchmark 5: the local promote and rollback, under load, through `platformctl`.

A throwaway platform (``PLATFORMCTL_HOME`` in the bench folder, ephemeral ports, old color kept
up) runs blue; green gets a new version with ``platformctl deploy all``. The zero-downtime k6
scenario then runs through the live ports while ``platformctl promote all --skip-analysis``
flips every service to green and ``platformctl rollback all`` flips it back. The command
durations are the switch and rollback times; k6 counts the failed requests.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.k6run import K6Process
from bench.plan import Plan
from bench.stack import REPO_ROOT, Stack

PLATFORMCTL = Path(sys.executable).parent / "platformctl"
SCRIPT = REPO_ROOT / "k6" / "scenarios" / "zero-downtime.js"


def run(plan: Plan, stack: Stack, workdir: Path) -> dict[str, Any]:
    del stack  # the platform under test is platformctl's own
    home = workdir / "platform"
    shutil.rmtree(home, ignore_errors=True)  # a fresh platform: no state or logs of a past run
    env = {**os.environ, "PLATFORMCTL_HOME": str(home)}

    def platformctl(*args: str, timeout: float = 180) -> float:
        started = time.perf_counter()
        done = subprocess.run(
            [str(PLATFORMCTL), *args], env=env, capture_output=True, text=True, timeout=timeout
        )
        if done.returncode != 0:
            raise RuntimeError(f"platformctl {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
        return time.perf_counter() - started

    def live_colors() -> dict[str, str]:
        done = subprocess.run(
            [str(PLATFORMCTL), "status", "--json"], env=env, capture_output=True, text=True
        )
        services = json.loads(done.stdout)["services"]
        status.update(services)
        return {name: view["live"] for name, view in services.items()}

    status: dict[str, Any] = {}
    platformctl("up", "--ephemeral-ports", "--scale-down-delay", "-1", timeout=300)
    try:
        platformctl("deploy", "all", "--version", "bench-green")
        colors = {"before": live_colors()}
        load = K6Process(
            SCRIPT,
            {
                "RATE": plan.switch_rate,
                # VUs up front for latency spikes, so k6 never drops an iteration for want of one.
                "PRE_VUS": 4 * plan.switch_rate,
                "MAX_VUS": 8 * plan.switch_rate,
                "DURATION": f"{plan.switch_seconds}s",
                "AUTH_URL": status["auth"]["live_url"],
                "ORDERS_URL": status["orders"]["live_url"],
                "PASSWORD_FILE": home / "secrets" / "dev_alice_password",
            },
            workdir / "switch.json",
        )
        time.sleep(plan.switch_seconds / 4)
        promote_s = platformctl("promote", "all", "--skip-analysis")
        colors["promoted"] = live_colors()
        time.sleep(plan.switch_seconds / 4)
        rollback_s = platformctl("rollback", "all")
        colors["rolled_back"] = live_colors()
        result = load.wait()
    finally:
        platformctl("down", timeout=120)
    return {
        "rate": plan.switch_rate,
        "seconds": plan.switch_seconds,
        **result.zero_downtime_figures(),
        "promote_s": promote_s,
        "rollback_s": rollback_s,
        "live_colors": colors,
    }
