"""Predict replicas per service color from measured CPU cost, by running the HPA algorithm.

A service's CPU use at a request rate is ``idle + rate * cpu_seconds_per_request`` (measured by
``bench/cpu_per_request.py``). The live color gets the traffic; the idle color only its
``minReplicas`` (or fixed ``replicas``). The live color's HPA is stepped every sync period from
``minReplicas`` at constant load until it settles, so the tolerance, the policies and max/min
shape the answer exactly as in a cluster.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from platformctl.capacity.chart import ColorConfig
from platformctl.capacity.hpa import (
    DEFAULT_SYNC_PERIOD_SECONDS,
    Decision,
    HorizontalPodAutoscaler,
)

PROFILES_FILE = Path(__file__).with_name("profiles.json")
DEPENDENCY_BOUND_FRACTION = 0.5
"""A service that spends at least this share of its request time waiting on other services is
not CPU-bound: its latency grows with theirs while its own CPU stays flat."""
SIMULATED_SECONDS = 30 * 60


@dataclass(frozen=True)
class ServiceProfile:
    """Measured cost of one service under the platform's traffic mix."""

    service: str
    cpu_seconds_per_request: float
    """CPU seconds this service burns per request it serves."""
    requests_per_edge_request: float
    """Requests this service serves per request entering the platform (the fan-out)."""
    idle_millicores: float = 0.0
    """CPU of one idle pod (scrapes, probes, timers)."""
    dependency_wait_fraction: float = 0.0
    """Share of its request time spent in calls to other services."""

    @property
    def cpu_bound(self) -> bool:
        return self.dependency_wait_fraction < DEPENDENCY_BOUND_FRACTION

    def cpu_millicores(self, edge_rps: float) -> float:
        """CPU the service's work needs at an edge rate (idle cost excluded)."""
        return edge_rps * self.requests_per_edge_request * self.cpu_seconds_per_request * 1000


@dataclass(frozen=True)
class Prediction:
    service: str
    color: str
    live: bool
    service_rps: float
    replicas: int
    ideal_replicas: int | None
    """``ceil(cpu / (request * target))``, at least ``minReplicas`` but *not* capped at
    ``maxReplicas``: the count that would hold the target."""
    utilization: int | None
    """Average CPU utilization (percent of requests) at ``replicas``."""
    reason: str
    """Why the count is what it is: the HPA's limiting reason, or the fixed replica count."""
    settle_seconds: int | None
    """Time from ``minReplicas`` to the steady count, syncing every 15 s."""
    saturated: bool
    """At this count each pod needs more CPU than one pod can use: requests will queue."""
    advice: str


def load_profiles(path: Path = PROFILES_FILE) -> dict[str, ServiceProfile]:
    """The measured profiles (written by ``bench/cpu_per_request.py``)."""
    data = json.loads(path.read_text())
    return profiles_from_mapping(data["services"])


def profiles_from_mapping(services: Mapping[str, Mapping[str, Any]]) -> dict[str, ServiceProfile]:
    fields = ServiceProfile.__dataclass_fields__
    return {
        name: ServiceProfile(service=name, **{k: v for k, v in values.items() if k in fields})
        for name, values in services.items()
    }


def profile_to_mapping(profile: ServiceProfile) -> dict[str, Any]:
    values = asdict(profile)
    values.pop("service")
    return values


def pod_usage(work_millicores: float, idle: float, replicas: int, ceiling: int) -> tuple[int, bool]:
    """Total CPU of ``replicas`` pods sharing the work, each capped at what one pod can use."""
    per_pod = idle + work_millicores / replicas
    return round(min(per_pod, ceiling) * replicas), per_pod > ceiling


def simulate_hpa(
    config: ColorConfig, profile: ServiceProfile, edge_rps: float, seconds: int = SIMULATED_SECONDS
) -> list[Decision]:
    """Step the color's HPA every sync period at a constant edge rate, from ``minReplicas``.

    Stops early once the count has held for longer than every window and policy period: at a
    constant load nothing can move it after that.
    """
    if config.hpa is None:
        raise ValueError(f"{config.service}-{config.color} has no HPA")
    hpa = HorizontalPodAutoscaler(config.hpa)
    work = profile.cpu_millicores(edge_rps) if config.live else 0.0
    replicas = config.hpa.min_replicas
    quiet_needed = _memory_seconds(hpa) + DEFAULT_SYNC_PERIOD_SECONDS
    last_change = 0
    trace = []
    for now in range(0, seconds + 1, DEFAULT_SYNC_PERIOD_SECONDS):
        usage, _ = pod_usage(
            work, profile.idle_millicores, replicas, config.pod_cpu_ceiling_millicores
        )
        decision = hpa.reconcile(now, replicas, usage, config.cpu_request_millicores)
        trace.append(decision)
        if decision.desired != replicas:
            last_change = now
        elif now - last_change > quiet_needed:
            break
        replicas = decision.desired
    return trace


def _memory_seconds(hpa: HorizontalPodAutoscaler) -> int:
    """How far back the controller looks: the longest stabilization window or policy period."""
    behavior = hpa.spec.behavior
    if behavior is None:
        return hpa.downscale_stabilization_seconds
    down = behavior.scale_down.stabilization_window_seconds
    return max(
        behavior.scale_up.stabilization_window_seconds or 0,
        hpa.downscale_stabilization_seconds if down is None else down,
        behavior.scale_up.longest_period_seconds,
        behavior.scale_down.longest_period_seconds,
    )


def predict(config: ColorConfig, profile: ServiceProfile, edge_rps: float) -> Prediction:
    """Replicas for one service color at ``edge_rps`` requests per second into the platform."""
    service_rps = edge_rps * profile.requests_per_edge_request if config.live else 0.0
    work = profile.cpu_millicores(edge_rps) if config.live else 0.0
    ceiling = config.pod_cpu_ceiling_millicores
    request = config.cpu_request_millicores
    if not config.enabled:
        return Prediction(
            config.service, config.color, config.live, service_rps, 0, None, None,
            "color disabled", None, False, "",
        )  # fmt: skip
    if config.hpa is None or request <= 0:
        replicas = config.replicas
        usage, saturated = pod_usage(work, profile.idle_millicores, replicas, ceiling)
        utilization = usage * 100 // (request * replicas) if request else None
        reason = "fixed replicas (HPA off)" if config.hpa is None else "no CPU request: HPA inert"
        return Prediction(
            config.service, config.color, config.live, service_rps, replicas, None,
            utilization, reason, None, saturated, _advice(profile, config, saturated, replicas),
        )  # fmt: skip

    spec = config.hpa
    trace = simulate_hpa(config, profile, edge_rps)
    last = trace[-1]
    replicas = last.desired
    changes = [d.time for d in trace if d.desired != d.current_replicas]
    settled_at = int(changes[-1]) + DEFAULT_SYNC_PERIOD_SECONDS if changes else 0
    utilization, reason = last.utilization, last.reason
    _, saturated = pod_usage(work, profile.idle_millicores, replicas, ceiling)
    target_millicores = request * spec.target_utilization / 100
    needed = (work + profile.idle_millicores * replicas) / target_millicores
    ideal = max(math.ceil(needed - 1e-9), spec.min_replicas)
    return Prediction(
        config.service,
        config.color,
        config.live,
        service_rps,
        replicas,
        ideal,
        utilization,
        reason,
        settled_at,
        saturated,
        _advice(profile, config, saturated, replicas, ideal),
    )


def _advice(
    profile: ServiceProfile,
    config: ColorConfig,
    saturated: bool,
    replicas: int,
    ideal: int | None = None,
) -> str:
    notes = []
    if not config.live:
        return "preview traffic only"
    if not profile.cpu_bound:
        notes.append(
            f"waits on dependencies {profile.dependency_wait_fraction:.0%} of its time: "
            "CPU misses their slowness; scale on in-flight (KEDA)"
        )
    if saturated:
        cap = "maxReplicas" if config.hpa else "replicas"
        notes.append(f"CPU-saturated at {replicas} pods: raise {cap}")
    elif config.hpa and ideal is not None and ideal > config.hpa.max_replicas:
        notes.append(
            f"needs {ideal} pods for the {config.hpa.target_utilization}% target: raise maxReplicas"
        )
    if config.hpa:
        reachable = config.pod_cpu_ceiling_millicores * 100 / max(config.cpu_request_millicores, 1)
        if reachable < config.hpa.target_utilization:
            notes.append(
                f"target {config.hpa.target_utilization}% is above the {reachable:.0f}% one "
                "process can reach: lower the request"
            )
    return "; ".join(notes)


def predict_environment(
    configs: list[ColorConfig], profiles: Mapping[str, ServiceProfile], edge_rps: float
) -> list[Prediction]:
    return [predict(c, profiles[c.service], edge_rps) for c in configs if c.service in profiles]
