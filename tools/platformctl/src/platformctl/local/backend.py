"""The local backend: the runbook's calls mapped onto the state file, the supervisor and caddy."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Mapping, Sequence

import httpx

from platformctl.backend import BackendError, ColorView, ServiceView, Split
from platformctl.catalog import SERVICES
from platformctl.local import caddy, loopback
from platformctl.local.processes import pid_alive
from platformctl.local.state import PlatformState, StateStore
from platformctl.paths import Home
from platformctl.traffic import Credentials

PROBE_TIMEOUT = 1.0


class LocalBackend:
    name = "processes"

    def __init__(self, home: Home | None = None) -> None:
        self.home = home or Home.discover()
        self.store = StateStore(self.home)

    # -- reading ---------------------------------------------------------------------------

    def load(self) -> PlatformState:
        if not self.store.exists():
            raise BackendError("the local platform has never been started; run `platformctl up`")
        return self.store.load()

    def ensure_up(self) -> None:
        state = self.load()
        if not pid_alive(state.supervisor_pid):
            raise BackendError("the local platform is not running; start it with `platformctl up`")

    def status(self) -> dict[str, ServiceView]:
        state = self.load()
        up = pid_alive(state.supervisor_pid)
        ports = [
            i.port
            for service in state.services.values()
            for color_state in service.colors.values()
            for i in color_state.current_instances()
            if i.pid and up
        ]
        ready = _probe_ready(ports)
        now = time.time()
        views = {}
        for name in SERVICES:
            service = state.services[name]
            colors = {}
            for color, cs in service.colors.items():
                current = cs.current_instances() if up else []
                colors[color] = ColorView(
                    version=cs.version,
                    running=cs.running,
                    ready=sum(1 for i in current if i.pid and ready.get(i.port)),
                    instances=len(current),
                    pending=cs.pending,
                    faults=dict(cs.faults),
                    restarts=sum(i.restarts for i in current),
                    scale_down_in=max(0.0, cs.scale_down_at - now) if cs.scale_down_at else None,
                )
            views[name] = ServiceView(
                name=name,
                live=service.active,
                previous=service.previous,
                colors=colors,
                live_url=f"http://127.0.0.1:{state.ports.stable[name]}",
                preview_url=f"http://127.0.0.1:{state.ports.preview[name]}",
                canary_weight=caddy.split_percent(service.canary_weight) or None,
            )
        return views

    def prometheus_url(self) -> str:
        return f"http://127.0.0.1:{self.load().ports.prometheus}"

    def selector(self, service: str, color: str) -> str:
        state = self.load()
        color_state = state.services[service].colors[color]
        instances = "|".join(f"127.0.0.1:{i.port}" for i in color_state.current_instances())
        # The instance matcher pins the analysis to this deployment's processes: an earlier
        # deploy of the same color and version must not count.
        return f'service="{service}",color="{color}",instance=~"{instances}"'

    def credentials(self) -> Credentials:
        return Credentials.dev(self.home.secrets_dir)

    # -- changing ----------------------------------------------------------------------------

    def deploy(
        self,
        services: Sequence[str],
        version: str,
        faults: Mapping[str, str],
        preview_replicas: int | None = None,
    ) -> None:
        with self.store.transaction() as state:
            size = preview_replicas or state.runtime.preview_replicas
            for name in services:
                service = state.services[name]
                idle = service.colors[service.idle]
                idle.version = version
                idle.faults = dict(faults)
                idle.running = True
                idle.pending = True
                idle.scale_down_at = None
                idle.replicas = size if size and size < state.runtime.replicas else None
                idle.generation += 1
                # The color now holds a new release: rolling back "to" it would be a surprise.
                if service.previous == service.idle:
                    service.previous = None
        self._wake_supervisor()

    def abandon(self, services: Sequence[str]) -> None:
        with self.store.transaction() as state:
            for name in services:
                service = state.services[name]
                idle = service.colors[service.idle]
                idle.running = False
                idle.pending = False
                service.canary_weight = None  # a canary step ends with its color
        self._wake_supervisor()

    def abort(self, services: Sequence[str]) -> dict[str, str]:
        # The state file keeps no older version to go back to: the idle color stops.
        self.abandon(services)
        return dict.fromkeys(services, "stopped")

    def start(self, targets: Mapping[str, str]) -> list[str]:
        started = []
        with self.store.transaction() as state:
            for name, color in targets.items():
                color_state = state.services[name].colors[color]
                color_state.scale_down_at = None
                if not color_state.running:
                    color_state.running = True
                    color_state.generation += 1
                    color_state.replicas = None
                    started.append(name)
                elif color_state.replicas is not None:
                    color_state.replicas = None  # the supervisor adds the missing instances
                    started.append(name)
        self._wake_supervisor()
        return started

    def wait_ready(self, targets: Mapping[str, str], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        waiting = dict(targets)
        while waiting:
            state = self.load()
            for name, color in list(waiting.items()):
                color_state = state.services[name].colors[color]
                instances = color_state.current_instances()
                if not color_state.running:
                    raise BackendError(f"{name} {color} was stopped while waiting for it")
                wanted = color_state.wanted(state.runtime)
                ports = [i.port for i in instances if i.pid]
                if len(ports) == wanted and all(_probe_ready(ports).values()):
                    del waiting[name]
            if not waiting:
                return
            if time.monotonic() > deadline:
                details = ", ".join(
                    f"{name} {color} (see {self.home.log_file(f'{name}-{color}')})"
                    for name, color in waiting.items()
                )
                raise BackendError(f"not ready within {timeout:.0f}s: {details}")
            time.sleep(0.1)

    def switch(self, targets: Mapping[str, str], *, rollback: bool) -> float:
        started = time.perf_counter()
        with self.store.transaction() as state:
            for name, color in targets.items():
                service = state.services[name]
                old = service.active
                service.active = color
                service.canary_weight = None
                service.colors[color].pending = False
                service.previous = None if rollback else old
            # Under the lock, so the supervisor cannot interleave an older config.
            caddy.apply(state, self.home.routes_dir, force=True)
            stable = {name: state.ports.stable[name] for name in targets}
        self._wait_routed(stable, targets, timeout=10)
        return time.perf_counter() - started

    def set_weight(self, targets: Mapping[str, str], percent: int) -> Split:
        state = self.load()
        for name, color in targets.items():
            if color != state.services[name].idle:
                raise BackendError(f"{name} {color} is live: a canary step needs the idle color")
        if percent > 0:
            # The canary takes live traffic from the proxy's slots: it runs at full size.
            self.start(targets)
            self.wait_ready(targets, state.runtime.ready_timeout_seconds)
        started = time.perf_counter()
        with self.store.transaction() as state:
            for name in targets:
                state.services[name].canary_weight = percent if 0 < percent < 100 else None
            caddy.apply(state, self.home.routes_dir, force=True)
            stable = {name: state.ports.stable[name] for name in targets}
            live = {name: state.services[name].active for name in targets}
        self._wait_routed(stable, dict.fromkeys(targets, caddy.SPLIT) if percent else live, 10)
        return Split(
            time.perf_counter() - started,
            dict.fromkeys(targets, caddy.split_percent(percent if percent < 100 else None)),
        )

    def scale_down_delay(self) -> float | None:
        runtime = self.load().runtime
        return None if runtime.keep_old_color else runtime.scale_down_delay_seconds

    def schedule_scale_down(self, targets: Mapping[str, str], delay: float) -> bool:
        with self.store.transaction() as state:
            for name, color in targets.items():
                state.services[name].colors[color].scale_down_at = time.time() + delay
        self._wake_supervisor()
        return True  # the supervisor stops each color at its scale_down_at

    def scale_down(self, targets: Mapping[str, str]) -> list[str]:
        scaled = []
        with self.store.transaction() as state:
            for name, color in targets.items():
                service = state.services[name]
                if service.active != color:
                    service.colors[color].running = False
                    service.colors[color].scale_down_at = None
                    scaled.append(name)
        self._wake_supervisor()
        return scaled

    # -- helpers -------------------------------------------------------------------------------

    def _wake_supervisor(self) -> None:
        pid = self.load().supervisor_pid
        if pid_alive(pid):
            assert pid is not None
            os.kill(pid, signal.SIGUSR1)

    def _wait_routed(
        self, stable: Mapping[str, int], targets: Mapping[str, str], timeout: float
    ) -> None:
        """Return once each stable port answers from the new color (caddy's response header)."""
        deadline = time.monotonic() + timeout
        waiting = dict(stable)
        client = loopback.client()
        while waiting:
            for name, port in list(waiting.items()):
                try:
                    response = client.get(f"http://127.0.0.1:{port}/readyz", timeout=PROBE_TIMEOUT)
                except httpx.HTTPError:
                    continue
                if response.headers.get(caddy.COLOR_HEADER) == targets[name]:
                    del waiting[name]
            if waiting and time.monotonic() > deadline:
                raise BackendError(f"live traffic did not reach the new color: {waiting}")
            if waiting:
                time.sleep(0.01)


def _probe_ready(ports: Sequence[int]) -> dict[int, bool]:
    ready = {}
    client = loopback.client()
    for port in ports:
        try:
            response = client.get(f"http://127.0.0.1:{port}/readyz", timeout=PROBE_TIMEOUT)
        except httpx.HTTPError:
            ready[port] = False
        else:
            ready[port] = response.status_code == 200
    return ready
