"""localcluster: a real single-node Kubernetes on this machine (make cluster / cluster-down)."""

from __future__ import annotations

import shlex
import time
from typing import Annotated

import typer
from rich.console import Console

from localcluster import access, cluster, offline_chart, paths, second_node

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)
console = Console(highlight=False, soft_wrap=True)


def _fail(message: str) -> None:
    console.print(f"[red]error:[/red] {message}")
    raise typer.Exit(1)


@app.command()
def up() -> None:
    """Build the pinned tools (first run), start the cluster, wait for a Ready node and DNS."""
    started = time.monotonic()
    try:
        took = cluster.up(console.print)
    except cluster.ClusterError as error:
        _fail(str(error))
    if took:
        console.print(
            f"cluster up in {took:.0f} s (tools and all: {time.monotonic() - started:.0f} s); "
            f"KUBECONFIG={paths.KUBECONFIG}, tools in {paths.BIN_DIR}"
        )


@app.command()
def down() -> None:
    """Stop every process the cluster started, unmount, delete its network and state."""
    try:
        cluster.down(console.print)
    except cluster.ClusterError as error:
        _fail(str(error))


@app.command("offline-chart")
def offline_chart_command() -> None:
    """Write .local/charts/platform: the umbrella chart without its remote dependencies."""
    left_out = offline_chart.write()
    console.print(
        f"{offline_chart.TARGET.relative_to(paths.REPO_ROOT)}: charts/platform without "
        f"{', '.join(left_out)} (not downloadable here; disabled in the local environment)"
    )


@app.command("load-images")
def load_images_command(
    image: Annotated[
        list[str] | None,
        typer.Argument(help="images to import (default: every tag `make images` built)"),
    ] = None,
) -> None:
    """Import images into the node's containerd: the named ones, else every tag of the images
    `make images` built (a new version is a new tag: tag it, then load it)."""
    try:
        count = cluster.load_platform_images(image or None)
    except cluster.ClusterError as error:
        _fail(str(error))
    console.print(f"imported {count} image tags into the node")


@app.command()
def restart(
    component: Annotated[str, typer.Argument(help=f"one of {', '.join(cluster.RESTARTABLE)}")],
) -> None:
    """Restart one node daemon in place (the pods keep running); wait until the node reports."""
    try:
        took = cluster.restart(component, console.print)
    except cluster.ClusterError as error:
        _fail(str(error))
    console.print(f"{component} restarted; the node reported again after {took:.1f} s")


@app.command("add-node")
def add_node() -> None:
    """Join a second node (platform-node-2) to the running cluster: its own namespace,
    containerd with the first node's images, kubelet, kube-proxy and kube-router. Idempotent."""
    try:
        took = second_node.add(console.print)
    except cluster.ClusterError as error:
        _fail(str(error))
    if took:
        console.print(f"node {paths.SECOND_NODE.name} joined and schedulable in {took:.0f} s")


@app.command("remove-node")
def remove_node() -> None:
    """Drain the second node (PodDisruptionBudgets respected), delete it and stop all it runs."""
    try:
        second_node.remove(console.print)
    except cluster.ClusterError as error:
        _fail(str(error))


@app.command("monitoring-operator")
def monitoring_operator_command() -> None:
    """Install prometheus-operator and a Prometheus it manages (namespace monitoring), which
    selects PodMonitors and PrometheusRules as kube-prometheus-stack does: the chart's
    monitoring.external path. Idempotent."""
    try:
        address = cluster.install_monitoring_operator(console.print)
    except cluster.ClusterError as error:
        _fail(str(error))
    console.print(f"prometheus-operator running; its Prometheus at http://{address}")


@app.command()
def gateway() -> None:
    """Install the Gateway API and Traefik serving it (a Gateway in gateway-system), for the
    chart's canaryRouting.mode: gateway. Idempotent."""
    try:
        address = cluster.install_gateway(console.print)
    except cluster.ClusterError as error:
        _fail(str(error))
    console.print(f"the gateway is serving HTTPRoutes at http://{address}")


@app.command()
def status() -> None:
    """Say whether the cluster runs and is healthy (exit 1 if not)."""
    reason = cluster.healthy()
    if reason:
        _fail(f"the local cluster is not healthy: {reason}")
    console.print(
        f"the local cluster is running: node {paths.NODE_NAME} Ready, KUBECONFIG={paths.KUBECONFIG}"
    )


@app.command()
def env() -> None:
    """Print the exports that wire helm, helmfile, kubectl and `platformctl -e local` to the
    cluster: eval "$(.venv/bin/localcluster env)"."""
    variables = {"PATH": f"{paths.BIN_DIR}:$PATH", **access.environment()}
    for name, value in variables.items():
        quoted = f'"{value}"' if name == "PATH" else shlex.quote(value)
        print(f"export {name}={quoted}")
