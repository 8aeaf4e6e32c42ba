"""CPU time of a process from /proc, to show which side of a benchmark was the bottleneck."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TypeVar

Load = TypeVar("Load")
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of ``pid`` and its waited-for children so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    utime, stime = int(fields[11]), int(fields[12])
    return (utime + stime) / TICKS


IDLE_SECONDS = 3  # each process's idle rate, measured before the load
WARMUP_SECONDS = 5  # k6's login, first connections, lazy imports: left out of the window
MIN_SECONDS = WARMUP_SECONDS + 2  # the warm-up, a window of at least 1 s, and 1 s to spare


def busy_in_steady_window(
    pids: Mapping[str, int],
    count: Callable[[], float],
    start_load: Callable[[], Load],
    seconds: int,
) -> tuple[dict[str, float], float, float, Load]:
    """Each process's CPU seconds over the steady part of a load of ``seconds``, less its idle
    rate; also what ``count`` counted in that window, the window's length, and the load.

    The window opens WARMUP_SECONDS after ``start_load()`` and closes a second before the load
    ends; the caller waits for the load to finish."""
    if seconds < MIN_SECONDS:
        raise ValueError(f"the load must last at least {MIN_SECONDS} s, not {seconds}")

    def used() -> dict[str, float]:
        return {name: cpu_seconds(pid) for name, pid in pids.items()}

    before = used()
    time.sleep(IDLE_SECONDS)
    idle = {name: (now - before[name]) / IDLE_SECONDS for name, now in used().items()}
    load = start_load()
    time.sleep(WARMUP_SECONDS)
    started, before, counted_before = time.monotonic(), used(), count()
    time.sleep(seconds - WARMUP_SECONDS - 1)
    after, counted = used(), count() - counted_before
    elapsed = time.monotonic() - started
    busy = {name: max(after[name] - before[name] - idle[name] * elapsed, 0.0) for name in pids}
    return busy, counted, elapsed, load
