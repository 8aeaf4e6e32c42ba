"""Run the built service images as real containers through the engine platform-images uses."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
from auth_service.devsecrets import ensure_dev_secrets
from platform_images.engine import Engine

from tests.support.ports import free_port

SERVICE_UID = 10001


@dataclass
class Container:
    engine: Engine
    name: str
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def inspect(self) -> dict:
        return json.loads(self.engine.run("container", "inspect", self.name).stdout)[0]

    def exec(self, *command: str) -> subprocess.CompletedProcess[str]:
        return self.engine.run("exec", self.name, *command, check=False)

    def logs(self) -> str:
        result = self.engine.run("logs", self.name, check=False)
        return result.stdout + result.stderr

    def running(self) -> bool:
        return bool(self.inspect()["State"]["Running"])

    def exit_code(self) -> int:
        return int(self.inspect()["State"]["ExitCode"])

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(self.url + "/readyz", timeout=1).status_code == 200:
                    return
            if not self.running():
                raise RuntimeError(f"{self.name} exited ({self.exit_code()}):\n{self.logs()}")
            time.sleep(0.1)
        raise TimeoutError(f"{self.name} not ready after {timeout:.0f}s:\n{self.logs()}")

    def remove(self) -> None:
        self.engine.run("rm", "--force", "--time", "0", self.name, check=False)


def dev_secrets(directory: Path) -> Path:
    """The development secrets, readable by the images' non-root user (as compose does)."""
    ensure_dev_secrets(directory)
    for path in (directory, *directory.iterdir()):
        os.chown(path, SERVICE_UID, SERVICE_UID)
    return directory


@contextlib.contextmanager
def network(engine: Engine) -> Iterator[str]:
    name = f"platform-test-{uuid.uuid4().hex[:8]}"
    engine.run("network", "create", name)
    try:
        yield name
    finally:
        engine.run("network", "rm", "--force", name, check=False)


def run(
    engine: Engine,
    image: str,
    *,
    network_name: str,
    secrets: Path,
    alias: str | None = None,
    env: dict[str, str] | None = None,
) -> Container:
    """Start a container as the chart runs a pod: read-only root, a tmpfs /tmp, secrets ro."""
    name = f"platform-test-{uuid.uuid4().hex[:10]}"
    port = free_port()
    args = [
        "run", "--detach", "--name", name,
        "--network", network_name,
        "--read-only", "--tmpfs", "/tmp",
        "--volume", f"{secrets}:/run/secrets:ro",
        "--publish", f"127.0.0.1:{port}:8080",
        "--env", "SERVICE_SECRETS_DIR=/run/secrets",
        "--env", "SERVICE_ENVIRONMENT=development",
        "--env", "SERVICE_AUTH_URL=http://auth:8080",
    ]  # fmt: skip
    if alias:
        args += ["--network-alias", alias]
    for key, value in (env or {}).items():
        args += ["--env", f"{key}={value}"]
    engine.run(*args, image)
    return Container(engine, name, port)
