"""The chart's `monitoring.external` path on the local cluster: prometheus-operator, built from
its Go module, running in the cluster as its upstream example manifests describe, and one
Prometheus (a `Prometheus` object) in namespace `monitoring` that selects PodMonitors and
PrometheusRules labelled `release: kube-prometheus-stack`, as kube-prometheus-stack's does.

Nothing is pulled: the operator, its config-reloader and the Prometheus the host already runs
are each packed into a FROM scratch image here and imported into the node. The CRDs and the
operator's and Prometheus' RBAC and Deployment are read from the module cache (its example/
directory) and applied with only their images and namespace swapped; nothing upstream is kept
in this repository.

`localcluster monitoring-operator` installs it on the running cluster; a second run reapplies
the same objects and changes nothing.
"""

from __future__ import annotations

import json
import subprocess
import urllib.request
from collections.abc import Callable
from pathlib import Path

from platform_images import upstream_tools
from platform_images.engine import detect

from localcluster import images

NAMESPACE = "monitoring"
PROMETHEUS = "platform-external"  # the Prometheus object
POD = f"prometheus-{PROMETHEUS}-0"  # the pod of the StatefulSet the operator makes for it
# The chart's default `monitoring.external.labels`: kube-prometheus-stack selects by them.
SELECTED_BY = {"release": "kube-prometheus-stack"}
UPSTREAM_NAMESPACE = "default"  # where the example manifests put everything

Say = Callable[[str], None]
Kubectl = Callable[..., subprocess.CompletedProcess[str]]


class OperatorError(RuntimeError):
    """The operator or its Prometheus did not come up; the message says which and why."""


class Operator:
    """Where the built operator is and what its images are called."""

    def __init__(self, cache: upstream_tools.Cache) -> None:
        self.version = cache.version("prometheus-operator")
        home = cache.home("prometheus-operator")
        self.bin = home / "bin"
        self.module = Path((home / "module-dir").read_text().strip())
        if not self.example().is_dir():
            raise OperatorError(
                f"{self.module} is gone from the Go module cache (the CRDs are read from there): "
                f"rm -rf {home} and run `localcluster monitoring-operator` again to rebuild it"
            )
        self.prometheus_binary = cache.binary("prometheus")
        # Prometheus' Go module numbers 3.16.0 as v0.316.0.
        module_version = cache.version("prometheus").lstrip("v").split(".")
        self.prometheus_version = f"v3.{int(module_version[1]) - 300}.{module_version[2]}"
        self.image = f"localhost/platform-prometheus-operator:{self.version}"
        self.reloader_image = f"localhost/platform-prometheus-config-reloader:{self.version}"
        self.prometheus_image = f"localhost/platform-prometheus:{self.prometheus_version}"

    def example(self, *parts: str) -> Path:
        return self.module.joinpath("example", *parts)


def build_images(operator: Operator) -> list[str]:
    engine = detect()
    wanted = [
        (operator.image, operator.bin / "operator", "/bin/operator"),
        (
            operator.reloader_image,
            operator.bin / "prometheus-config-reloader",
            "/bin/prometheus-config-reloader",
        ),
        (operator.prometheus_image, operator.prometheus_binary, "/bin/prometheus"),
    ]
    for tag, binary, destination in wanted:
        if not engine.image_exists(tag):
            images.scratch_image(engine, tag, binary, destination, "65534")
    tags = [tag for tag, _, _ in wanted]
    images.import_into_node(engine, tags)
    return tags


def _in_monitoring(manifest: str) -> str:
    return manifest.replace(f"namespace: {UPSTREAM_NAMESPACE}", f"namespace: {NAMESPACE}")


def operator_manifests(operator: Operator) -> str:
    """The upstream RBAC and Deployment, moved to `monitoring` and pointed at the images here."""
    rbac = operator.example("rbac", "prometheus-operator")
    parts = [
        (rbac / f"prometheus-operator-{name}.yaml").read_text()
        for name in ("service-account", "cluster-role", "cluster-role-binding", "deployment")
    ]
    upstream_tag = operator.version
    manifest = _in_monitoring("\n---\n".join(parts))
    for upstream, local in (
        (f"quay.io/prometheus-operator/prometheus-operator:{upstream_tag}", operator.image),
        (
            f"quay.io/prometheus-operator/prometheus-config-reloader:{upstream_tag}",
            operator.reloader_image,
        ),
    ):
        if upstream not in manifest:
            raise OperatorError(f"the operator's example Deployment no longer names {upstream}")
        manifest = manifest.replace(upstream, local)
    return manifest


def prometheus_manifests(operator: Operator) -> str:
    """Prometheus' upstream RBAC, and the Prometheus object that stands for the cluster's."""
    rbac = operator.example("rbac", "prometheus")
    parts = [
        (rbac / f"prometheus-{name}.yaml").read_text()
        for name in ("service-account", "cluster-role", "cluster-role-binding")
    ]
    parts[0] = parts[0].replace("metadata:\n", f"metadata:\n  namespace: {NAMESPACE}\n", 1)
    prometheus = {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "Prometheus",
        "metadata": {"name": PROMETHEUS, "namespace": NAMESPACE},
        "spec": {
            "image": operator.prometheus_image,
            "version": operator.prometheus_version,
            "replicas": 1,
            "serviceAccountName": "prometheus",
            "podMonitorSelector": {"matchLabels": SELECTED_BY},
            "podMonitorNamespaceSelector": {},
            "ruleSelector": {"matchLabels": SELECTED_BY},
            "ruleNamespaceSelector": {},
            "serviceMonitorSelector": {"matchLabels": SELECTED_BY},
            "scrapeInterval": "5s",
            "evaluationInterval": "5s",
            "resources": {"requests": {"cpu": "50m", "memory": "128Mi"}},
        },
    }
    return _in_monitoring("\n---\n".join([*parts, json.dumps(prometheus)]))


def install(kubectl: Kubectl, say: Say) -> str:
    """CRDs, the operator, a Prometheus; returns its address once it is ready."""
    operator = Operator(upstream_tools.cached())
    say(f"prometheus-operator {operator.version}: images built here, imported into the node")
    build_images(operator)
    crds = operator.example("prometheus-operator-crd")
    # Server-side: the CRDs are too large for the last-applied annotation of a client-side apply.
    kubectl("apply", "--server-side", "--force-conflicts", "-f", str(crds), timeout=120)
    kubectl("wait", "--for=condition=Established", "crd", "--all", "--timeout=60s", timeout=70)
    say("  CRDs established")
    kubectl(
        "apply",
        "-f",
        "-",
        input=f"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {NAMESPACE}\n",
    )
    kubectl("apply", "-f", "-", input=operator_manifests(operator), timeout=120)
    kubectl("-n", NAMESPACE, "rollout", "status", "deployment/prometheus-operator",
            "--timeout=120s", timeout=130)  # fmt: skip
    say("  the operator is running")
    kubectl("apply", "-f", "-", input=prometheus_manifests(operator), timeout=120)
    # The operator creates the pod a moment later: wait for it to exist, then to be Ready.
    kubectl("-n", NAMESPACE, "wait", f"pod/{POD}", "--for=create", "--timeout=120s",
            timeout=130)  # fmt: skip
    kubectl("-n", NAMESPACE, "wait", f"pod/{POD}", "--for=condition=Ready", "--timeout=180s",
            timeout=190)  # fmt: skip
    address = f"{pod_ip(kubectl, POD)}:9090"
    say(f"  the operator's Prometheus {operator.prometheus_version} ready at http://{address}")
    return address


def pod_ip(kubectl: Kubectl, pod: str) -> str:
    result = kubectl("-n", NAMESPACE, "get", "pod", pod, "-o", "jsonpath={.status.podIP}")
    return result.stdout.strip()


def address(kubectl: Kubectl) -> str:
    """The operator's Prometheus, reached from the host at its pod IP (the host routes pods)."""
    return f"{pod_ip(kubectl, POD)}:9090"


def api(address: str, path: str) -> dict:
    with urllib.request.urlopen(f"http://{address}{path}", timeout=10) as response:
        return json.load(response)["data"]
