"""Each service image, run by the real engine as the chart runs a pod: non-root, read-only root
with only a tmpfs /tmp, probes answering, a graceful drain on SIGTERM, nothing but its own
service inside, and a clear one-line refusal of a bad configuration."""

from __future__ import annotations

import concurrent.futures
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from platform_images import SERVICES
from platform_images.engine import Engine

from tests.images import containers

DRAIN_TIMEOUT_SECONDS = 10  # the image's SERVICE_DRAIN_TIMEOUT_SECONDS and uvicorn's flag
OTHER_PACKAGES = {s: [f"{o}_service" for o in SERVICES if o != s] for s in SERVICES}
DEV_TOOLS = ["pytest", "ruff", "k6", "schemathesis", "checkov", "helm_python", "platformctl"]


@pytest.fixture(scope="module", params=SERVICES)
def service(request, engine: Engine, images, network: str, secrets: Path, auth) -> Iterator:
    if request.param == "auth":
        yield auth
        return
    container = containers.run(engine, images[request.param], network_name=network, secrets=secrets)
    try:
        container.wait_ready()
        yield container
    finally:
        container.remove()


def test_runs_as_a_non_root_uid(service: containers.Container) -> None:
    assert service.exec("id", "-u").stdout.strip() == str(containers.SERVICE_UID)
    assert (
        service.inspect()["Config"]["User"] == f"{containers.SERVICE_UID}:{containers.SERVICE_UID}"
    )


def test_root_is_read_only_and_only_tmp_is_writable(service: containers.Container) -> None:
    mounts = {
        fields[1]: (fields[2], fields[3].split(","))
        for fields in (
            line.split() for line in service.exec("cat", "/proc/mounts").stdout.splitlines()
        )
    }
    _, root_options = mounts["/"]
    assert "ro" in root_options, mounts["/"]
    assert mounts["/tmp"][0] == "tmpfs" and "rw" in mounts["/tmp"][1]
    assert "ro" in mounts["/run/secrets"][1]
    for path in ("/opt/venv/probe", "/probe", "/home/probe"):
        refused = service.exec("touch", path)
        assert refused.returncode != 0 and "Read-only file system" in refused.stderr, path
    assert service.exec("touch", "/tmp/probe").returncode == 0


def test_probes_answer_once_auth_is_reachable(service: containers.Container) -> None:
    assert httpx.get(service.url + "/healthz", timeout=5).status_code == 200
    ready = httpx.get(service.url + "/readyz", timeout=5)
    assert ready.status_code == 200, ready.text
    assert ready.json()["pending"] == []


@pytest.mark.parametrize("name", SERVICES)
def test_image_holds_only_its_service_and_servicekit(engine: Engine, images, name: str) -> None:
    probe = (
        "import importlib.util as u, shutil, sys; "
        "missing = [m for m in sys.argv[1].split(',') if not u.find_spec(m)]; "
        "present = [m for m in sys.argv[2].split(',') if u.find_spec(m) or shutil.which(m)]; "
        "print(missing, present)"
    )
    wanted = f"{name}_service,servicekit,uvicorn,fastapi"
    unwanted = ",".join([*OTHER_PACKAGES[name], *DEV_TOOLS])
    result = engine.run(
        "run", "--rm", "--read-only", images[name], "python", "-c", probe, wanted, unwanted
    )
    assert result.stdout.strip() == "[] []", result.stdout + result.stderr


def _refusal(engine: Engine, image: str, env: dict[str, str], secrets: Path | None = None) -> str:
    """The one configuration-error line a container printed before exiting non-zero."""
    args = ["run", "--rm", "--read-only", "--env", "SERVICE_ENVIRONMENT=production"]
    if secrets:
        args += [
            "--volume",
            f"{secrets}:/run/secrets:ro",
            "--env",
            "SERVICE_SECRETS_DIR=/run/secrets",
        ]
    for key, value in env.items():
        args += ["--env", f"{key}={value}"]
    result = engine.run(*args, image, check=False, timeout=60)
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    errors = [line for line in output.splitlines() if "configuration error" in line]
    assert len(errors) == 1, output
    return errors[0]


# Only auth (signing key, users) and orders (its client secret) hold secrets.
@pytest.mark.parametrize(
    ("name", "setting"), [("auth", "AUTH_SIGNING_KEY"), ("orders", "ORDERS_CLIENT_SECRET")]
)
def test_production_without_its_secrets_exits_with_one_line(
    engine: Engine, images, name: str, setting: str
) -> None:
    line = _refusal(engine, images[name], {"SERVICE_SECRETS_DIR": "/nonexistent"})
    assert f"{setting} is required when SERVICE_ENVIRONMENT=production" in line


@pytest.mark.parametrize("name", SERVICES)
def test_production_with_a_fault_switched_on_exits_with_one_line(
    engine: Engine, images, name: str, secrets: Path
) -> None:
    line = _refusal(engine, images[name], {"SERVICE_FAULT_ERROR_RATE": "0.5"}, secrets)
    assert "SERVICE_FAULT_* must be off when SERVICE_ENVIRONMENT=production" in line


@pytest.mark.parametrize("name", SERVICES)
def test_sigterm_completes_the_request_in_flight_and_exits_before_the_drain_timeout(
    engine: Engine, images, network: str, secrets: Path, auth, name: str
) -> None:
    container = containers.run(
        engine,
        images[name],
        network_name=network,
        secrets=secrets,
        env={"SERVICE_FAULT_LATENCY_MS": "2000", "SERVICE_SHUTDOWN_DELAY_SECONDS": "1"},
    )
    try:
        container.wait_ready()
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            in_flight = pool.submit(httpx.get, container.url + "/openapi.json", timeout=15)
            time.sleep(0.5)  # the request is inside the 2 s added latency
            signalled = time.monotonic()
            engine.run("kill", "--signal", "TERM", container.name)
            readiness = httpx.get(container.url + "/readyz", timeout=2)
            assert readiness.status_code == 503, readiness.text
            assert in_flight.result().status_code == 200
        while container.running() and time.monotonic() - signalled < DRAIN_TIMEOUT_SECONDS + 5:
            time.sleep(0.05)
        stopped_after = time.monotonic() - signalled
        assert not container.running()
        assert stopped_after < DRAIN_TIMEOUT_SECONDS, f"exited {stopped_after:.1f}s after SIGTERM"
        assert container.exit_code() == 0, container.logs()
    finally:
        container.remove()
