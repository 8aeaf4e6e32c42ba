"""The four services as real uvicorn processes on free loopback ports.

The benchmarks and the k6 tests start the platform's services exactly as the local runtime
does (`uvicorn <svc>_service.main:create_app --factory`), with dev secrets shared through one
``SERVICE_SECRETS_DIR``, and stop them with SIGTERM like a pod.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from auth_service.devsecrets import ensure_dev_secrets
from platformctl.ports import free_port

SERVICES = ("auth", "payments", "notifications", "orders")
REPO_ROOT = Path(__file__).resolve().parent.parent
UVICORN = Path(sys.executable).parent / "uvicorn"
GRACEFUL_SHUTDOWN_SECONDS = 10


def uvicorn_command(
    app: str, port: int, *, app_dir: Path | None = None, uvicorn: Path = UVICORN
) -> list[str]:
    command = [str(uvicorn), app, "--factory", "--host", "127.0.0.1", "--port", str(port)]
    command += ["--no-access-log", "--timeout-graceful-shutdown", str(GRACEFUL_SHUTDOWN_SECONDS)]
    if app_dir is not None:
        command += ["--app-dir", str(app_dir)]
    return command


def pinned(command: Sequence[str], cpus: str | None) -> list[str]:
    """Prefix ``taskset -c CPUS`` so server and load generator do not fight for a core."""
    return ["taskset", "-c", cpus, *command] if cpus else list(command)


def wait_until_ready(url: str, process: subprocess.Popen[bytes], timeout: float = 20) -> float:
    """Poll ``url`` every 5 ms until 200; returns the seconds waited. Fails if the process dies."""
    started = time.perf_counter()
    deadline = started + timeout
    with httpx.Client(timeout=0.5) as client:
        while time.perf_counter() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"{url}: process exited with {process.returncode}")
            with contextlib.suppress(httpx.HTTPError):
                if client.get(url).status_code == 200:
                    return time.perf_counter() - started
            time.sleep(0.005)
    raise TimeoutError(f"{url} not ready after {timeout:.0f} s")


def stop(process: subprocess.Popen[bytes], timeout: float = 15) -> int:
    """SIGTERM, as Kubernetes does; SIGKILL only if it overstays."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return process.returncode


@dataclass
class RunningService:
    name: str
    port: int
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@dataclass
class Stack:
    """Auth, payments, notifications and orders, one uvicorn process each.

    ``env`` adds settings for every service (``SERVICE_SHUTDOWN_DELAY_SECONDS``...);
    ``cpus`` pins all of them (``taskset -c``); logs go to ``workdir/<service>.log``.
    """

    workdir: Path
    env: Mapping[str, str] = field(default_factory=dict)
    cpus: str | None = None
    services: dict[str, RunningService] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.credentials = ensure_dev_secrets(self.workdir / "secrets")
        self.ports = {name: free_port() for name in SERVICES}

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    def service_env(self, name: str, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SERVICE_", "ORDERS_"))}
        env.update(
            PYTHONUNBUFFERED="1",  # logs reach the file as they happen
            SERVICE_COLOR="blue",
            SERVICE_VERSION="bench",
            SERVICE_SECRETS_DIR=str(self.credentials.secrets_dir),
            SERVICE_AUTH_URL=self.url("auth"),
            ORDERS_PAYMENTS_URL=self.url("payments"),
            ORDERS_NOTIFICATIONS_URL=self.url("notifications"),
        )
        env.update(self.env)
        env.update(extra)
        return env

    def spawn(
        self, name: str, port: int | None = None, *, venv: Path | None = None, **extra_env: str
    ) -> RunningService:
        """Start one process of ``name`` (another replica if ``port`` is given), from the
        workspace's virtualenv or from ``venv``."""
        port = port or self.ports[name]
        log = (self.workdir / f"{name}-{port}.log").open("ab")
        uvicorn = venv / "bin" / "uvicorn" if venv else UVICORN
        command = uvicorn_command(f"{name}_service.main:create_app", port, uvicorn=uvicorn)
        process = subprocess.Popen(
            pinned(command, self.cpus),
            env=self.service_env(name, **extra_env),
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=self.workdir,
        )
        log.close()
        return RunningService(name, port, process)

    def start(self, names: Sequence[str] = SERVICES, timeout: float = 90) -> Stack:
        # auth first: the others are ready only once they have fetched its JWKS.
        for name in names:
            self.services[name] = self.spawn(name)
        for name in names:
            service = self.services[name]
            try:
                wait_until_ready(f"{service.url}/readyz", service.process, timeout)
            except (RuntimeError, TimeoutError) as exc:
                self.stop()
                tail = self.log_tail(service)
                raise RuntimeError(f"{name} did not start: {exc}\n{tail}") from None
        return self

    def log_tail(self, service: RunningService, lines: int = 20) -> str:
        path = self.workdir / f"{service.name}-{service.port}.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        for service in reversed(list(self.services.values())):
            stop(service.process)
        self.services.clear()

    def __enter__(self) -> Stack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def image_venv(service: str, folder: Path) -> Path:
    """A virtualenv holding what ``service``'s image holds, built as apps/Dockerfile builds it:
    that service, servicekit and their locked runtime dependencies, no dev tools, bytecode
    compiled. (The workspace's own virtualenv has every dev tool too, and some of them change
    what a service imports: httpx loads its command line, with click and rich, when they are
    installed.)

    The two local packages are rebuilt every time: uv keys its cache of a local package on its
    ``pyproject.toml``, so an edit to the code alone would leave the venv on the old code."""
    venv = folder / service
    subprocess.run(
        [str(Path(sys.executable).parent / "uv"), "sync", "--frozen", "--no-dev", "--no-editable",
         "--package", f"{service}-service", "--compile-bytecode", "--quiet",
         "--reinstall-package", "servicekit", "--reinstall-package", f"{service}-service"],
        env={**os.environ, "UV_PROJECT_ENVIRONMENT": str(venv)},
        cwd=REPO_ROOT,
        check=True,
    )  # fmt: skip
    return venv


@contextlib.contextmanager
def running_stack(workdir: Path, **kwargs: object) -> Iterator[Stack]:
    stack = Stack(workdir, **kwargs)  # type: ignore[arg-type]
    try:
        yield stack.start()
    finally:
        stack.stop()
