"""A k6 load that covers a piece of work and ends when the work does.

A load sized by a fixed duration is a guess at how long the work under it takes: too short and
the end of the work runs unloaded, too long and the test waits on a load that covers nothing.
Here a load's duration is only a bound, and the test stops it once its work is done, as Ctrl-C
would: k6 ends its scenarios, writes its summary with every threshold evaluated, and exits
``STOPPED``. Requests still in flight at that moment are left out of the summary (k6 records no
metric for an interrupted iteration), so they can neither pass nor fail.
"""

from __future__ import annotations

import signal
import subprocess
import time
from typing import Any

STOPPED = 105  # k6's exit code for a run ended by a signal (ExternalAbort)
BOUND = "5m"  # a load's duration: it only caps one that is never stopped


def covered(load: subprocess.Popen, started: float) -> float:
    """The seconds since ``started`` (``time.monotonic()``) of work that ran under ``load``.
    Fails if the load has already ended: its bound was too short, and the end of the work ran
    unloaded."""
    seconds = round(time.monotonic() - started, 1)
    if load.poll() is not None:
        raise AssertionError(
            f"the load ended (k6 exit {load.returncode}) before the work it covers, "
            f"{seconds} s in: raise its bound"
        )
    return seconds


def stop(load: subprocess.Popen, timeout: float = 60) -> str:
    """Stop ``load`` if it still runs, wait for it to end, and return its output. One SIGINT
    only: a second one makes k6 quit at once, without its summary."""
    if load.poll() is None:
        load.send_signal(signal.SIGINT)
    output, _ = load.communicate(timeout=timeout)
    return output or ""


def crossed_thresholds(summary: dict[str, Any]) -> list[str]:
    """The thresholds a ``handleSummary`` document marks crossed, as ``metric: expression``."""
    return [
        f"{name}: {expression}"
        for name, metric in summary["metrics"].items()
        for expression, result in (metric.get("thresholds") or {}).items()
        if not result["ok"]
    ]


def run_seconds(summary: dict[str, Any]) -> float:
    """How long the run lasted, from a ``handleSummary`` document."""
    return float(summary["state"]["testRunDurationMs"]) / 1000
