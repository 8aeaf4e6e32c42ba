"""What every node has apart from its daemons: the containers its containerd started, the
mounts under its directories, its network namespace and (for a joined node) its cgroup root;
and how they are cleaned up when the node goes."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import time
from pathlib import Path

from localcluster import network, paths, processes

CGROUP_MOUNTS = Path("/sys/fs/cgroup")


def kubelet_command(binary: str, node: paths.Node) -> list[str]:
    return [
        binary,
        "--config", str(node.config_dir / "kubelet.yaml"),
        "--kubeconfig", str(node.config_dir / "kubelet.kubeconfig"),
        "--root-dir", str(node.data_dir / "kubelet"),
        "--hostname-override", node.name,
        "--node-ip", node.ip,
        "--node-labels", f"topology.kubernetes.io/zone={node.zone}",
        "--v", "1",
    ]  # fmt: skip


def kube_proxy_command(binary: str, node: paths.Node) -> list[str]:
    return [
        binary,
        "--config", str(node.config_dir / "kube-proxy.yaml"),
        "--hostname-override", node.name,
    ]  # fmt: skip


def container_pids(node: paths.Node) -> list[int]:
    """The containers and shims the node's containerd started: the pids in its task pid files,
    and the shims, whose working directory is their bundle in the node's state directory."""
    pids = []
    for pid_file in node.task_root.glob("*/*/*.pid"):
        with contextlib.suppress(ValueError, OSError):
            pids.append(int(pid_file.read_text().strip()))
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            if os.readlink(proc / "cwd").startswith(f"{node.task_root}/"):
                pids.append(int(proc.name))
    return pids


def kill_containers(node: paths.Node) -> None:
    for pid in container_pids(node):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, 9)


def _wait_gone(pids: list[int], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(Path(f"/proc/{pid}").exists() for pid in pids):
        time.sleep(0.1)


def unmount_under(*roots: Path) -> None:
    mounts = [line.split()[4] for line in Path("/proc/self/mountinfo").read_text().splitlines()]
    for mount in sorted(mounts, key=len, reverse=True):
        if any(mount == str(r) or mount.startswith(f"{r}/") for r in roots):
            subprocess.run(["umount", "--lazy", mount], capture_output=True)


def _cgroup_hierarchies() -> list[Path]:
    """The cgroup v1 controllers' mounts (this machine is hybrid: the kubelet uses v1)."""
    return [
        Path(line.split()[4])
        for line in Path("/proc/self/mountinfo").read_text().splitlines()
        if " - cgroup " in line and line.split()[4].startswith(f"{CGROUP_MOUNTS}/")
    ]


def make_cgroup_root(node: paths.Node) -> None:
    """The kubelet refuses a cgroupRoot that does not exist in every controller. cpuset starts
    empty in v1: give it its parent's CPUs and memory nodes before anything joins it."""
    if node.cgroup_root == "/":
        return
    for hierarchy in _cgroup_hierarchies():
        directory = hierarchy / node.cgroup_root.lstrip("/")
        directory.mkdir(exist_ok=True)
        for name in ("cpuset.cpus", "cpuset.mems"):
            if (hierarchy / name).exists() and not (directory / name).read_text().strip():
                (directory / name).write_text((hierarchy / name).read_text())


def remove_cgroup_root(node: paths.Node) -> None:
    """Deepest first: a cgroup is removed with rmdir once its children and tasks are gone."""
    if node.cgroup_root == "/":
        return
    for hierarchy in _cgroup_hierarchies():
        root = hierarchy / node.cgroup_root.lstrip("/")
        if not root.exists():
            continue
        for directory in sorted(
            (p for p in root.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True
        ):
            with contextlib.suppress(OSError):
                directory.rmdir()
        with contextlib.suppress(OSError):
            root.rmdir()


def tear_down_joined(node: paths.Node, state_file: Path) -> None:
    """Stop a joined node's daemons and containers and remove all it made (not its Node object:
    that is the API's, and goes while the cluster runs)."""
    running, _ = processes.load(state_file)
    for daemon in reversed(running):  # kube-router, kube-proxy, the kubelet, then containerd
        if daemon.name.endswith("containerd"):
            kill_containers(node)
        daemon.stop()
    kill_containers(node)  # shims outlive containerd
    _wait_gone(container_pids(node))  # a cgroup is removed only once its tasks have exited
    unmount_under(node.data_dir, node.run_dir)
    network.delete(node)
    remove_cgroup_root(node)
    for directory in (node.data_dir, node.run_dir, node.config_dir):
        shutil.rmtree(directory, ignore_errors=True)
    for stem in (node.kubelet_identity, f"{node.kubelet_identity}-serving"):
        for suffix in (".crt", ".key"):
            (paths.PKI_DIR / f"{stem}{suffix}").unlink(missing_ok=True)
    state_file.unlink(missing_ok=True)
