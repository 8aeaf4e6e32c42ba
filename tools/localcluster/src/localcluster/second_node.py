"""A second node joined to the running cluster on demand (`localcluster add-node`), so that a
drain has somewhere to send the pods and topology spread has two hosts to spread over.

It is a node like the first: a network namespace with a veth to the host, its own containerd
(holding a copy of the first node's images), kubelet, kube-proxy and kube-router, with its own
kubelet identity. Its kubelet has its own cgroup root and pod log directory, so neither kubelet
manages or garbage-collects the other's pods. It registers tainted and takes pods only once
kube-router polices them. Both nodes share this machine's two cores.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

from platform_images.engine import EngineError, detect

from localcluster import configs, images, network, network_policy, nodes, paths, pki, processes
from localcluster.cluster import (
    ClusterError,
    Say,
    build_tools,
    healthy,
    kubectl,
    lock,
    node_not_ready,
    wait_until,
)

NODE = paths.SECOND_NODE


def _ready() -> bool:
    return node_not_ready(NODE.name) is None


def joined() -> str | None:
    """Why the second node is not running and Ready, or None when it is."""
    running, _ = processes.load(paths.SECOND_NODE_STATE)
    if not running:
        return "not joined"
    dead = [p.name for p in running if not p.alive()]
    if dead:
        return f"{', '.join(dead)} not running"
    return None if _ready() else "not Ready"


def add(say: Say) -> float:
    """Join the second node; returns the seconds it took (0 when it had already joined)."""
    if reason := healthy():
        raise ClusterError(f"the local cluster is not running ({reason}): make cluster")
    with lock():
        if joined() is None:
            say(f"node {NODE.name} has already joined and is Ready; nothing to do")
            return 0.0
        if processes.load(paths.SECOND_NODE_STATE)[0] or network.exists(NODE):
            say(f"found a stale {NODE.name}: removing it first")
            _remove()
        started = time.monotonic()
        try:
            _join(say)
        except BaseException:
            say(f"joining failed: removing {NODE.name} (logs stay in .local/cluster/logs)")
            _remove()
            raise
        return time.monotonic() - started


def _join(say: Say) -> None:
    # Traffic between the nodes (the kubelet to the API, pod to pod) crosses the host, which
    # must forward it: turned on where it is off, as Docker and kind do, and said so.
    forwarding = Path("/proc/sys/net/ipv4/ip_forward")
    if forwarding.read_text().strip() != "1":
        forwarding.write_text("1\n")
        say(
            "  the host did not forward IPv4: set net.ipv4.ip_forward=1 (the nodes' traffic "
            "crosses the host; it stays on after the node is removed)"
        )
    tools = build_tools(lambda _line: None)
    for directory in (NODE.data_dir, NODE.run_dir, NODE.config_dir, NODE.pod_logs_dir):
        directory.mkdir(parents=True, exist_ok=True)
    say(f"{NODE.name}: network namespace, cgroup root, kubelet identity and configuration")
    network.create(NODE)
    nodes.make_cgroup_root(NODE)
    pki.add_node(NODE)
    configs.write_node(NODE)
    started: list[processes.Process] = []

    def launch(name: str, argv: list[str]) -> None:
        started.append(processes.start(f"{NODE.name}-{name}", argv, netns=NODE.netns))
        processes.save(started, paths.SECOND_NODE_STATE, phase="joining")

    cfg = NODE.config_dir
    launch("containerd", ["containerd", "--config", str(cfg / "containerd.toml")])
    wait_until("containerd", NODE.containerd_socket.exists, 30, f"{NODE.name}-containerd", say)
    copy_started = time.monotonic()
    try:
        # From the engine that built them (podman's save is 2.3x faster than ctr's export).
        in_use = images.running_images(paths.FIRST_NODE)
        images.import_into_node(detect(), in_use, NODE)
    except (EngineError, subprocess.SubprocessError) as error:
        raise ClusterError(f"loading the images into {NODE.name}: {error}") from None
    say(f"  the {len(in_use)} images {paths.NODE_NAME} runs, imported: "
        f"{time.monotonic() - copy_started:.1f} s")  # fmt: skip
    launch("kubelet", nodes.kubelet_command(tools.kube("kubelet"), NODE))
    launch("kube-proxy", nodes.kube_proxy_command(tools.kube("kube-proxy"), NODE))
    wait_until(f"node {NODE.name} Ready", _ready, 120, f"{NODE.name}-kubelet", say)
    launch("kube-router", network_policy.command(tools.kube_router, NODE))
    wait_until(
        "NetworkPolicy enforcement (kube-router)",
        lambda: network_policy.ready(NODE),
        60,
        f"{NODE.name}-kube-router",
        say,
    )
    kubectl("taint", "node", NODE.name, f"{configs.JOINING_TAINT}:NoSchedule-")
    processes.save(started, paths.SECOND_NODE_STATE, phase="ready")
    say(f"  {NODE.name} schedulable")


def remove(say: Say) -> bool:
    """Drain the second node (the PodDisruptionBudgets decide the pace), delete its Node and
    stop all it runs; False when it had not joined."""
    if reason := healthy():
        raise ClusterError(f"the local cluster is not running ({reason}): make cluster")
    with lock():
        if not processes.load(paths.SECOND_NODE_STATE)[0] and not network.exists(NODE):
            say(f"node {NODE.name} has not joined; nothing to remove")
            return False
        if _registered():
            say(f"draining {NODE.name}")
            drained = kubectl(
                "drain", NODE.name, "--ignore-daemonsets", "--delete-emptydir-data",
                "--timeout=180s", check=False, timeout=200,
            )  # fmt: skip
            if drained.returncode != 0:
                raise ClusterError(
                    f"draining {NODE.name} failed; the node stays (cordoned): "
                    f"{drained.stderr.strip()}"
                )
        _remove()
        say(f"node {NODE.name} removed")
        return True


def _registered() -> bool:
    return kubectl("get", "node", NODE.name, check=False, timeout=10).returncode == 0


def _remove() -> None:
    try:
        kubectl("delete", "node", NODE.name, "--ignore-not-found", "--wait=false", check=False)
    except subprocess.SubprocessError:
        pass  # an unresponsive API must not keep the node's processes and files
    finally:
        nodes.tear_down_joined(NODE, paths.SECOND_NODE_STATE)
