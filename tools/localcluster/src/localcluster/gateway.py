"""A Gateway API implementation on the local cluster, for the chart's `canaryRouting.mode: gateway`.

Traefik, built from its Go module, runs on the host as the cluster's Prometheus does, with its
kubernetesgateway provider watching the node's API. The standard-channel Gateway API CRDs are
read from their module. A GatewayClass and one Gateway (namespace gateway-system, an HTTP
listener on port 8000) take HTTPRoutes from every namespace; the chart attaches one per service.

Traefik picks a backend for each request by the route's weights and sends it to a pod address
from the EndpointSlices, not through kube-proxy: a 10 % step takes 10 % of the requests, also on
kept-alive connections. It listens on the host's end of the node's veth, which every service's
NetworkPolicy already lets in (`externalPeers`). Its JSON access log names the backend Service
of each request, so a test can count the split.

`localcluster gateway` installs it on the running cluster; a second run changes nothing.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

from platform_images import upstream_tools

from localcluster import health, paths

PORT = 8000
ADDRESS = f"{paths.HOST_IP}:{PORT}"
# Traefik's own entrypoint (its /ping), beside the gateway's, on the same host address.
PING = f"http://{paths.HOST_IP}:8081/ping"
NAMESPACE = "gateway-system"
GATEWAY = "platform"
CLASS = "traefik"
CONTROLLER = "traefik.io/gateway-controller"
ACCESS_LOG = paths.LOG_DIR / "gateway-access.log"

Say = Callable[[str], None]
Kubectl = Callable[..., subprocess.CompletedProcess[str]]


class GatewayError(RuntimeError):
    """The gateway did not come up; the message says which part and why."""


def crd_directory(cache: upstream_tools.Cache) -> Path:
    module = Path((cache.home("gateway-api") / "module-dir").read_text().strip())
    crds = module / "config" / "crd" / "standard"
    if not crds.is_dir():
        raise GatewayError(
            f"{module} is gone from the Go module cache (the CRDs are read from there): "
            f"rm -rf {cache.home('gateway-api')} and run `localcluster gateway` again"
        )
    return crds


def command(binary: Path) -> list[str]:
    return [
        str(binary),
        f"--entrypoints.web.address={ADDRESS}",
        f"--entrypoints.traefik.address={paths.HOST_IP}:8081",
        "--ping=true",
        "--providers.kubernetesgateway=true",
        "--accesslog=true",
        "--accesslog.format=json",
        f"--accesslog.filepath={ACCESS_LOG}",
        # Nothing here reaches the internet: no version check, no usage report.
        "--global.checknewversion=false",
        "--global.sendanonymoususage=false",
    ]


def environment() -> dict[str, str]:
    """Traefik outside a cluster finds the API through KUBECONFIG."""
    return {"KUBECONFIG": str(paths.KUBECONFIG)}


def manifests() -> str:
    objects = [
        {
            "apiVersion": "gateway.networking.k8s.io/v1",
            "kind": "GatewayClass",
            "metadata": {"name": CLASS},
            "spec": {"controllerName": CONTROLLER},
        },
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}},
        {
            "apiVersion": "gateway.networking.k8s.io/v1",
            "kind": "Gateway",
            "metadata": {"name": GATEWAY, "namespace": NAMESPACE},
            "spec": {
                "gatewayClassName": CLASS,
                # Traefik serves a listener on the entrypoint with the same port.
                "listeners": [
                    {
                        "name": "http",
                        "protocol": "HTTP",
                        "port": PORT,
                        "allowedRoutes": {"namespaces": {"from": "All"}},
                    }
                ],
            },
        },
    ]
    return "\n---\n".join(json.dumps(o) for o in objects)


def ready() -> bool:
    return health.answers_ok(PING)


def install_resources(kubectl: Kubectl, crds: Path, say: Say) -> None:
    # Server-side: the CRDs are too large for the last-applied annotation of a client-side apply.
    kubectl("apply", "--server-side", "--force-conflicts", "-f", str(crds), timeout=120)
    kubectl("wait", "--for=condition=Established", "crd", "--all", "--timeout=60s", timeout=70)
    say(f"  Gateway API CRDs established (from {crds})")
    kubectl("apply", "-f", "-", input=manifests(), timeout=60)


def await_programmed(kubectl: Kubectl) -> None:
    kubectl("-n", NAMESPACE, "wait", f"gateway/{GATEWAY}", "--for=condition=Programmed",
            "--timeout=60s", timeout=70)  # fmt: skip
