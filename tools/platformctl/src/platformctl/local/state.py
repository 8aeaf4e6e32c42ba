"""The local runtime's one state file: desired colors and versions, plus what is running.

CLI verbs write the desired state (a version into the idle color, the live color); the
supervisor started by ``platformctl up`` writes what it observes (instances, ports, pids).
Every change happens under an exclusive file lock and lands by atomic rename, so ``status``,
``promote`` and ``rollback`` work from any terminal while the supervisor runs.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from platformctl.catalog import (
    COLORS,
    DEFAULT_PREVIEW_PORTS,
    DEFAULT_STABLE_PORTS,
    INITIAL_VERSION,
    SERVICES,
    other_color,
)
from platformctl.paths import Home

SCHEMA_VERSION = 1


@dataclass
class Ports:
    stable: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_STABLE_PORTS))
    preview: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_PREVIEW_PORTS))
    prometheus: int = 9090
    caddy_admin: int = 2019


@dataclass
class RuntimeSettings:
    """How the local runtime behaves; set once by ``platformctl up`` and kept in the state."""

    scrape_interval: str = "2s"
    # Argo Rollouts' scaleDownDelaySeconds: the old color keeps running this long after a
    # successful promotion, for an instant rollback. Negative keeps it up for good.
    scale_down_delay_seconds: float = 30.0
    replicas: int = 1
    # Argo Rollouts' previewReplicaCount: a deploy starts the idle color with this many
    # instances, and promote brings it to `replicas` first. None: full size from the start.
    preview_replicas: int | None = None
    # Passed to every instance: readiness turns 503 at SIGTERM, serving goes on this long,
    # then uvicorn drains for at most drain_timeout_seconds.
    shutdown_delay_seconds: float = 1.0
    drain_timeout_seconds: float = 5.0
    ready_timeout_seconds: float = 30.0
    analysis_file: str | None = None

    @property
    def keep_old_color(self) -> bool:
        return self.scale_down_delay_seconds < 0


@dataclass
class Instance:
    """One uvicorn process of a color, as the supervisor last saw it."""

    port: int
    pid: int | None = None
    generation: int = 0
    restarts: int = 0
    exit_code: int | None = None


@dataclass
class ColorState:
    version: str = INITIAL_VERSION
    faults: dict[str, str] = field(default_factory=dict)
    running: bool = False  # desired
    generation: int = 0  # bumped by every deploy, so the supervisor replaces the processes
    pending: bool = False  # deployed and smoke-tested, not promoted yet
    scale_down_at: float | None = None  # epoch seconds; the supervisor stops the color then
    replicas: int | None = None  # desired instances while below full size (None: full)
    instances: list[Instance] = field(default_factory=list)  # observed

    def current_instances(self) -> list[Instance]:
        return [i for i in self.instances if i.generation == self.generation]

    def wanted(self, runtime: RuntimeSettings) -> int:
        """How many instances the color should run while running."""
        return runtime.replicas if self.replicas is None else min(self.replicas, runtime.replicas)


@dataclass
class ServiceState:
    active: str = "blue"
    previous: str | None = None  # the color a rollback returns to
    # A canary step: the percent of live traffic the idle color takes (None: all on active).
    canary_weight: int | None = None
    colors: dict[str, ColorState] = field(
        default_factory=lambda: {color: ColorState() for color in COLORS}
    )

    @property
    def idle(self) -> str:
        return other_color(self.active)


@dataclass
class PlatformState:
    ports: Ports = field(default_factory=Ports)
    runtime: RuntimeSettings = field(default_factory=RuntimeSettings)
    services: dict[str, ServiceState] = field(default_factory=dict)
    supervisor_pid: int | None = None
    caddy_pid: int | None = None
    prometheus_pid: int | None = None
    proxy_config_digest: str | None = None  # of the config caddy runs now
    schema: int = SCHEMA_VERSION

    @classmethod
    def initial(cls, ports: Ports, runtime: RuntimeSettings) -> PlatformState:
        services = {name: ServiceState() for name in SERVICES}
        for service in services.values():
            service.colors["blue"].running = True
            service.colors["green"].version = ""  # never deployed
        return cls(ports=ports, runtime=runtime, services=services)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PlatformState:
        services = {}
        for name, raw in data.get("services", {}).items():
            colors = {
                color: ColorState(
                    **{
                        **raw_color,
                        "instances": [Instance(**i) for i in raw_color.get("instances", [])],
                    }
                )
                for color, raw_color in raw["colors"].items()
            }
            services[name] = ServiceState(
                active=raw["active"],
                previous=raw.get("previous"),
                canary_weight=raw.get("canary_weight"),
                colors=colors,
            )
        return cls(
            ports=Ports(**data.get("ports", {})),
            runtime=RuntimeSettings(**data.get("runtime", {})),
            services=services,
            supervisor_pid=data.get("supervisor_pid"),
            caddy_pid=data.get("caddy_pid"),
            prometheus_pid=data.get("prometheus_pid"),
            proxy_config_digest=data.get("proxy_config_digest"),
        )


class StateStore:
    def __init__(self, home: Home) -> None:
        self.home = home

    def exists(self) -> bool:
        return self.home.state_file.exists()

    def load(self) -> PlatformState:
        return PlatformState.from_json(json.loads(self.home.state_file.read_text()))

    def save(self, state: PlatformState) -> None:
        self.home.ensure()
        tmp = self.home.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(state.to_json(), indent=2, sort_keys=True))
        os.replace(tmp, self.home.state_file)

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        self.home.ensure()
        with _flock(self.home.lock_file):
            yield

    @contextlib.contextmanager
    def transaction(self) -> Iterator[PlatformState]:
        """Read, let the caller change, and write back (if changed), all under the lock."""
        with self.locked():
            state = self.load()
            before = state.to_json()
            yield state
            if state.to_json() != before:
                self.save(state)


@contextlib.contextmanager
def _flock(path: Path) -> Iterator[None]:
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
