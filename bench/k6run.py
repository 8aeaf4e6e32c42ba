"""Run a k6 script as a subprocess and read back its JSON summary.

Scripts name their summary file from ``SUMMARY_FILE`` (the bench scripts) or from
``SUMMARY_DIR`` + ``SUMMARY_NAME`` (the k6/scenarios ones); both are set.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.stack import pinned

K6 = Path(sys.executable).parent / "k6"


@dataclass
class K6Result:
    exit_code: int
    summary: dict[str, Any]
    output: str

    def zero_downtime_figures(self) -> dict[str, object]:
        """What a drain or switch run reports: requests, failures, drops, p99, the k6 verdict."""
        failed = self.summary["metrics"]["http_req_failed"]["values"]
        return {
            "requests": self.metric("http_reqs", "count"),
            "failed_requests": failed["passes"],
            "dropped_iterations": self.metric("dropped_iterations", "count"),
            "checks_rate": self.metric("checks", "rate"),
            "p99_ms": self.metric("http_req_duration", "p(99)"),
            "k6_exit_code": self.exit_code,
            "crossed_thresholds": self.summary["platform"]["failedThresholds"],
        }

    def metric(self, name: str, stat: str, default: float = 0.0) -> float:
        metric = self.summary["metrics"].get(name)
        return float(metric["values"].get(stat, default)) if metric else default


class K6Process:
    """A k6 run in the background, for benchmarks that act while the load runs."""

    def __init__(
        self,
        script: Path,
        env: Mapping[str, object],
        summary_file: Path,
        *,
        cpus: str | None = None,
    ) -> None:
        summary_file.parent.mkdir(parents=True, exist_ok=True)
        summary_file.unlink(missing_ok=True)
        self.summary_file = summary_file
        variables = {
            **env,
            "SUMMARY_FILE": summary_file,
            "SUMMARY_DIR": summary_file.parent,
            "SUMMARY_NAME": summary_file.stem,
        }
        command = [str(K6), "run", "--quiet", "--no-color"]
        for name, value in variables.items():
            command += ["-e", f"{name}={value}"]
        command.append(str(script))
        # A file, not a pipe: a run full of failed requests logs more than a pipe holds.
        self.log_file = summary_file.with_suffix(".log")
        with self.log_file.open("w") as log:
            self.process = subprocess.Popen(
                pinned(command, cpus), stdout=subprocess.DEVNULL, stderr=log
            )

    def wait(self, timeout: float = 600) -> K6Result:
        self.process.wait(timeout=timeout)
        stderr = self.log_file.read_text(errors="replace")[-4000:]
        if not self.summary_file.exists():
            raise RuntimeError(f"k6 wrote no summary (exit {self.process.returncode}):\n{stderr}")
        summary = json.loads(self.summary_file.read_text())
        return K6Result(self.process.returncode, summary, stderr)


def run_k6(
    script: Path,
    env: Mapping[str, object],
    summary_file: Path,
    *,
    cpus: str | None = None,
    timeout: float = 600,
) -> K6Result:
    return K6Process(script, env, summary_file, cpus=cpus).wait(timeout)
