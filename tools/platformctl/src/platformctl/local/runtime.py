"""Bringing the local platform up and down (what `platformctl up` / `down` do)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import replace

import httpx

from platformctl.backend import BackendError
from platformctl.catalog import SERVICES
from platformctl.local import loopback, port_check
from platformctl.local.backend import LocalBackend
from platformctl.local.processes import kill_stale, pid_alive
from platformctl.local.state import PlatformState, Ports, RuntimeSettings, StateStore
from platformctl.local.supervisor import Supervisor
from platformctl.paths import HOME_ENV, Home
from platformctl.ports import free_port
from platformctl.traffic import Credentials


def ephemeral_ports() -> Ports:
    """Free loopback ports for everything, so tests never collide with a developer's `make up`."""
    return Ports(
        stable={name: free_port() for name in SERVICES},
        preview={name: free_port() for name in SERVICES},
        prometheus=free_port(),
        caddy_admin=free_port(),
    )


def prepare(home: Home, ports: Ports | None, runtime_changes: dict[str, object]) -> PlatformState:
    """Create or update the state before starting; the desired colors are kept as they were."""
    store = StateStore(home)
    home.ensure()
    Credentials.dev(home.secrets_dir)  # the signing key, users and client secrets, once
    with store.locked():
        if store.exists():
            state = store.load()
            if pid_alive(state.supervisor_pid):
                raise BackendError(
                    f"the platform is already running (supervisor pid {state.supervisor_pid})"
                )
            if ports is not None:
                state.ports = ports
        else:
            state = PlatformState.initial(ports or Ports(), RuntimeSettings())
        port_check.ensure_free(state.ports)  # before anything starts or the state changes
        state.runtime = replace(state.runtime, **runtime_changes)  # type: ignore[arg-type]
        store.save(state)
        return state


def run_foreground(
    home: Home, on_ready: Callable[[], None], on_failure: Callable[[str], None]
) -> None:
    supervisor = Supervisor(home)
    backend = LocalBackend(home)

    def watch() -> None:
        try:
            wait_platform_ready(backend, timeout=backend.load().runtime.ready_timeout_seconds)
        except BackendError as exc:
            on_failure(str(exc))
            return
        on_ready()

    supervisor.run(on_started=lambda: threading.Thread(target=watch, daemon=True).start())


def start_background(home: Home) -> int:
    """Start the supervisor detached from this terminal; returns its pid."""
    log = home.log_file("supervisor")
    log.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, HOME_ENV: str(home.root)}
    with log.open("ab") as handle:
        process = subprocess.Popen(
            [sys.executable, "-m", "platformctl", "up", "--foreground", "--quiet"],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    backend = LocalBackend(home)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise BackendError(f"the supervisor exited at start; see {log}")
        if backend.load().supervisor_pid == process.pid:
            return process.pid
        time.sleep(0.05)
    raise BackendError(f"the supervisor did not start; see {log}")


def wait_platform_ready(backend: LocalBackend, timeout: float) -> None:
    """Every running color ready, and Prometheus ready."""
    deadline = time.monotonic() + timeout
    state = backend.load()
    for color in ("blue", "green"):
        # A color whose scale-down is scheduled may stop while we wait: not worth waiting for.
        batch = {
            name: color
            for name, service in state.services.items()
            if service.colors[color].running and service.colors[color].scale_down_at is None
        }
        if batch:
            backend.wait_ready(batch, max(1.0, deadline - time.monotonic()))
    prometheus = f"http://127.0.0.1:{state.ports.prometheus}/-/ready"
    while time.monotonic() < deadline:
        try:
            if loopback.client().get(prometheus, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    log = backend.home.log_file("prometheus")
    raise BackendError(f"Prometheus is not ready at {prometheus}; see {log}")


def stop(home: Home, timeout: float = 30) -> bool:
    """Stop the supervisor (which drains everything); returns False if it was not running."""
    store = StateStore(home)
    if not store.exists():
        return False
    state = store.load()
    pid = state.supervisor_pid
    if not pid_alive(pid):
        # A supervisor that died leaves its children behind: stop them directly.
        kill_stale(state.caddy_pid, "caddy")
        kill_stale(state.prometheus_pid, "prometheus")
        for service in state.services.values():
            for color_state in service.colors.values():
                for instance in color_state.instances:
                    kill_stale(instance.pid, "uvicorn")
        return False
    assert pid is not None
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
        if _reaped(pid):
            break
    if pid_alive(pid) and not _reaped(pid):
        raise BackendError(f"the supervisor (pid {pid}) did not stop within {timeout:.0f}s")
    return True


def _reaped(pid: int) -> bool:
    """True once a child pid has exited (zombies of our own children count as gone)."""
    try:
        finished, _ = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return not pid_alive(pid)
    return finished == pid
