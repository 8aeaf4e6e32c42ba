"""The cluster's metrics daemons, on the host like its Prometheus, each built from its Go module.

metrics-server serves the resource metrics API (`kubectl top`, the HPAs' CPU utilization): the
apiserver aggregates it through an APIService whose Service points at this host's end of the
node's veth. kube-state-metrics turns the API's objects into the `kube_*` series the cluster
panels and alerts read; Prometheus scrapes it. Their identities and RBAC are in
manifests/cluster-metrics.yaml.
"""

from __future__ import annotations

import base64
from pathlib import Path

from localcluster import health, paths

METRICS_SERVER_PORT = 4443
STATE_METRICS_PORT = 8085
STATE_METRICS_ADDRESS = f"{paths.HOST_IP}:{STATE_METRICS_PORT}"
# What the dashboards and alerts read (kube_pod_*, kube_deployment_*,
# kube_horizontalpodautoscaler_*) and the PodDisruptionBudgets; nothing else is watched.
STATE_METRICS_RESOURCES = "pods,deployments,horizontalpodautoscalers,poddisruptionbudgets"


def manifest() -> str:
    ca = base64.b64encode((paths.PKI_DIR / "ca.crt").read_bytes()).decode()
    return (
        (paths.MANIFESTS / "cluster-metrics.yaml")
        .read_text()
        .replace("METRICS_SERVER_ADDRESS", paths.HOST_IP)
        .replace("METRICS_SERVER_PORT", str(METRICS_SERVER_PORT))
        .replace("CLUSTER_CA_BUNDLE", ca)
    )


def metrics_server_command(binary: Path) -> list[str]:
    pki, kubeconfig = paths.PKI_DIR, str(paths.CONFIG_DIR / "metrics-server.kubeconfig")
    return [
        str(binary),
        f"--kubeconfig={kubeconfig}",
        f"--authentication-kubeconfig={kubeconfig}",
        f"--authorization-kubeconfig={kubeconfig}",
        f"--bind-address={paths.HOST_IP}",
        f"--secure-port={METRICS_SERVER_PORT}",
        f"--tls-cert-file={pki / 'metrics-server-serving.crt'}",
        f"--tls-private-key-file={pki / 'metrics-server-serving.key'}",
        # The kubelet's serving certificate is from the cluster CA: verify it (no insecure TLS).
        f"--kubelet-certificate-authority={pki / 'ca.crt'}",
        f"--kubelet-client-certificate={pki / 'metrics-server.crt'}",
        f"--kubelet-client-key={pki / 'metrics-server.key'}",
        "--kubelet-preferred-address-types=InternalIP",
        "--metric-resolution=15s",
    ]


def state_metrics_command(binary: Path) -> list[str]:
    return [
        str(binary),
        f"--kubeconfig={paths.CONFIG_DIR / 'kube-state-metrics.kubeconfig'}",
        f"--host={paths.HOST_IP}",
        f"--port={STATE_METRICS_PORT}",
        f"--telemetry-host={paths.HOST_IP}",
        f"--telemetry-port={STATE_METRICS_PORT + 1}",
        f"--resources={STATE_METRICS_RESOURCES}",
    ]


def state_metrics_ready() -> bool:
    return health.answers_ok(f"http://{STATE_METRICS_ADDRESS}/healthz")
