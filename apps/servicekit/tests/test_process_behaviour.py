"""Settings refusal, fault switches and graceful drain, each on a real uvicorn process."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.support.services import start_service

UVICORN = str(Path(sys.executable).with_name("uvicorn"))
EMAIL = {"channel": "email", "recipient": "a@example.com", "template": "welcome", "data": {}}


def run_factory(module: str, env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [UVICORN, f"{module}.main:create_app", "--factory", "--port", "0"],
        env={**os.environ, "SERVICE_SECRETS_DIR": str(tmp_path / "none"), **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_production_auth_without_a_signing_key_refuses_to_start(tmp_path):
    result = run_factory("auth_service", {"SERVICE_ENVIRONMENT": "production"}, tmp_path)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert lines == [
        "configuration error: AUTH_SIGNING_KEY is required when SERVICE_ENVIRONMENT=production"
    ]


def test_production_refuses_fault_injection(tmp_path):
    env = {"SERVICE_ENVIRONMENT": "production", "SERVICE_FAULT_ERROR_RATE": "0.5"}
    result = run_factory("payments_service", env, tmp_path)
    assert result.returncode != 0
    assert result.stderr.strip() == (
        "configuration error: SERVICE_FAULT_* must be off when SERVICE_ENVIRONMENT=production"
    )


def test_an_invalid_setting_is_named(tmp_path):
    result = run_factory("payments_service", {"SERVICE_COLOR": "purple"}, tmp_path)
    assert result.returncode != 0
    assert result.stderr.strip().startswith("configuration error: SERVICE_COLOR:")


@pytest.fixture
def faulty(stack, tmp_path):
    """Start notifications processes with fault settings, all at once (startup is the cost)."""
    started = []

    def start(**faults: str):
        env = {**stack.base_env, **{f"SERVICE_FAULT_{k.upper()}": v for k, v in faults.items()}}
        process = start_service("notifications", env=env, log_dir=tmp_path)
        started.append(process)
        return process

    yield start
    for process in started:
        process.terminate()


def send(process, token):
    return httpx.post(
        process.url + "/v1/notifications",
        json=EMAIL,
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )


def test_fault_switches(faulty, service_token):
    later = faulty(error_rate="1.0", after_seconds="10")
    errors = faulty(error_rate="1.0")
    slow = faulty(latency_ms="400")
    broken = faulty(startup_fail="true")

    # Delayed fault: healthy first (the clock starts when the process starts serving)...
    later.wait_ready()
    assert send(later, service_token).status_code == 202
    for process in (errors, slow):
        process.wait_ready()

    # Error rate: every API request is a 500 problem; probes stay healthy.
    response = send(errors, service_token)
    assert response.status_code == 500
    assert response.json()["type"].endswith("/injected-fault")
    assert httpx.get(errors.url + "/readyz").status_code == 200
    assert 'status="5xx"' in httpx.get(errors.url + "/metrics").text  # counted as errors

    # Latency: added to API requests only.
    started = time.perf_counter()
    assert send(slow, service_token).status_code == 202
    assert time.perf_counter() - started >= 0.4
    started = time.perf_counter()
    httpx.get(slow.url + "/healthz")
    assert time.perf_counter() - started < 0.4

    # ...and failing once the delay has passed.
    deadline = time.monotonic() + 30
    while send(later, service_token).status_code != 500:
        assert time.monotonic() < deadline, "the delayed fault never switched on"
        time.sleep(0.5)

    # Startup failure: the process exits non-zero and never becomes ready.
    assert broken.process.wait(60) != 0
    assert "injected startup failure" in broken.log()


def test_sigterm_drains_in_flight_requests(stack, tmp_path, service_token):
    env = {
        **stack.base_env,
        "SERVICE_FAULT_LATENCY_MS": "2000",
        "SERVICE_SHUTDOWN_DELAY_SECONDS": "1",
    }
    process = start_service("notifications", env=env, log_dir=tmp_path, drain_timeout=8)
    process.wait_ready()
    result: dict[str, httpx.Response] = {}
    in_flight = threading.Thread(target=lambda: result.update(r=send(process, service_token)))
    in_flight.start()
    time.sleep(0.5)  # the slow request is now in flight

    sent = time.monotonic()
    process.process.send_signal(signal.SIGTERM)
    readiness = httpx.get(process.url + "/readyz", timeout=5)
    assert readiness.status_code == 503
    assert readiness.json()["status"] == "draining"

    in_flight.join(15)
    assert result["r"].status_code == 202
    process.process.wait(15)
    exited_after = time.monotonic() - sent
    assert exited_after < 8, f"took {exited_after:.1f}s, beyond the drain timeout"
    events = [json.loads(line)["event"] for line in process.log().splitlines() if line[:1] == "{"]
    assert "shutdown" in events


def test_a_started_service_freezes_its_start_up_heap(stack, tmp_path):
    """The objects start-up made are out of the collector's reach (servicekit/heap.py), so an
    oldest-generation collection no longer stops the event loop for tens of milliseconds."""
    process = start_service("notifications", env=stack.base_env, log_dir=tmp_path)
    try:
        process.wait_ready()
        (started,) = [
            event
            for line in process.log().splitlines()
            if line.startswith("{") and (event := json.loads(line)).get("event") == "started"
        ]
    finally:
        process.terminate()
    # FastAPI, pydantic, aiohttp and the app: about 86,000 objects in notifications.
    assert started["frozen"] > 50_000, started
