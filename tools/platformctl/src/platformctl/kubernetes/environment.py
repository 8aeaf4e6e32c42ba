"""A helmfile environment as platformctl needs it: its file, its release, namespace and context.

Read from ``helmfile.yaml`` (plain YAML in helmfile v1) the way helmfile reads it: the
environment's values files are merged in order, and the one release whose ``condition``
holds in them is the environment's release.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from platformctl.backend import BackendError


@dataclass(frozen=True)
class Size:
    """The environment's `size`: what a color whose `replicas` entry is "" runs."""

    replicas: int
    autoscaling: bool = False
    min_replicas: int = 1

    def entry(self, fixed: int | None) -> str:
        """The `replicas` entry a color's chart values stand for (None: autoscaled)."""
        if fixed is None or (not self.autoscaling and fixed == self.replicas):
            return ""
        return str(fixed)

    @property
    def floor(self) -> int:
        """The pods a full-size color has at least (the HPA's minimum when autoscaled)."""
        return self.min_replicas if self.autoscaling else self.replicas


@dataclass(frozen=True)
class Environment:
    name: str
    repo: Path  # holds helmfile.yaml and environments/
    release: str
    namespace: str
    kube_context: str | None = None
    # From the environment's values (`platformctl:` in environments/common.yaml).
    prometheus_url: str | None = None
    helmfile_flags: tuple[str, ...] = ()
    # Argo Rollouts' scaleDownDelaySeconds (None: the old color keeps its full size).
    scale_down_delay: float | None = 30.0
    preview_replicas: int | None = None  # Argo's previewReplicaCount (None: full size)
    # How a canary step splits live traffic (`canaryRouting.mode`): replicas or gateway, and
    # in gateway mode the Gateway (name, namespace) the services' HTTPRoutes attach to.
    canary_routing: str = "replicas"
    gateway: tuple[str, str] | None = None
    size: Size = Size(replicas=1)

    @property
    def helmfile(self) -> Path:
        return self.repo / "helmfile.yaml"

    @property
    def file(self) -> Path:
        """The git-tracked file platformctl edits: ``environments/<name>.yaml``."""
        return self.repo / "environments" / f"{self.name}.yaml"


def load_environment(name: str, repo: Path) -> Environment:
    helmfile = repo / "helmfile.yaml"
    try:
        documents = [d for d in yaml.safe_load_all(helmfile.read_text()) if d]
    except (OSError, yaml.YAMLError) as exc:
        raise BackendError(f"cannot read {helmfile}: {exc}") from None
    environments = _section(documents, "environments", helmfile)
    if name not in environments:
        raise BackendError(
            f"unknown environment {name!r}; {helmfile.name} defines: {', '.join(environments)}"
        )
    spec = environments[name] or {}
    values_files = [repo / path for path in spec.get("values", [])]
    own_file = repo / "environments" / f"{name}.yaml"
    if own_file not in values_files:
        raise BackendError(f"environment {name} does not load {own_file.relative_to(repo)}")
    values: dict[str, Any] = {}
    for path in values_files:
        values = _merge(values, yaml.safe_load(path.read_text()) or {})
    enabled = [
        release
        for release in _section(documents, "releases", helmfile)
        if _condition_holds(release.get("condition"), values)
    ]
    if len(enabled) != 1:
        raise BackendError(f"environment {name} enables {len(enabled)} releases, expected one")
    settings = values.get("platformctl") or {}
    routing = values.get("canaryRouting") or {}
    return Environment(
        name=name,
        repo=repo,
        release=enabled[0]["name"],
        namespace=enabled[0]["namespace"],
        kube_context=spec.get("kubeContext"),
        prometheus_url=settings.get("prometheusUrl") or None,
        helmfile_flags=tuple(str(flag) for flag in settings.get("helmfileFlags") or ()),
        scale_down_delay=_delay(settings.get("scaleDownDelaySeconds", 30), name),
        preview_replicas=_count(settings.get("previewReplicas"), "previewReplicas", name),
        size=_size(values.get("size") or {}),
        canary_routing=_routing(routing, name),
        gateway=_gateway(routing, enabled[0]["namespace"]),
    )


ROUTINGS = ("replicas", "gateway")


def _gateway(raw: Mapping[str, Any], namespace: str) -> tuple[str, str] | None:
    gateway = raw.get("gateway") or {}
    if raw.get("mode") != "gateway" or not gateway.get("name"):
        return None
    return str(gateway["name"]), str(gateway.get("namespace") or namespace)


def _routing(raw: Mapping[str, Any], environment: str) -> str:
    mode = raw.get("mode", "replicas")
    if mode not in ROUTINGS:
        raise BackendError(
            f"environment {environment}: canaryRouting.mode must be one of "
            f"{', '.join(ROUTINGS)}, not {mode!r}"
        )
    return mode


def _size(raw: Mapping[str, Any]) -> Size:
    autoscaling = raw.get("autoscaling") or {}
    return Size(
        replicas=int(raw.get("replicas", 1)),
        autoscaling=bool(autoscaling.get("enabled", False)),
        min_replicas=int(autoscaling.get("minReplicas", 1)),
    )


def _delay(value: Any, environment: str) -> float | None:
    seconds = _number(value, "scaleDownDelaySeconds", environment)
    return None if seconds is None or seconds < 0 else seconds


def _count(value: Any, key: str, environment: str) -> int | None:
    number = _number(value, key, environment)
    if number is None:
        return None
    if number != int(number) or number < 1:
        raise BackendError(f"environment {environment}: platformctl.{key} must be 1 or more")
    return int(number)


def _number(value: Any, key: str, environment: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise BackendError(
            f"environment {environment}: platformctl.{key} must be a number, not {value!r}"
        )
    return float(value)


def _section(documents: list[dict[str, Any]], key: str, path: Path) -> Any:
    found = [document[key] for document in documents if key in document]
    if len(found) != 1:
        raise BackendError(f"{path} must have one {key!r} section, found {len(found)}")
    return found[0]


def _condition_holds(condition: str | None, values: Mapping[str, Any]) -> bool:
    if not condition:
        return True
    node: Any = values
    for part in condition.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return False
        node = node[part]
    return node is True


def _merge(base: Mapping[str, Any], layer: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in layer.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged
