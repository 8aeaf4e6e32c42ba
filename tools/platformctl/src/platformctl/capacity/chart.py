"""Read each service color's HPA, replicas and CPU request from the chart and an environment.

Values merge the way Helm and helmfile merge them: the subchart's own ``values.yaml``, then the
umbrella's ``charts/platform/values.yaml`` under the service's key, then
``environments/<env>.yaml`` (umbrella-shaped: ``global:``, ``<service>:``). Missing files are
skipped, so this works while the chart is still growing.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml

from platformctl.capacity.hpa import Behavior, HPASpec

SERVICES = ("auth", "orders", "payments", "notifications")
COLORS = ("blue", "green")
SINGLE_PROCESS_MILLICORES = 1000
"""One uvicorn process per pod runs Python on one core at a time, whatever the limit says."""


@dataclass(frozen=True)
class ColorConfig:
    """What the chart deploys for one service color."""

    service: str
    color: str
    live: bool
    """True for the color the ``<svc>`` Service selects (``activeColor``)."""
    enabled: bool
    replicas: int
    """``replicas`` when autoscaling is off (the HPA owns the count otherwise)."""
    cpu_request_millicores: int
    cpu_limit_millicores: int | None
    hpa: HPASpec | None
    """``None`` when ``autoscaling.enabled`` is false."""

    @property
    def pod_cpu_ceiling_millicores(self) -> int:
        """The most CPU one pod can use: its limit, and never more than one core."""
        if self.cpu_limit_millicores is None:
            return SINGLE_PROCESS_MILLICORES
        return min(self.cpu_limit_millicores, SINGLE_PROCESS_MILLICORES)


def parse_cpu_millicores(quantity: str | int | float) -> int:
    """A Kubernetes CPU quantity (``100m``, ``0.5``, ``2``) in millicores."""
    text = str(quantity).strip()
    if text.endswith("m"):
        return round(float(text[:-1]))
    return round(float(text) * 1000)


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Helm's values merge: maps merge key by key, anything else (lists too) is replaced."""
    merged = copy.deepcopy(dict(base))
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when present: 10x faster


def _read_yaml(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    loaded = yaml.load(path.read_text(), Loader=_LOADER) or {}
    return loaded if isinstance(loaded, dict) else {}


def environment_names(repo_root: Path) -> list[str]:
    """Environments with a state file: ``dev``, ``staging``, ``prod``, ``kind``."""
    return sorted(p.stem for p in (repo_root / "environments").glob("*.yaml") if p.stem != "common")


def environment_state(repo_root: Path, environment: str) -> dict[str, Any]:
    """helmfile's state values: ``environments/common.yaml`` then ``<env>.yaml``, merged."""
    env_file = repo_root / "environments" / f"{environment}.yaml"
    if not env_file.is_file():
        known = ", ".join(environment_names(repo_root)) or "none"
        raise FileNotFoundError(f"no environment {environment!r} ({env_file}); known: {known}")
    return deep_merge(_read_yaml(repo_root / "environments" / "common.yaml"), _read_yaml(env_file))


def umbrella_values_from_state(state: Mapping[str, Any]) -> dict[str, Any]:
    """The sizing part of ``environments/platform-values.yaml.gotmpl``, in Python.

    The same ``size`` goes to both colors of every service; ``activeColor`` to ``global`` and
    each service's own ``activeColor`` to the service. A test renders the real template with
    Helm's engine and compares, so this cannot drift from it unnoticed.
    """
    size = copy.deepcopy(state.get("size") or {})
    colors = state.get("colors") or list(COLORS)
    # The scale-down window is the service's HPA behavior, not a color's size.
    window = (size.get("autoscaling") or {}).pop("scaleDownStabilizationSeconds", None)
    sized = {key: size[key] for key in ("replicas", "autoscaling", "resources") if key in size}
    values: dict[str, Any] = {}
    if "activeColor" in state:
        values["global"] = {"activeColor": state["activeColor"]}
    for service, spec in (state.get("services") or {}).items():
        values[service] = {color: copy.deepcopy(sized) for color in colors}
        if window is not None:
            values[service]["autoscalingBehavior"] = {
                "scaleDown": {"stabilizationWindowSeconds": window}
            }
        if isinstance(spec, Mapping) and "activeColor" in spec:
            values[service]["activeColor"] = spec["activeColor"]
    return values


def umbrella_layers(repo_root: Path, environment: str | None) -> list[dict[str, Any]]:
    """The umbrella-shaped values a release gets, lowest first: the chart's, the environment's."""
    layers = [_read_yaml(repo_root / "charts" / "platform" / "values.yaml")]
    if environment:
        layers.append(umbrella_values_from_state(environment_state(repo_root, environment)))
    return layers


def service_values(repo_root: Path, service: str, umbrella: list[dict[str, Any]]) -> dict[str, Any]:
    """One subchart's effective values (``global`` included), as the release would get them."""
    merged = _read_yaml(repo_root / "charts" / "platform" / "charts" / service / "values.yaml")
    for values in umbrella:
        layer = dict(values.get(service) or {})
        if isinstance(values.get("global"), Mapping):
            layer["global"] = values["global"]
        merged = deep_merge(merged, layer)
    return merged


def color_configs(values: Mapping[str, Any], service: str) -> list[ColorConfig]:
    """Both colors of one service from its effective values."""
    active = values.get("activeColor") or values.get("global", {}).get("activeColor") or "blue"
    behavior = Behavior.from_manifest(values.get("autoscalingBehavior"))
    configs = []
    for color in COLORS:
        block = values.get(color) or {}
        scaling = block.get("autoscaling") or {}
        resources = block.get("resources") or values.get("resources") or {}
        request = (resources.get("requests") or {}).get("cpu")
        limit = (resources.get("limits") or {}).get("cpu")
        hpa = None
        if scaling.get("enabled"):
            hpa = HPASpec(
                min_replicas=int(scaling.get("minReplicas", 1)),
                max_replicas=int(scaling["maxReplicas"]),
                target_utilization=int(scaling.get("targetCPUUtilizationPercentage", 80)),
                behavior=behavior,
            )
        configs.append(
            ColorConfig(
                service=service,
                color=color,
                live=color == active,
                enabled=bool(block.get("enabled", True)),
                replicas=int(block.get("replicas", 1)),
                cpu_request_millicores=parse_cpu_millicores(request) if request else 0,
                cpu_limit_millicores=parse_cpu_millicores(limit) if limit else None,
                hpa=hpa,
            )
        )
    return configs


def load_environment(repo_root: Path, environment: str | None) -> list[ColorConfig]:
    """Every service color for an environment (``None``: the chart's defaults alone)."""
    umbrella = umbrella_layers(repo_root, environment)
    return [
        config
        for service in SERVICES
        for config in color_configs(service_values(repo_root, service, umbrella), service)
    ]


@dataclass(frozen=True)
class Sizing:
    """A what-if change to every color's sizing; ``None`` keeps the chart's value."""

    cpu_request_millicores: int | None = None
    target_utilization: int | None = None
    min_replicas: int | None = None
    max_replicas: int | None = None

    def apply(self, config: ColorConfig) -> ColorConfig:
        if self.cpu_request_millicores is not None:
            config = replace(config, cpu_request_millicores=self.cpu_request_millicores)
        if config.hpa is not None:
            hpa = config.hpa
            config = replace(
                config,
                hpa=replace(
                    hpa,
                    target_utilization=self.target_utilization or hpa.target_utilization,
                    min_replicas=self.min_replicas or hpa.min_replicas,
                    max_replicas=self.max_replicas or hpa.max_replicas,
                ),
            )
        return config
