"""Facts about the machine and the moment, recorded next to every figure."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

from bench.k6run import K6


def facts() -> dict[str, Any]:
    return {
        "date": now(),
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "kernel": platform.release(),
        "python": sys.version.split()[0],
        "packages": {
            name: version(name)
            for name in ("fastapi", "uvicorn", "starlette", "pydantic", "uvloop", "httptools")
        },
        "k6": subprocess.run([str(K6), "version"], capture_output=True, text=True).stdout.split()[
            1
        ],
        "load_average": load_average(),
    }


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _k6_version() -> str:
    done = subprocess.run([str(K6), "version"], capture_output=True, text=True, check=False)
    return done.stdout.split()[1]


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"
