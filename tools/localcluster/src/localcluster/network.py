"""The node's network namespace: a veth to the host, the pod bridge (made by the CNI plugin),
and kube-proxy's rules, all inside it. The host routes the pod and Service ranges to the node,
so tests on the host reach ClusterIPs the way a pod would."""

from __future__ import annotations

import subprocess
from pathlib import Path

from localcluster import paths


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=check)


def _in_node(*args: str) -> None:
    subprocess.run(
        ["ip", "netns", "exec", paths.NETNS, *args], capture_output=True, text=True, check=True
    )


def exists() -> bool:
    return Path(f"/run/netns/{paths.NETNS}").exists()


def create() -> None:
    _ip("netns", "add", paths.NETNS)
    _ip(
        "link",
        "add",
        paths.HOST_VETH,
        "type",
        "veth",
        "peer",
        "name",
        paths.NODE_VETH,
        "netns",
        paths.NETNS,
    )
    _ip("addr", "add", f"{paths.HOST_IP}/{paths.VETH_PREFIX}", "dev", paths.HOST_VETH)
    _ip("link", "set", paths.HOST_VETH, "up")
    _in_node("ip", "link", "set", "lo", "up")
    _in_node("ip", "addr", "add", f"{paths.NODE_IP}/{paths.VETH_PREFIX}", "dev", paths.NODE_VETH)
    _in_node("ip", "link", "set", paths.NODE_VETH, "up")
    _in_node("ip", "route", "add", "default", "via", paths.HOST_IP)
    # Pods reach Services and each other through the bridge: iptables must see bridged traffic.
    for sysctl in ("net.ipv4.ip_forward=1", "net.bridge.bridge-nf-call-iptables=1"):
        _in_node("sysctl", "-qw", sysctl)
    for cidr in ("10.244.0.0/16", paths.SERVICE_CIDR):
        _ip("route", "replace", cidr, "via", paths.NODE_IP, "dev", paths.HOST_VETH)


def delete() -> None:
    """Remove the namespace; its veth, the host's end and the host routes go with it."""
    if exists():
        _ip("netns", "delete", paths.NETNS, check=False)
    _ip("link", "delete", paths.HOST_VETH, check=False)
