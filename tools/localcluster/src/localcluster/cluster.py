"""Start, check and stop the local single-node cluster.

up: the pinned tools (built once), the node's network namespace, PKI and configs, then
containerd, etcd, kube-apiserver, kube-controller-manager, kube-scheduler, the kubelet and
kube-proxy, kube-router enforcing NetworkPolicies, the node's images, CoreDNS, the platform's
Secrets, metrics-server (the HPAs' CPU), kube-state-metrics and a Prometheus watching the node; it
returns once the node is Ready, the policies are enforced, DNS answers, the resource metrics API
is available and Prometheus is ready.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from platform_images import upstream_tools
from platform_images.engine import EngineError, detect

from localcluster import (
    access,
    cluster_metrics,
    configs,
    gateway,
    images,
    monitoring,
    monitoring_operator,
    network,
    network_policy,
    nodes,
    paths,
    pki,
    processes,
)

Say = Callable[[str], None]


# Processes started on demand after `up` (localcluster gateway), not part of the cluster's health.
ON_DEMAND = frozenset({"gateway"})


class ClusterError(RuntimeError):
    """The cluster could not start or stop; the message says where and why."""


@dataclass(frozen=True)
class Tools:
    kubernetes: Path
    etcd: Path
    coredns: Path
    helm: Path
    helmfile: Path
    helm_plugins: Path
    prometheus: Path
    metrics_server: Path
    kube_state_metrics: Path
    kube_router: Path
    coredns_version: str

    def kube(self, name: str) -> str:
        return str(self.kubernetes / name)


def build_tools(say: Say) -> Tools:
    try:
        tools = upstream_tools.build("cluster", lambda line: say(f"  {line}"))
    except upstream_tools.ToolsError as error:
        raise ClusterError(str(error)) from None
    return Tools(
        kubernetes=tools.home("kubernetes") / "bin",
        etcd=tools.binary("etcd"),
        coredns=tools.binary("coredns"),
        helm=tools.binary("helm"),
        helmfile=tools.binary("helmfile"),
        helm_plugins=tools.home("helm-diff") / "plugin",
        prometheus=tools.binary("prometheus"),
        metrics_server=tools.binary("metrics-server"),
        kube_state_metrics=tools.binary("kube-state-metrics"),
        kube_router=tools.binary("kube-router"),
        coredns_version=tools.version("coredns"),
    )


@contextlib.contextmanager
def lock() -> Iterator[None]:
    paths.STATE_DIR.mkdir(parents=True, exist_ok=True)
    with (paths.STATE_DIR / ".lock").open("w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ClusterError("another localcluster up/down is running") from None
        yield


def kubectl(
    *args: str, timeout: float = 60, check: bool = True, input: str | None = None
) -> subprocess.CompletedProcess[str]:
    """kubectl against this cluster, whatever KUBECONFIG the caller's shell has."""
    result = subprocess.run(
        [str(paths.BIN_DIR / "kubectl"), f"--kubeconfig={paths.KUBECONFIG}", *args],
        input=input,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if check and result.returncode != 0:
        raise ClusterError(f"kubectl {' '.join(args[:3])}: {result.stderr.strip()}")
    return result


def _apply(what: str, manifest: str) -> None:
    applied = kubectl("apply", "-f", "-", input=manifest, check=False, timeout=120)
    if applied.returncode != 0:
        raise ClusterError(f"{what}: {applied.stderr.strip()}")


def healthy() -> str | None:
    """Why the recorded cluster is not healthy, or None when it is (all daemons, API, node)."""
    running, _ = processes.load()
    if not running:
        return "no cluster recorded"
    # An on-demand add-on (the gateway) that died is not the cluster failing: its own command
    # starts it again.
    dead = [p.name for p in running if not p.alive() and p.name not in ON_DEMAND]
    if dead:
        return f"{', '.join(dead)} not running"
    missing = {"prometheus", "kube-router"} - {p.name for p in running}
    if missing:
        return (
            f"no {', '.join(sorted(missing))} recorded (a cluster started by an older localcluster)"
        )
    if not network.exists():
        return "the node's network namespace is gone"
    if problem := node_not_ready(paths.NODE_NAME):
        return f"node not Ready ({problem})"
    return None


def node_not_ready(name: str) -> str | None:
    """Why the node is not Ready (its condition, or kubectl's error), or None when it is."""
    ready = kubectl(
        "get", "node", name, "-o",
        "jsonpath={.status.conditions[?(@.type=='Ready')].status}", check=False, timeout=10,
    )  # fmt: skip
    if ready.returncode != 0 or ready.stdout.strip() != "True":
        return (ready.stderr or ready.stdout).strip()[:120] or "no Ready condition yet"
    return None


def wait_until(
    what: str, check: Callable[[], bool], timeout: float, name: str | None, say: Say
) -> None:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        try:
            done = check()
        except subprocess.TimeoutExpired:
            # A kubectl that got no answer in its own timeout: a component still starting (a
            # cold kube-apiserver on a busy machine took over 5 s to answer), so not yet.
            done = False
        if done:
            say(f"  {what}: {time.monotonic() - started:.1f} s")
            return
        time.sleep(0.25)
    detail = f"\n{processes.log_tail(name)}" if name else ""
    raise ClusterError(f"{what}: not after {timeout:.0f} s{detail}")


def _write_bin_dir(tools: Tools) -> None:
    """helm, helmfile and kubectl wrappers with the cluster's kubeconfig and helm-diff."""
    paths.BIN_DIR.mkdir(parents=True, exist_ok=True)
    helm_home = paths.STATE_DIR / "helm"
    wrappers = {
        "kubectl": f'exec "{tools.kube("kubectl")}" "$@"',
        "helm": (
            f'export HELM_PLUGINS="{tools.helm_plugins}" HELM_CONFIG_HOME="{helm_home}/config" '
            f'HELM_CACHE_HOME="{helm_home}/cache" HELM_DATA_HOME="{helm_home}/data"\n'
            # helm-diff 3.9 (the newest the proxy serves) renders with `helm template --validate
            # --dry-run`, which Helm 4 refuses; its upgrade dry-run mode works with Helm 4.
            "export HELM_DIFF_USE_UPGRADE_DRY_RUN=true\n"
            f'exec "{tools.helm}" "$@"'
        ),
        "helmfile": f'exec "{tools.helmfile}" "$@"',
    }
    for name, body in wrappers.items():
        script = paths.BIN_DIR / name
        script.write_text(
            "#!/bin/sh\n# The local cluster's tools (tools/localcluster); written by `make cluster`.\n"
            f'export KUBECONFIG="${{KUBECONFIG:-{paths.KUBECONFIG}}}" PATH="{paths.BIN_DIR}:$PATH"\n{body}\n'
        )
        script.chmod(0o755)


def up(say: Say) -> float:
    """Start the cluster; returns the seconds it took (0 when one was already running)."""
    if os.geteuid() != 0:
        raise ClusterError(
            "the local cluster needs root (network namespaces, containerd, the kubelet)"
        )
    with lock():
        tools = build_tools(say)
        _write_bin_dir(tools)
        reason = healthy()
        if reason is None:
            say(f"the cluster is already running (node {paths.NODE_NAME} Ready); nothing to do")
            return 0.0
        running, _ = processes.load()
        if running or network.exists() or paths.DATA_DIR.exists():
            say(f"found a stale cluster ({reason}): cleaning it up first")
            _down()
        started = time.monotonic()
        try:
            _start(tools, say)
        except BaseException:
            if os.environ.get("LOCALCLUSTER_KEEP_FAILED"):
                say("start failed: left as it is for debugging (LOCALCLUSTER_KEEP_FAILED)")
                raise
            say("start failed: stopping what was started (logs stay in .local/cluster/logs)")
            _down(keep_logs=True)
            raise
        return time.monotonic() - started


def _start(tools: Tools, say: Say) -> None:
    for directory in (
        paths.PKI_DIR,
        paths.CONFIG_DIR,
        paths.DATA_DIR,
        paths.RUN_DIR,
        paths.LOG_DIR,
    ):
        directory.mkdir(parents=True, exist_ok=True)
    say("node: network namespace, PKI and configuration")
    network.create()
    pki.create()
    configs.write_all()
    cfg, pkd = paths.CONFIG_DIR, paths.PKI_DIR
    started: list[processes.Process] = []

    def launch(name: str, argv: list[str], *, in_node: bool = True) -> None:
        started.append(processes.start(name, argv, in_node=in_node))
        processes.save(started, phase="starting")

    def api_ready() -> bool:
        return kubectl("get", "--raw", "/readyz", check=False, timeout=5).returncode == 0

    launch("containerd", ["containerd", "--config", str(cfg / "containerd.toml")])
    wait_until("containerd", paths.FIRST_NODE.containerd_socket.exists, 30, "containerd", say)
    launch("etcd", [
        str(tools.etcd), "--name", "node", "--data-dir", str(paths.DATA_DIR / "etcd"),
        "--listen-client-urls", "http://127.0.0.1:2379", "--advertise-client-urls", "http://127.0.0.1:2379",
        "--listen-peer-urls", "http://127.0.0.1:2380", "--initial-advertise-peer-urls", "http://127.0.0.1:2380",
        "--initial-cluster", "node=http://127.0.0.1:2380", "--log-level", "warn",
    ])  # fmt: skip
    launch("kube-apiserver", [
        tools.kube("kube-apiserver"), "--etcd-servers", "http://127.0.0.1:2379",
        "--advertise-address", paths.NODE_IP, "--bind-address", "0.0.0.0", "--secure-port", str(paths.API_PORT),
        "--service-cluster-ip-range", paths.SERVICE_CIDR,
        "--tls-cert-file", str(pkd / "apiserver.crt"), "--tls-private-key-file", str(pkd / "apiserver.key"),
        "--client-ca-file", str(pkd / "ca.crt"),
        "--kubelet-client-certificate", str(pkd / "apiserver-kubelet-client.crt"),
        "--kubelet-client-key", str(pkd / "apiserver-kubelet-client.key"),
        "--kubelet-certificate-authority", str(pkd / "ca.crt"),
        # No DNS knows the node's name: reach the kubelet (logs, exec) by its IP.
        "--kubelet-preferred-address-types", "InternalIP",
        "--service-account-key-file", str(pkd / "service-account.pub"),
        "--service-account-signing-key-file", str(pkd / "service-account.key"),
        "--service-account-issuer", "https://kubernetes.default.svc.cluster.local",
        "--authorization-mode", "Node,RBAC", "--enable-admission-plugins", "NodeRestriction",
        # The aggregation layer (metrics-server): the apiserver proxies as front-proxy-client,
        # straight to the APIService's endpoint (it runs on the host, not behind a ClusterIP).
        "--requestheader-client-ca-file", str(pkd / "front-proxy-ca.crt"),
        "--requestheader-allowed-names", pki.FRONT_PROXY_CLIENT,
        "--requestheader-username-headers", "X-Remote-User",
        "--requestheader-group-headers", "X-Remote-Group",
        "--requestheader-extra-headers-prefix", "X-Remote-Extra-",
        "--proxy-client-cert-file", str(pkd / f"{pki.FRONT_PROXY_CLIENT}.crt"),
        "--proxy-client-key-file", str(pkd / f"{pki.FRONT_PROXY_CLIENT}.key"),
        "--enable-aggregator-routing=true",
        "--allow-privileged=true", "--profiling=false", "--v", "1",
    ])  # fmt: skip
    wait_until("kube-apiserver ready", api_ready, 90, "kube-apiserver", say)
    launch("kube-controller-manager", [
        tools.kube("kube-controller-manager"), "--kubeconfig", str(cfg / "controller-manager.kubeconfig"),
        "--authentication-kubeconfig", str(cfg / "controller-manager.kubeconfig"),
        "--authorization-kubeconfig", str(cfg / "controller-manager.kubeconfig"),
        "--bind-address", "127.0.0.1", "--leader-elect=false", "--use-service-account-credentials",
        "--service-account-private-key-file", str(pkd / "service-account.key"),
        "--root-ca-file", str(pkd / "ca.crt"),
        "--cluster-signing-cert-file", str(pkd / "ca.crt"), "--cluster-signing-key-file", str(pkd / "ca.key"),
        "--service-cluster-ip-range", paths.SERVICE_CIDR, "--v", "1",
    ])  # fmt: skip
    launch("kube-scheduler", [
        tools.kube("kube-scheduler"), "--kubeconfig", str(cfg / "scheduler.kubeconfig"),
        "--authentication-kubeconfig", str(cfg / "scheduler.kubeconfig"),
        "--authorization-kubeconfig", str(cfg / "scheduler.kubeconfig"),
        "--bind-address", "127.0.0.1", "--leader-elect=false", "--v", "1",
    ])  # fmt: skip
    launch("kubelet", nodes.kubelet_command(tools.kube("kubelet"), paths.FIRST_NODE))
    launch("kube-proxy", nodes.kube_proxy_command(tools.kube("kube-proxy"), paths.FIRST_NODE))
    wait_until(f"node {paths.NODE_NAME} Ready",
               lambda: node_not_ready(paths.NODE_NAME) is None, 120, "kubelet", say)  # fmt: skip
    # Before the first pod. Each new pod is policed a moment after it starts (kube-router acts
    # on the pod's update event): docs/local-cluster.md, "NetworkPolicies, enforced".
    _apply("the NetworkPolicy enforcer's RBAC", network_policy.manifest())
    launch("kube-router", network_policy.command(tools.kube_router))
    wait_until(
        "NetworkPolicy enforcement (kube-router)", network_policy.ready, 60, "kube-router", say
    )

    say("images: pause and CoreDNS built here, the platform's from `make images`")
    engine = detect()
    coredns_tag = f"localhost/platform-coredns:{tools.coredns_version}"
    node_images = images.build_node_images(engine, tools.coredns, coredns_tag)
    platform = images.platform_image_tags(engine)
    images.import_into_node(engine, node_images + platform)
    say(f"  imported {len(node_images) + len(platform)} images")

    manifest = (paths.MANIFESTS / "coredns.yaml").read_text().replace("COREDNS_IMAGE", coredns_tag)
    _apply("CoreDNS", manifest)
    kubectl(
        "-n",
        "kube-system",
        "rollout",
        "status",
        "deployment/coredns",
        "--timeout=120s",
        timeout=130,
    )
    say("  CoreDNS ready")

    say("platform: its Secrets; metrics-server, kube-state-metrics and Prometheus")
    _apply("the platform's Secrets", access.manifest())
    _apply("the metrics daemons' RBAC and APIService", cluster_metrics.manifest())
    launch(
        "metrics-server",
        cluster_metrics.metrics_server_command(tools.metrics_server),
        in_node=False,
    )
    launch(
        "kube-state-metrics",
        cluster_metrics.state_metrics_command(tools.kube_state_metrics),
        in_node=False,
    )
    monitoring.write_config()
    launch("prometheus", monitoring.command(tools.prometheus), in_node=False)
    wait_until(f"Prometheus at {monitoring.URL}", monitoring.ready, 60, "prometheus", say)
    wait_until(
        "kube-state-metrics", cluster_metrics.state_metrics_ready, 60, "kube-state-metrics", say
    )

    def resource_metrics_available() -> bool:
        condition = kubectl(
            "get", "apiservice", "v1beta1.metrics.k8s.io", "-o",
            "jsonpath={.status.conditions[?(@.type=='Available')].status}", check=False, timeout=5,
        )  # fmt: skip
        return condition.stdout.strip() == "True"

    wait_until("the resource metrics API", resource_metrics_available, 60, "metrics-server", say)
    processes.save(started, phase="ready", started_at=time.time())


def install_monitoring_operator(say: Say) -> str:
    """prometheus-operator and a Prometheus it manages, on the running cluster (the chart's
    monitoring.external path, monitoring_operator.py); returns that Prometheus' address."""
    if reason := healthy():
        raise ClusterError(f"the local cluster is not running ({reason}): make cluster")
    try:
        upstream_tools.build("monitoring-operator", lambda line: say(f"  {line}"))
        return monitoring_operator.install(kubectl, say)
    except (
        upstream_tools.ToolsError,
        monitoring_operator.OperatorError,
        EngineError,
        subprocess.SubprocessError,
        OSError,
    ) as error:
        raise ClusterError(str(error)) from None


def install_gateway(say: Say) -> str:
    """The Gateway API CRDs, a GatewayClass and Gateway, and Traefik serving them on the host
    (gateway.py), on the running cluster; returns the gateway's address. Idempotent."""
    if reason := healthy():
        raise ClusterError(f"the local cluster is not running ({reason}): make cluster")
    try:
        cache = upstream_tools.build("gateway", lambda line: say(f"  {line}"))
        gateway.install_resources(kubectl, gateway.crd_directory(cache), say)
        with lock():
            running, state = processes.load()
            if not any(p.name == "gateway" and p.alive() for p in running):
                binary = cache.binary("traefik")
                say(f"  Traefik {cache.version('traefik')} on the host at {gateway.ADDRESS}")
                started = processes.start(
                    "gateway", gateway.command(binary), in_node=False, env=gateway.environment()
                )
                try:
                    wait_until("Traefik answering", gateway.ready, 60, "gateway", say)
                except ClusterError:
                    started.stop()
                    raise
                # Recorded once it answers, so `down` stops it with the rest.
                processes.save([*(p for p in running if p.name != "gateway"), started], **state)
        gateway.await_programmed(kubectl)
        say(f"  Gateway {gateway.NAMESPACE}/{gateway.GATEWAY} programmed")
    except (
        upstream_tools.ToolsError,
        gateway.GatewayError,
        subprocess.SubprocessError,
        OSError,
    ) as error:
        raise ClusterError(str(error)) from None
    return gateway.ADDRESS


# Node daemons that can be restarted in place: what runs on the node (the pods' containers and
# their shims) does not depend on them staying up.
RESTARTABLE = ("kubelet", "containerd", "kube-proxy")


def restart(name: str, say: Say) -> float:
    """Stop one node daemon and start it again as it was started; returns the seconds until the
    node reports again (its Lease renewed after the restart) and is Ready."""
    if name not in RESTARTABLE:
        raise ClusterError(f"cannot restart {name!r}: one of {', '.join(RESTARTABLE)}")
    if cluster_reason := healthy():
        raise ClusterError(f"the local cluster is not running ({cluster_reason}): make cluster")
    with lock():
        running, state = processes.load()
        old = next(p for p in running if p.name == name)
        if not old.argv:
            raise ClusterError(f"{name} was started by an older localcluster: make cluster-down")
        started, started_at = time.monotonic(), time.time()
        old.stop()
        say(f"  {name} stopped (pid {old.pid})")
        new = processes.start(name, old.argv, in_node=old.in_node)
        processes.save([new if p.name == name else p for p in running], **state)
        say(f"  {name} started again (pid {new.pid})")

        def heartbeat_after_restart() -> bool:
            # The kubelet renews its Lease every 10 s; a renewal after the restart means the
            # node reports again (its Ready condition alone can lag the 40 s grace period).
            lease = kubectl(
                "-n", "kube-node-lease", "get", "lease", paths.NODE_NAME, "-o",
                "jsonpath={.spec.renewTime}", check=False, timeout=5,
            )  # fmt: skip
            return lease.returncode == 0 and _after(lease.stdout.strip(), started_at)

        wait_until(f"node {paths.NODE_NAME} reporting after the {name} restart",
              heartbeat_after_restart, 60, "kubelet", say)  # fmt: skip
        if reason := healthy():
            raise ClusterError(f"after restarting {name}: {reason}")
        return time.monotonic() - started


def _after(timestamp: str, epoch: float) -> bool:
    try:
        return datetime.fromisoformat(timestamp.replace("Z", "+00:00")).timestamp() >= epoch
    except ValueError:
        return False


def load_platform_images(named: list[str] | None = None) -> int:
    """(Re-)import images into the running nodes: ``named``, else the platform's image tags."""
    if cluster_reason := healthy():
        raise ClusterError(f"the local cluster is not running ({cluster_reason}): make cluster")
    engine = detect()
    missing = [ref for ref in named or () if not engine.image_exists(ref)]
    if missing:
        raise ClusterError(f"no such image here: {', '.join(missing)} (build or tag it first)")
    tags = named or images.platform_image_tags(engine)
    images.import_into_node(engine, tags)
    if processes.load(paths.SECOND_NODE_STATE)[0]:
        images.import_into_node(engine, tags, paths.SECOND_NODE)
    return len(tags)


def down(say: Say) -> bool:
    """Stop the cluster and remove its state; False when there was nothing to stop."""
    if os.geteuid() != 0:
        raise ClusterError("stopping the local cluster needs root")
    with lock():
        running, _ = processes.load()
        if not running and not network.exists() and not paths.DATA_DIR.exists():
            say("no local cluster is running")
            return False
        _down(say=say)
        return True


def _down(keep_logs: bool = False, say: Say = lambda _m: None) -> None:
    nodes.tear_down_joined(paths.SECOND_NODE, paths.SECOND_NODE_STATE)
    running, _ = processes.load()
    by_name = {p.name: p for p in running}
    for name in (
        "gateway",
        "prometheus",
        "kube-state-metrics",
        "metrics-server",
        "kube-router",
        "kube-proxy",
        "kubelet",
        "kube-scheduler",
        "kube-controller-manager",
    ):
        if name in by_name:
            by_name[name].stop()
    nodes.kill_containers(paths.FIRST_NODE)
    for name in ("containerd", "kube-apiserver", "etcd"):
        if name in by_name:
            by_name[name].stop()
    nodes.kill_containers(paths.FIRST_NODE)  # shims outlive containerd
    nodes.unmount_under(paths.DATA_DIR, paths.RUN_DIR)
    network.delete()
    for directory in (paths.DATA_DIR, paths.RUN_DIR, paths.PKI_DIR, paths.CONFIG_DIR):
        shutil.rmtree(directory, ignore_errors=True)
    paths.STATE_FILE.unlink(missing_ok=True)
    paths.KUBECONFIG.unlink(missing_ok=True)
    if not keep_logs:
        shutil.rmtree(paths.LOG_DIR, ignore_errors=True)
    say("local cluster stopped and its state removed")
