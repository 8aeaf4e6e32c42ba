"""The node's NetworkPolicy enforcer: kube-router, built from its Go module, with only its
firewall controller on (kube-proxy stays the Service proxy and the bridge plugin the CNI).

It runs in the node's network namespace and turns every NetworkPolicy into iptables rules and
ipsets on the bridged pod traffic (bridge-nf-call-iptables is on there). A call no policy
allows is rejected: the caller sees its connection refused at once rather than a timeout.
Its identity and RBAC are in manifests/network-policy.yaml.
"""

from __future__ import annotations

from pathlib import Path

from localcluster import health, paths

# Its health endpoint, inside the node's namespace (reached from the host through the veth).
HEALTH_PORT = 20244


def manifest() -> str:
    return (paths.MANIFESTS / "network-policy.yaml").read_text()


def command(binary: Path) -> list[str]:
    return [
        str(binary),
        f"--kubeconfig={paths.CONFIG_DIR / 'kube-router.kubeconfig'}",
        f"--hostname-override={paths.NODE_NAME}",
        "--run-firewall=true",
        "--run-router=false",
        "--run-service-proxy=false",
        f"--service-cluster-ip-range={paths.SERVICE_CIDR}",
        f"--health-port={HEALTH_PORT}",
        # Policies are applied on every change; the full resync only repairs drift.
        "--iptables-sync-period=1m",
    ]


def ready() -> bool:
    return health.answers_ok(f"http://{paths.NODE_IP}:{HEALTH_PORT}/healthz")
