"""The supervisor behind ``platformctl up``: it makes the running processes match the state.

A small controller loop, like a Kubernetes ReplicaSet controller: CLI verbs write the desired
colors into the state file and wake it (SIGUSR1); each pass it starts what is missing,
replaces instances of an older generation, restarts crashed ones (with backoff), performs
scheduled scale-downs, and re-points caddy and Prometheus when instances change.
SIGTERM or SIGINT stop everything gracefully.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import time
from collections.abc import Callable
from types import FrameType

import httpx

from platformctl.catalog import SERVICES
from platformctl.local import caddy, prometheus
from platformctl.local.processes import (
    InstanceProcess,
    ManagedProcess,
    binary,
    instance_env,
    kill_stale,
    stop_all,
    uvicorn_command,
)
from platformctl.local.state import Instance, PlatformState, StateStore
from platformctl.paths import Home
from platformctl.ports import free_port

TICK_SECONDS = 0.25
MAX_RESTART_DELAY = 10.0
# An instance that ran this long before dying is restarted at once, not backed off.
STABLE_AFTER_SECONDS = 10.0

Key = tuple[str, str]


class Supervisor:
    def __init__(self, home: Home) -> None:
        self.home = home
        self.store = StateStore(home)
        self.instances: dict[Key, list[InstanceProcess]] = {}
        self.draining: list[ManagedProcess] = []
        self.caddy: ManagedProcess | None = None
        self.prometheus: ManagedProcess | None = None
        self.applied_targets: str | None = None
        self.published_live: tuple[dict[str, str], dict[str, int]] | None = None
        # What the signal handlers set: a plain flag, and a byte down a pipe that the loop's
        # sleep watches. Not a threading.Event: a handler runs between two bytecodes of the
        # main thread, which may hold that Event's lock inside wait(); setting it there
        # deadlocks (seen in CI: a wake, then a SIGTERM, both stuck in Event.set).
        self.stop_requested = False
        self._wake_reader, self._wake_writer = os.pipe()
        os.set_blocking(self._wake_writer, False)
        self.warnings: list[str] = []

    # -- lifecycle -----------------------------------------------------------------------

    def run(self, on_started: Callable[[], None] | None = None) -> None:
        signal.signal(signal.SIGTERM, self._request_stop)
        signal.signal(signal.SIGINT, self._request_stop)
        signal.signal(signal.SIGUSR1, self._request_wake)
        try:
            self._start()
            if on_started:
                on_started()
            while not self.stop_requested:
                self._reconcile()
                self._sleep(TICK_SECONDS)
        finally:
            self._shutdown()
            os.close(self._wake_reader)
            os.close(self._wake_writer)

    def _sleep(self, seconds: float) -> None:
        """Until the next tick, or sooner when a signal wakes the loop."""
        readable, _, _ = select.select([self._wake_reader], [], [], seconds)
        if readable:
            os.read(self._wake_reader, 4096)

    def _request_wake(self, _signum: int = 0, _frame: FrameType | None = None) -> None:
        with contextlib.suppress(BlockingIOError):  # a full pipe already wakes the loop
            os.write(self._wake_writer, b"!")

    def _request_stop(self, _signum: int, _frame: FrameType | None) -> None:
        self.stop_requested = True
        self._request_wake()

    def _start(self) -> None:
        self.home.ensure()
        with self.store.transaction() as state:
            for pid, expected in (
                (state.caddy_pid, "caddy"),
                (state.prometheus_pid, "prometheus"),
                *((i.pid, "uvicorn") for i in _all_instances(state)),
            ):
                kill_stale(pid, expected)
            for service in state.services.values():
                for color_state in service.colors.values():
                    color_state.instances = []
            state.supervisor_pid = _own_pid()
            self._start_proxy(state)
            self._start_prometheus(state)
        self._reconcile()

    def _start_proxy(self, state: PlatformState) -> None:
        config_file = self.home.root / "caddy.json"
        caddy.write_route_files(state, self.home.routes_dir)
        config = caddy.render_config(state, self.home.routes_dir)
        config_file.write_text(json.dumps(config, indent=2))
        self.caddy = ManagedProcess(
            "caddy",
            [binary("caddy"), "run", "--config", str(config_file)],
            None,
            self.home.log_file("caddy"),
        )
        self.caddy.start()
        state.caddy_pid = self.caddy.pid
        admin = caddy.CaddyAdmin(state.ports.caddy_admin)
        _wait_for(admin.is_up, 15, "caddy's admin API", self.caddy)
        state.proxy_config_digest = None

    def _start_prometheus(self, state: PlatformState) -> None:
        rules, self.warnings = prometheus.rule_files()
        config = prometheus.write_config(state, self.home, rules)
        self.prometheus = ManagedProcess(
            "prometheus",
            prometheus.command(config, self.home, state.ports.prometheus),
            None,
            self.home.log_file("prometheus"),
        )
        self.prometheus.start()
        state.prometheus_pid = self.prometheus.pid

    def _shutdown(self) -> None:
        everything = [p for group in self.instances.values() for p in group] + self.draining
        grace = 10.0
        try:
            state = self.store.load()
            grace = state.runtime.shutdown_delay_seconds + state.runtime.drain_timeout_seconds + 2
        except (OSError, ValueError):
            pass
        infra = [p for p in (self.caddy, self.prometheus) if p is not None]
        stop_all(everything + infra, grace)
        with self.store.transaction() as state:
            for service in state.services.values():
                for color_state in service.colors.values():
                    color_state.instances = []
            state.supervisor_pid = state.caddy_pid = state.prometheus_pid = None

    # -- the control loop ------------------------------------------------------------------

    def _reconcile(self) -> None:
        with self.store.transaction() as state:
            now = time.time()
            for name in SERVICES:
                for color, color_state in state.services[name].colors.items():
                    if color_state.scale_down_at is not None and now >= color_state.scale_down_at:
                        color_state.running = False
                        color_state.scale_down_at = None
                    self._reconcile_color(state, name, color)
            self._keep_infra_alive(state)
            self._apply_routes(state)
            live = {name: service.active for name, service in state.services.items()}
            weights = {
                name: caddy.split_percent(service.canary_weight)
                for name, service in state.services.items()
            }
            prometheus_port = state.ports.prometheus
        self._publish_live_color(live, weights, prometheus_port)
        for process in self.draining:
            process.enforce_deadline()
        self.draining = [p for p in self.draining if p.alive()]

    def _reconcile_color(self, state: PlatformState, service: str, color: str) -> None:
        color_state = state.services[service].colors[color]
        processes = self.instances.setdefault((service, color), [])
        grace = state.runtime.shutdown_delay_seconds + state.runtime.drain_timeout_seconds + 2
        wanted = color_state.running
        current = [p for p in processes if p.generation == color_state.generation]
        outdated = [p for p in processes if p not in current]
        if wanted:
            for process in current:
                self._restart_if_crashed(process)
                process.restore_priority()
            for _ in range(color_state.wanted(state.runtime) - len(current)):
                process = self._new_instance(state, service, color, free_port())
                process.start()
                current.append(process)
        else:
            outdated += current
            current = []
        for process in outdated:
            process.terminate(grace)
            self.draining.append(process)
        self.instances[(service, color)] = current
        color_state.instances = [
            Instance(
                port=p.port,
                pid=p.pid if p.alive() else None,
                generation=p.generation,
                restarts=p.restarts,
                exit_code=p.exit_code(),
            )
            for p in current
        ]

    def _new_instance(
        self, state: PlatformState, service: str, color: str, port: int
    ) -> InstanceProcess:
        color_state = state.services[service].colors[color]
        return InstanceProcess(
            f"{service}-{color}",
            uvicorn_command(service, port, state.runtime.drain_timeout_seconds),
            instance_env(state, self.home, service, color, color_state),
            self.home.log_file(f"{service}-{color}"),
            port=port,
            generation=color_state.generation,
        )

    def _restart_if_crashed(self, process: ManagedProcess) -> None:
        if process.alive() or process.popen is None or process.stopping:
            return
        now = time.monotonic()
        if process.exited_at is None:
            process.exited_at = now
            if now - process.started_at > STABLE_AFTER_SECONDS:
                process.crashes_in_a_row = 0
        # Restart at once after the first crash; back off while it keeps crashing.
        delay = 0.0
        if process.crashes_in_a_row:
            delay = min(0.5 * 2 ** (process.crashes_in_a_row - 1), MAX_RESTART_DELAY)
        if now - process.exited_at < delay:
            return
        process.crashes_in_a_row += 1
        process.restarts += 1
        process.start()

    def _keep_infra_alive(self, state: PlatformState) -> None:
        if self.caddy is not None and not self.caddy.alive():
            self._start_proxy(state)
        if self.prometheus is not None and not self.prometheus.alive():
            self._start_prometheus(state)

    def _apply_routes(self, state: PlatformState) -> None:
        try:
            caddy.apply(state, self.home.routes_dir)
        except caddy.ProxyError:
            state.proxy_config_digest = None  # caddy is restarting; try on the next pass
        targets = json.dumps(prometheus.render_targets(state), sort_keys=True)
        if targets != self.applied_targets:
            prometheus.write_targets(state, self.home)
            self.applied_targets = targets

    def _publish_live_color(
        self, live: dict[str, str], canary_weights: dict[str, int], port: int
    ) -> None:
        """Alerts and dashboards read the live color from ``platform_live_color``, and each
        color's share of live traffic from ``platform_traffic_weight``."""
        if (live, canary_weights) == self.published_live:
            return
        prometheus.write_live_color(live, canary_weights, self.home)
        try:
            prometheus.reload(port)
        except httpx.HTTPError:
            return  # Prometheus is still starting; it reads the file then, or we retry
        self.published_live = (live, canary_weights)


def _all_instances(state: PlatformState) -> list[Instance]:
    return [
        instance
        for service in state.services.values()
        for color_state in service.colors.values()
        for instance in color_state.instances
    ]


def _own_pid() -> int:
    return os.getpid()


def _wait_for(
    check: Callable[[], bool], timeout: float, what: str, process: ManagedProcess
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        if not process.alive():
            raise RuntimeError(f"{what} exited at start; see {process.log}")
        time.sleep(0.05)
    raise RuntimeError(f"{what} did not come up within {timeout:.0f}s; see {process.log}")
