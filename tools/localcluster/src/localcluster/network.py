"""Each node's network namespace: a veth to the host, the pod bridge (made by the CNI plugin),
and kube-proxy's rules, all inside it. The host routes each node's pod range to that node, and
the Service range to the first node, so tests on the host reach ClusterIPs the way a pod would.
Pods on different nodes reach each other through the host, with their own addresses."""

from __future__ import annotations

import subprocess
from pathlib import Path

from localcluster import paths


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=check)


def in_node(node: paths.Node, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["ip", "netns", "exec", node.netns, *args], capture_output=True, text=True, check=check
    )


def exists(node: paths.Node = paths.FIRST_NODE) -> bool:
    return Path(f"/run/netns/{node.netns}").exists()


def create(node: paths.Node = paths.FIRST_NODE) -> None:
    _ip("netns", "add", node.netns)
    _ip("link", "add", node.host_veth, "type", "veth", "peer", "name", paths.NODE_VETH,
        "netns", node.netns)  # fmt: skip
    _ip("addr", "add", f"{node.host_ip}/{paths.VETH_PREFIX}", "dev", node.host_veth)
    _ip("link", "set", node.host_veth, "up")
    in_node(node, "ip", "link", "set", "lo", "up")
    in_node(node, "ip", "addr", "add", f"{node.ip}/{paths.VETH_PREFIX}", "dev", paths.NODE_VETH)
    in_node(node, "ip", "link", "set", paths.NODE_VETH, "up")
    in_node(node, "ip", "route", "add", "default", "via", node.host_ip)
    # Pods reach Services and each other through the bridge: iptables must see bridged traffic.
    for sysctl in ("net.ipv4.ip_forward=1", "net.bridge.bridge-nf-call-iptables=1"):
        in_node(node, "sysctl", "-qw", sysctl)
    # The bridge plugin masquerades what leaves the node's pod range; a pod on another node
    # must see the caller's pod address, which the NetworkPolicies match on.
    in_node(node, "iptables", "-t", "nat", "-I", "POSTROUTING", "1", "-s", paths.POD_RANGE,
            "-d", paths.POD_RANGE, "-o", paths.NODE_VETH, "-j", "RETURN")  # fmt: skip
    if node == paths.FIRST_NODE:
        for cidr in (paths.POD_RANGE, paths.SERVICE_CIDR):
            _ip("route", "replace", cidr, "via", node.ip, "dev", node.host_veth)
    else:
        # From the host's first address, the one the NetworkPolicies admit (externalPeers).
        _ip("route", "replace", node.pod_cidr, "via", node.ip, "dev", node.host_veth,
            "src", paths.HOST_IP)  # fmt: skip


def delete(node: paths.Node = paths.FIRST_NODE) -> None:
    """Remove the namespace; its veth, the host's end and the host routes go with it."""
    if exists(node):
        _ip("netns", "delete", node.netns, check=False)
    _ip("link", "delete", node.host_veth, check=False)
