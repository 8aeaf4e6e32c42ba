"""The node's NetworkPolicy enforcer: kube-router, built from its Go module, with only its
firewall controller on (kube-proxy stays the Service proxy and the bridge plugin the CNI).

It runs in the node's network namespace and turns every NetworkPolicy into iptables rules and
ipsets on the bridged pod traffic (bridge-nf-call-iptables is on there). A call no policy
allows is rejected: the caller sees its connection refused at once rather than a timeout.
Its identity and RBAC are in manifests/network-policy.yaml.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from localcluster import health, paths

# Its health endpoint, inside the node's namespace (reached from the host through the veth).
HEALTH_PORT = 20244


def manifest() -> str:
    return (paths.MANIFESTS / "network-policy.yaml").read_text()


def command(binary: Path, node: paths.Node = paths.FIRST_NODE) -> list[str]:
    """One per node, in the node's namespace: it polices the pods on that node."""
    return [
        str(binary),
        f"--kubeconfig={paths.CONFIG_DIR / 'kube-router.kubeconfig'}",
        f"--hostname-override={node.name}",
        "--run-firewall=true",
        "--run-router=false",
        "--run-service-proxy=false",
        f"--service-cluster-ip-range={paths.SERVICE_CIDR}",
        f"--health-port={HEALTH_PORT}",
        # Policies are applied on every change; the full resync only repairs drift.
        "--iptables-sync-period=1m",
    ]


def ready(node: paths.Node = paths.FIRST_NODE) -> bool:
    """Its first sync has hooked its chain into the node's FORWARD chain. The health endpoint
    alone answers as soon as the process listens, before its caches or any rule exist."""
    if not health.answers_ok(f"http://{node.ip}:{HEALTH_PORT}/healthz"):
        return False
    forward = subprocess.run(
        ["ip", "netns", "exec", node.netns, "iptables", "-S", "FORWARD"],
        capture_output=True, text=True, timeout=10,
    )  # fmt: skip
    return "-j KUBE-ROUTER-FORWARD" in forward.stdout
