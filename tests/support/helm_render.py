"""Render charts with the real Helm engine and inspect what comes out.

Everything here drives the Helm v4 Go SDK in-process (``helm_python``): no helm binary, no
cluster. Suites import these functions to render a chart with any values (a helmfile
environment's values, say) and to check the result:

    objects = render(PLATFORM_CHART, {"global": {"activeColor": "green"}})
    changes = diff_objects(blue_objects, objects)
    assert service_selector_problems(objects) == []
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import helm_python
import yaml
from helm_python import _native

# libyaml parses the rendered dashboards (large block scalars) several times faster.
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

REPO_ROOT = Path(__file__).resolve().parents[2]
CHARTS_DIR = REPO_ROOT / "charts"
PLATFORM_CHART = CHARTS_DIR / "platform"
SERVICES = ("auth", "orders", "payments", "notifications")
COLORS = ("blue", "green")
RELEASE = "platform"
NAMESPACE = "platform"
KUBE_VERSION = "v1.33.0"
# The API the external-monitoring path needs; pass it the way `helm template --api-versions` does.
MONITORING_API_VERSIONS = (
    "monitoring.coreos.com/v1",
    "monitoring.coreos.com/v1/PodMonitor",
    "monitoring.coreos.com/v1/ServiceMonitor",
    "monitoring.coreos.com/v1/PrometheusRule",
)

Object = dict[str, Any]
Key = tuple[str, str]  # (kind, name); every object lives in the release namespace


@cache
def load_chart(chart_dir: Path) -> helm_python.Chart:
    """Load a chart once per process; charts are immutable and thread-safe."""
    helm_python.disable_logging()
    return helm_python.Chart.load(chart_dir)


def render_manifests(
    chart_dir: Path,
    values: Mapping[str, Any] | None = None,
    *,
    api_versions: Sequence[str] = (),
    kube_version: str = KUBE_VERSION,
    release: str = RELEASE,
    namespace: str = NAMESPACE,
) -> dict[str, str]:
    """Template path -> rendered text, as `helm template` would produce it (NOTES included).

    Helm validates the values against every chart's values.schema.json first and raises
    ``HelmValuesError`` naming the key; a template ``fail`` raises ``HelmRenderError``.

    ``Chart.render`` does not expose the capabilities, so the options go to the SDK's render
    call directly: the same engine, with ``--api-versions`` and ``--kube-version``.
    """
    chart = load_chart(Path(chart_dir))
    options = {
        "name": release,
        "namespace": namespace,
        "is_install": True,
        "kube_version": kube_version,
        "api_versions": list(api_versions),
    }
    rendered = _native.call_string(
        "helm_render", chart._raw(), json.dumps(values or {}), json.dumps(options)
    )
    manifests: dict[str, str] = json.loads(rendered)
    return manifests


def render(
    chart_dir: Path,
    values: Mapping[str, Any] | None = None,
    *,
    api_versions: Sequence[str] = (),
    kube_version: str = KUBE_VERSION,
    release: str = RELEASE,
    namespace: str = NAMESPACE,
) -> list[Object]:
    """Every Kubernetes object the chart renders (hooks such as helm tests included)."""
    manifests = render_manifests(
        chart_dir,
        values,
        api_versions=api_versions,
        kube_version=kube_version,
        release=release,
        namespace=namespace,
    )
    return [
        document
        for path, text in sorted(manifests.items())
        if not path.endswith("NOTES.txt")
        for document in yaml.load_all(text, Loader=_YAML_LOADER)
        if document
    ]


def notes(chart_dir: Path, values: Mapping[str, Any] | None = None) -> str:
    """The rendered NOTES.txt."""
    manifests = render_manifests(chart_dir, values)
    return next(text for path, text in manifests.items() if path.endswith("NOTES.txt"))


def key(obj: Object) -> Key:
    return obj["kind"], obj["metadata"]["name"]


def by_key(objects: Iterable[Object]) -> dict[Key, Object]:
    indexed: dict[Key, Object] = {}
    for obj in objects:
        if key(obj) in indexed:
            raise ValueError(f"rendered twice: {key(obj)}")
        indexed[key(obj)] = obj
    return indexed


def of_kind(objects: Iterable[Object], kind: str) -> list[Object]:
    return [obj for obj in objects if obj["kind"] == kind]


def merge_values(*layers: Mapping[str, Any]) -> dict[str, Any]:
    """Deep-merge values layers the way `-f a.yaml -f b.yaml` does (maps merge, rest replaces)."""
    merged: dict[str, Any] = {}
    for layer in layers:
        for name, value in layer.items():
            if isinstance(value, Mapping) and isinstance(merged.get(name), dict):
                merged[name] = merge_values(merged[name], value)
            else:
                merged[name] = value
    return merged


def nested(*path: str, value: Any) -> dict[str, Any]:
    """nested("auth", "blue", "replicas", value=3) -> {"auth": {"blue": {"replicas": 3}}}."""
    result: Any = value
    for part in reversed(path):
        result = {part: result}
    return result


# --- Diffs -------------------------------------------------------------------------------


def _leaf_paths(value: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        for name, item in value.items():
            yield from _leaf_paths(item, f"{prefix}.{name}" if prefix else str(name))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _leaf_paths(item, f"{prefix}[{index}]")
    else:
        yield prefix, value


@dataclass(frozen=True)
class ObjectDiff:
    """What changed between two renders: objects added, removed, and leaf paths changed."""

    added: frozenset[Key] = frozenset()
    removed: frozenset[Key] = frozenset()
    changed: Mapping[Key, frozenset[str]] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed)


def diff_objects(before: Iterable[Object], after: Iterable[Object]) -> ObjectDiff:
    """Compare two renders object by object, down to the changed leaf paths."""
    old, new = by_key(before), by_key(after)
    changed: dict[Key, frozenset[str]] = {}
    for shared in old.keys() & new.keys():
        old_leaves = dict(_leaf_paths(old[shared]))
        new_leaves = dict(_leaf_paths(new[shared]))
        paths = {
            path
            for path in old_leaves.keys() | new_leaves.keys()
            if old_leaves.get(path, _MISSING) != new_leaves.get(path, _MISSING)
        }
        if paths:
            changed[shared] = frozenset(paths)
    return ObjectDiff(
        added=frozenset(new.keys() - old.keys()),
        removed=frozenset(old.keys() - new.keys()),
        changed=changed,
    )


_MISSING = object()


# --- Wiring ------------------------------------------------------------------------------


def pod_spec(workload: Object) -> Object:
    return workload["spec"]["template"]["spec"]


def pod_labels(workload: Object) -> dict[str, str]:
    return workload["spec"]["template"]["metadata"].get("labels", {})


def selects(selector: Mapping[str, str], labels: Mapping[str, str]) -> bool:
    return bool(selector) and all(labels.get(name) == value for name, value in selector.items())


def service_selector_problems(objects: Sequence[Object]) -> list[str]:
    """Each Service must select the pods of exactly one Deployment."""
    deployments = of_kind(objects, "Deployment")
    problems = []
    for service in of_kind(objects, "Service"):
        selector = service["spec"].get("selector", {})
        matches = [d["metadata"]["name"] for d in deployments if selects(selector, pod_labels(d))]
        if len(matches) != 1:
            problems.append(f"Service {service['metadata']['name']} selects {matches or 'nothing'}")
    return problems


def target_port_problems(objects: Sequence[Object]) -> list[str]:
    """Each Service targetPort must be a port its selected pods declare (by name or number)."""
    deployments = of_kind(objects, "Deployment")
    problems = []
    for service in of_kind(objects, "Service"):
        selector = service["spec"].get("selector", {})
        for deployment in deployments:
            if not selects(selector, pod_labels(deployment)):
                continue
            declared = {
                ident
                for container in pod_spec(deployment)["containers"]
                for port in container.get("ports", [])
                for ident in (port.get("name"), port["containerPort"])
            }
            for port in service["spec"]["ports"]:
                target = port.get("targetPort", port["port"])
                if target not in declared:
                    problems.append(
                        f"Service {service['metadata']['name']} targets {target!r}, "
                        f"not declared by {deployment['metadata']['name']}"
                    )
    return problems


def scaling_target_problems(objects: Sequence[Object]) -> list[str]:
    """Each HPA targets a rendered Deployment; each PDB selects exactly one Deployment."""
    deployments = of_kind(objects, "Deployment")
    names = {d["metadata"]["name"] for d in deployments}
    problems = []
    for hpa in of_kind(objects, "HorizontalPodAutoscaler"):
        target = hpa["spec"]["scaleTargetRef"]
        if target["kind"] != "Deployment" or target["name"] not in names:
            problems.append(f"HPA {hpa['metadata']['name']} targets {target}")
    for pdb in of_kind(objects, "PodDisruptionBudget"):
        selector = pdb["spec"]["selector"]["matchLabels"]
        matches = [d["metadata"]["name"] for d in deployments if selects(selector, pod_labels(d))]
        if len(matches) != 1:
            problems.append(f"PDB {pdb['metadata']['name']} selects {matches or 'nothing'}")
    return problems


def container_env(objects: Sequence[Object], deployment: Object) -> dict[str, str]:
    """The environment a Deployment's main container gets: envFrom ConfigMaps, then env."""
    config_maps = {cm["metadata"]["name"]: cm for cm in of_kind(objects, "ConfigMap")}
    container = pod_spec(deployment)["containers"][0]
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        name = source["configMapRef"]["name"]
        env.update(config_maps[name].get("data") or {})
    for variable in container.get("env", []):
        env[variable["name"]] = variable.get("value", "")
    return env


def mounted_secret_files(deployment: Object) -> dict[str, set[str]]:
    """Mount path -> file names of Secret volumes (from their listed items)."""
    spec = pod_spec(deployment)
    volumes = {v["name"]: v for v in spec.get("volumes", [])}
    mounts: dict[str, set[str]] = {}
    for mount in spec["containers"][0].get("volumeMounts", []):
        secret = volumes[mount["name"]].get("secret")
        if secret is not None:
            mounts[mount["mountPath"]] = {item["path"] for item in secret.get("items", [])}
    return mounts


def service_of(obj: Object) -> str:
    return obj["metadata"]["labels"]["app.kubernetes.io/name"]


def _peer_services(peers: Iterable[Mapping[str, Any]]) -> set[str]:
    return {
        peer["podSelector"]["matchLabels"]["app.kubernetes.io/name"]
        for peer in peers
        if "app.kubernetes.io/name" in peer.get("podSelector", {}).get("matchLabels", {})
        and "namespaceSelector" not in peer
    }


def allowed_calls(objects: Sequence[Object]) -> dict[str, set[str]]:
    """Service -> services its NetworkPolicy lets it call (egress to their pods)."""
    calls: dict[str, set[str]] = {}
    for policy in of_kind(objects, "NetworkPolicy"):
        selector = policy["spec"]["podSelector"].get("matchLabels", {})
        if selector.get("app.kubernetes.io/component") == "helm-test":
            continue
        service = selector.get("app.kubernetes.io/name")
        if service is None:
            continue
        calls[service] = set().union(
            *(_peer_services(rule.get("to", [])) for rule in policy["spec"].get("egress", []))
        )
    return calls


def admitted_callers(objects: Sequence[Object]) -> dict[str, set[str]]:
    """Service -> services whose pods its NetworkPolicy admits (by their pod labels)."""
    deployments = of_kind(objects, "Deployment")
    admitted: dict[str, set[str]] = {}
    for policy in of_kind(objects, "NetworkPolicy"):
        service = policy["spec"]["podSelector"].get("matchLabels", {}).get("app.kubernetes.io/name")
        if service is None or service == "platform":
            continue
        callers: set[str] = set()
        for rule in policy["spec"].get("ingress", []):
            for peer in rule.get("from", []):
                selector = peer.get("podSelector", {}).get("matchLabels", {})
                if "namespaceSelector" in peer or not selector:
                    continue
                callers |= {service_of(d) for d in deployments if selects(selector, pod_labels(d))}
        admitted[service] = callers
    return admitted
