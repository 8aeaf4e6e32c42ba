"""The two slow checks run as subprocesses started at the beginning of the session, so they
use the second core while the in-process render tests run: checkov over the rendered
manifests, and each service's real app describing itself."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tests.support.helm_render import Object

CHECKOV = Path(sys.executable).with_name("checkov")

# Each app is built by its own create_app() in its own interpreter (the apps register their
# metrics in prometheus_client's process-global registry, so two cannot share a process).
_DESCRIBE_APP = """
import importlib, json, sys
from fastapi.testclient import TestClient
service, method, path = sys.argv[1:4]
app = importlib.import_module(f"{service}_service.main").create_app()
operations = {p: sorted(ops) for p, ops in app.openapi()["paths"].items()}
with TestClient(app) as client:
    status = client.request(method, path).status_code
print("\\n" + json.dumps({"operations": operations, "status": status}), flush=True)
"""


@dataclass(frozen=True)
class ServiceApp:
    """What a service's real app says about itself: its OpenAPI operations, and the status it
    answers the helm test's API call with."""

    operations: dict[str, set[str]]
    api_check_status: int


def _start(command: list[str], **kwargs: Any) -> subprocess.Popen[str]:
    return subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs
    )


def _finish(run: subprocess.Popen[str], what: str, timeout: float) -> str:
    stdout, stderr = run.communicate(timeout=timeout)
    assert stdout and run.returncode in (0, 1), f"{what} failed:\n{stderr[-2000:]}"
    return stdout


class ServiceApps:
    """Describe every service's app, one interpreter each, all at once."""

    def __init__(self, api_checks: Mapping[str, Mapping[str, Any]]) -> None:
        self._runs = {
            service: _start(
                [sys.executable, "-c", _DESCRIBE_APP, service, check["method"], check["path"]]
            )
            for service, check in api_checks.items()
        }

    def result(self) -> dict[str, ServiceApp]:
        apps = {}
        for service, run in self._runs.items():
            stdout = _finish(run, f"the {service} app", timeout=180)
            assert run.returncode == 0, f"the {service} app failed"
            report = json.loads(stdout.strip().splitlines()[-1])
            apps[service] = ServiceApp(
                operations={p: {m.upper() for m in ops} for p, ops in report["operations"].items()},
                api_check_status=report["status"],
            )
        return apps

    def stop(self) -> None:
        for run in self._runs.values():
            if run.poll() is None:
                run.kill()
                run.communicate()


class Checkov:
    """One checkov run, without skips, over the distinct objects of the given renders."""

    def __init__(self, renders: Iterable[tuple[str, list[Object]]], directory: Path) -> None:
        seen: set[str] = set()
        for name, objects in renders:
            # Objects identical to one of an earlier render add nothing but time.
            distinct = []
            for obj in objects:
                if (text := json.dumps(obj, sort_keys=True)) not in seen:
                    seen.add(text)
                    distinct.append(obj)
            (directory / f"{name}.yaml").write_text(yaml.safe_dump_all(distinct))
        self.objects = len(seen)
        env = {**os.environ, "BC_SKIP_MAPPING": "TRUE", "CHECKOV_NO_TELEMETRY": "1"}
        command = [str(CHECKOV), "-d", str(directory), "--framework", "kubernetes"]
        self._run = _start([*command, "--skip-download", "-o", "json"], env=env)

    def result(self) -> dict[str, Any]:
        """checkov's results (passed_checks, failed_checks, skipped_checks) and summary."""
        report = json.loads(_finish(self._run, "checkov", timeout=300))
        return {**report["results"], "summary": report["summary"]}

    def stop(self) -> None:
        if self._run.poll() is None:
            self._run.kill()
            self._run.communicate()
