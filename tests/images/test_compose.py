"""docker-compose.yml for real: podman's compose (docker compose where a daemon answers) brings
up dev-secrets, the four services and Prometheus from the built images; an order succeeds
through the published ports, and Prometheus scrapes all four with their labels. Grafana's image
cannot be had here, so it is left out by name (docs/images.md)."""

from __future__ import annotations

import re
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from platform_images import SERVICES
from platform_images.build import PROMETHEUS_TAG
from platform_images.engine import REPO_ROOT, Engine

from tests.support.ports import free_port
from tests.support.tools import tool

COMPOSE_FILE = REPO_ROOT / "docker-compose.yml"
# Everything but grafana, whose image cannot be pulled here.
STARTED = ("dev-secrets", *SERVICES, "prometheus")


@dataclass
class ComposeProject:
    name: str
    ports: dict[str, int]
    command: list[str]
    env: dict[str, str]

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}"

    def run(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*self.command, "-f", str(COMPOSE_FILE), "-p", self.name, *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def logs(self, service: str) -> str:
        result = self.run("logs", service, timeout=60)
        return result.stdout + result.stderr


def compose_command(engine: Engine) -> list[str]:
    return ["docker", "compose"] if engine.name == "docker" else [tool("podman-compose")]


@pytest.fixture(scope="module")
def prometheus_image(engine: Engine) -> str:
    built = subprocess.run(
        [tool("platform-images"), "third-party", "prometheus", "--engine", engine.name],
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert built.returncode == 0, built.stdout + built.stderr
    return PROMETHEUS_TAG


@pytest.fixture(scope="module")
def project(engine: Engine, images, prometheus_image: str) -> Iterator[ComposeProject]:
    ports = {name: free_port() for name in (*SERVICES, "prometheus")}
    env = {
        **engine.environ(),
        "PROMETHEUS_IMAGE": prometheus_image,
        **{f"{name.upper()}_PORT": str(port) for name, port in ports.items()},
    }
    compose = ComposeProject(
        f"platform-test-{uuid.uuid4().hex[:6]}", ports, compose_command(engine), env
    )
    try:
        up = compose.run("up", "--detach", "--no-build", *STARTED)
        assert up.returncode == 0, up.stdout + up.stderr
        deadline = time.monotonic() + 90
        pending = set(SERVICES)
        while pending and time.monotonic() < deadline:
            for service in sorted(pending):
                try:
                    if httpx.get(compose.url(service) + "/readyz", timeout=1).status_code == 200:
                        pending.discard(service)
                except httpx.HTTPError:
                    pass
            time.sleep(0.25)
        assert not pending, {service: compose.logs(service)[-2000:] for service in pending}
        yield compose
    finally:
        compose.run("down", "--volumes", "--timeout", "5")


def dev_password(project: ComposeProject) -> str:
    # Compose may colour its log lines: take the password characters only.
    match = re.search(r"development user: alice / ([A-Za-z0-9_-]+)", project.logs("dev-secrets"))
    assert match, project.logs("dev-secrets")
    return match.group(1)


def test_an_order_succeeds_through_the_published_ports_and_retries_are_idempotent(
    project: ComposeProject,
) -> None:
    token = httpx.post(
        project.url("auth") + "/v1/token",
        data={"grant_type": "password", "username": "alice", "password": dev_password(project)},
        timeout=10,
    )
    assert token.status_code == 200, token.text
    headers = {
        "Authorization": f"Bearer {token.json()['access_token']}",
        "Idempotency-Key": f"compose-{uuid.uuid4().hex}",
    }
    order = {"items": [{"sku": "sku-coffee-beans", "quantity": 2}], "card_token": "tok_visa"}
    first = httpx.post(
        project.url("orders") + "/v1/orders", json=order, headers=headers, timeout=15
    )
    assert first.status_code == 201, first.text
    assert first.json()["status"] == "paid" and first.json()["notified"] is True
    again = httpx.post(
        project.url("orders") + "/v1/orders", json=order, headers=headers, timeout=15
    )
    assert again.status_code in (200, 201), again.text
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["charge_id"] == first.json()["charge_id"]


def test_prometheus_scrapes_all_four_with_service_and_color_labels(project: ComposeProject) -> None:
    deadline = time.monotonic() + 60
    up: dict[str, dict[str, str]] = {}
    while time.monotonic() < deadline and len(up) < len(SERVICES):
        with_targets = httpx.get(project.url("prometheus") + "/api/v1/targets", timeout=5)
        for target in with_targets.json()["data"]["activeTargets"]:
            labels = target["labels"]
            if labels.get("job") == "platform" and target["health"] == "up":
                up[labels["service"]] = labels
        time.sleep(1)
    assert sorted(up) == sorted(SERVICES)
    for labels in up.values():
        assert labels["color"] == "blue" and labels["namespace"] == "compose", labels
    # The services' own metrics arrive under those labels.
    query = httpx.get(
        project.url("prometheus") + "/api/v1/query",
        params={"query": 'count by (service, color) (up{job="platform"} == 1)'},
        timeout=5,
    ).json()["data"]["result"]
    assert {(r["metric"]["service"], r["metric"]["color"]) for r in query} == {
        (service, "blue") for service in SERVICES
    }
