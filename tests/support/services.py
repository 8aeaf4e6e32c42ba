"""Start the platform's services as real uvicorn processes on loopback, for tests.

with ServiceStack.start(tmp_path, payments_replicas=2) as stack:
    token = stack.user_token()
    httpx.post(stack.url("orders") + "/v1/orders", ...)
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from auth_service.devsecrets import DevCredentials, ensure_dev_secrets
from platformctl.local.processes import uvicorn_command

from tests.support.ports import free_port

SERVICES = ("auth", "payments", "notifications", "orders")


@dataclass
class ServiceProcess:
    name: str
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_ready(self, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"{self.name} exited with {self.process.returncode}:\n{self.log()}"
                )
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(self.url + "/readyz", timeout=1).status_code == 200:
                    return
            time.sleep(0.05)
        raise TimeoutError(f"{self.name} not ready after {timeout}s:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text() if self.log_path.exists() else ""

    def terminate(self, timeout: float = 15.0) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        return self.process.returncode


def start_service(
    name: str,
    *,
    port: int | None = None,
    env: dict[str, str] | None = None,
    log_dir: Path,
    drain_timeout: float = 10.0,
) -> ServiceProcess:
    port = port or free_port()
    log_path = log_dir / f"{name}-{port}.log"
    command = uvicorn_command(name, port, drain_timeout)
    full_env = {**os.environ, "SERVICE_ENVIRONMENT": "test", **(env or {})}
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, env=full_env, stdout=log, stderr=subprocess.STDOUT)
    return ServiceProcess(name, port, process, log_path)


@dataclass
class ServiceStack:
    """The four services wired together, each on its own free port."""

    credentials: DevCredentials
    processes: dict[str, list[ServiceProcess]] = field(default_factory=dict)
    ports: dict[str, int] = field(default_factory=dict)
    log_dir: Path = Path(".")
    base_env: dict[str, str] = field(default_factory=dict)

    @classmethod
    @contextlib.contextmanager
    def start(
        cls,
        workdir: Path,
        *,
        payments_replicas: int = 1,
        extra_env: dict[str, dict[str, str]] | None = None,
    ) -> Iterator[ServiceStack]:
        credentials = ensure_dev_secrets(workdir / "secrets")
        log_dir = workdir / "logs"
        log_dir.mkdir(parents=True, exist_ok=True)
        ports = {name: free_port() for name in SERVICES}
        base_env = {
            "SERVICE_SECRETS_DIR": str(credentials.secrets_dir),
            "SERVICE_AUTH_URL": f"http://127.0.0.1:{ports['auth']}",
            "ORDERS_PAYMENTS_URL": f"http://127.0.0.1:{ports['payments']}",
            "ORDERS_NOTIFICATIONS_URL": f"http://127.0.0.1:{ports['notifications']}",
        }
        stack = cls(credentials, {}, ports, log_dir, base_env)
        try:
            for name in SERVICES:
                replicas = payments_replicas if name == "payments" else 1
                env = {**base_env, **(extra_env or {}).get(name, {})}
                stack.processes[name] = [
                    start_service(name, port=ports[name], env=env, log_dir=log_dir)
                ]
                # Extra replicas listen on their own ports; `url()` is the first one.
                stack.processes[name] += [
                    start_service(name, env=env, log_dir=log_dir) for _ in range(replicas - 1)
                ]
            for group in stack.processes.values():
                for process in group:
                    process.wait_ready()
            yield stack
        finally:
            stack.stop()

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    def logged(self, service: str, request_id: str, timeout: float = 5.0) -> list[dict[str, Any]]:
        """The service's JSON log lines (all its processes) for ``request_id``, once any is
        there. An access line waits up to 20 ms to share a write (servicekit's ``AccessLog``),
        so it can reach the file after the client has its answer."""
        deadline = time.monotonic() + timeout
        while True:
            found = [
                entry
                for process in self.processes[service]
                for line in process.log().splitlines()
                if line.startswith("{")
                and (entry := json.loads(line)).get("request_id") == request_id
            ]
            if found or time.monotonic() > deadline:
                return found
            time.sleep(0.05)

    def stop(self) -> None:
        for group in self.processes.values():
            for process in group:
                if process.process.poll() is None:
                    process.process.send_signal(signal.SIGTERM)
        for group in self.processes.values():
            for process in group:
                process.terminate()

    def user_token(self, scope: str | None = None) -> str:
        form = {
            "grant_type": "password",
            "username": self.credentials.username,
            "password": self.credentials.password,
        }
        if scope:
            form["scope"] = scope
        response = httpx.post(self.url("auth") + "/v1/token", data=form, timeout=5)
        response.raise_for_status()
        return str(response.json()["access_token"])

    def service_token(self, scope: str = "payments:charge notifications:send") -> str:
        form = {
            "grant_type": "client_credentials",
            "client_id": "orders",
            "client_secret": self.credentials.client_secrets["orders"],
            "scope": scope,
        }
        response = httpx.post(self.url("auth") + "/v1/token", data=form, timeout=5)
        response.raise_for_status()
        return str(response.json()["access_token"])
