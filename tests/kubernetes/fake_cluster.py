"""A stand-in for helmfile, helm and kubectl at the one boundary that cannot exist here.

It implements :class:`platformctl.kubernetes.commands.Commands`: it RECORDS every argv, and
answers in the JSON shapes the real tools print. Its state follows the commands:

- ``helmfile apply`` renders the (edited) environment file through the real
  ``environments/platform-values.yaml.gotmpl`` with Helm's Go template engine
  (tests/delivery/helmfile_state.py) and records a new release revision with those values;
- ``helm rollback N`` records a new revision with revision N's values;
- Services select colors as the chart does (``<svc>`` the live color, ``<svc>-preview`` the
  idle one); EndpointSlices list the selected Deployment's pods (``<svc>-<color>-<hash>-<id>``);
- ``kubectl port-forward svc/X L:R`` forwards 127.0.0.1:L to the real uvicorn process (or real
  Prometheus) behind one pod of the Service's selected color and version.
"""

from __future__ import annotations

import contextlib
import json
import re
import shlex
import socket
import socketserver
import threading
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from platformctl.kubernetes.commands import CompletedCommand, GiveUp

from tests.delivery.helmfile_state import ENVIRONMENTS_DIR, chart_values

SERVICES = ("auth", "orders", "payments", "notifications")
RELEASE = "platform"


@dataclass
class FakeRevision:
    number: int
    values: dict[str, Any]
    status: str
    description: str

    def history_json(self) -> dict[str, Any]:
        return {
            "revision": self.number,
            "updated": f"2026-11-26T20:{self.number:02d}:00.000000+00:00",
            "status": self.status,
            "chart": "platform-0.1.0",
            "app_version": "0.1.0",
            "description": self.description,
        }


@dataclass
class FakeCluster:
    repo: Path  # a copy of helmfile.yaml and environments/
    environment: str
    namespace: str
    # (service, version) -> port of a real process running that release; pods of other
    # versions exist (and are ready) but nothing answers behind them.
    processes: Mapping[tuple[str, str], int] = field(default_factory=dict)
    prometheus_port: int | None = None
    replicas: int = 2
    not_ready: set[tuple[str, str]] = field(default_factory=set)  # (service, color)
    fail_applies: int = 0  # the next N `helmfile apply` fail
    crashing: set[tuple[str, str]] = field(default_factory=set)  # (service, color) crash-loop
    unreachable: set[str] = field(default_factory=set)  # Services port-forward cannot reach
    calls: list[tuple[str, ...]] = field(default_factory=list)
    interrupted: list[tuple[str, ...]] = field(default_factory=list)  # commands give_up stopped
    revisions: list[FakeRevision] = field(default_factory=list)
    forwards: list[_Forward] = field(default_factory=list)

    # -- the Commands protocol ---------------------------------------------------------------

    def run(
        self, argv: Sequence[str], *, input: str | None = None, give_up: GiveUp | None = None
    ) -> CompletedCommand:
        argv = tuple(argv)
        self.calls.append(argv)
        try:
            out = self._answer(argv)
        except _Failed as exc:
            return CompletedCommand(argv, 1, "", str(exc))
        # With pods crash-looping, helm --wait would wait out its timeout: give_up, asked once,
        # may stop it (helm then records the release as failed; the one before stays deployed).
        reason = give_up() if give_up and self.crashing else None
        if reason:
            self.revisions[-1].status = "failed"
            self.revisions[-2].status = "deployed"
            self.interrupted.append(argv)
            cancelled = (
                "Release platform has been cancelled.\nError: UPGRADE FAILED: context canceled"
            )
            return CompletedCommand(argv, 143, "", cancelled, reason)
        if not isinstance(out, str):
            out = json.dumps(out)
        return CompletedCommand(argv, 0, out, "")

    def start(self, argv: Sequence[str]) -> _Forward:
        argv = tuple(argv)
        self.calls.append(argv)
        target, ports = argv[-2], argv[-1]
        local, remote = (int(p) for p in ports.split(":"))
        if target.removeprefix("svc/") in self.unreachable:
            return _FailedForward()
        forward = _Forward(local, remote, self._upstream(target.removeprefix("svc/")))
        self.forwards.append(forward)
        return forward

    # -- helpers for tests -------------------------------------------------------------------

    def install(self) -> None:
        """`helmfile apply` as an operator ran it before the test (not recorded)."""
        self._apply("Install complete")

    def operator_apply(self) -> None:
        self._apply("Upgrade complete")

    def deployed(self) -> FakeRevision:
        return next(r for r in reversed(self.revisions) if r.status == "deployed")

    def live_colors(self) -> dict[str, str]:
        return {name: self._live(self.deployed().values, name) for name in SERVICES}

    def close(self) -> None:
        for forward in self.forwards:
            forward.stop()

    # -- answers -----------------------------------------------------------------------------

    def _answer(self, argv: tuple[str, ...]) -> Any:
        tool, args = argv[0], list(argv[1:])
        if tool == "helmfile":
            assert args[:4] == ["--file", str(self.repo / "helmfile.yaml"), "--environment",
                                self.environment], argv  # fmt: skip
            assert args[4] == "apply", argv
            if self.fail_applies:
                self.fail_applies -= 1
                raise _Failed("Error: UPGRADE FAILED: context deadline exceeded")
            self._apply("Upgrade complete")
            return "UPDATED RELEASES:\nNAME       NAMESPACE   CHART             VERSION\nplatform\n"
        options = _options(args)
        assert options.get("--namespace") == self.namespace, argv
        if tool == "helm":
            return self._helm(args, options)
        if tool == "kubectl":
            return self._kubectl(args, options)
        raise AssertionError(f"unexpected command {shlex.join(argv)}")

    def _helm(self, args: list[str], options: dict[str, str]) -> Any:
        verb = args[0]
        if verb == "status":
            latest = self.revisions[-1]
            info = {"status": latest.status, "description": latest.description}
            return {"name": RELEASE, "namespace": self.namespace, "version": latest.number,
                    "info": info}  # fmt: skip
        if verb == "history":
            assert options["--output"] == "json"
            return [r.history_json() for r in self.revisions]
        if args[:3] == ["get", "values", RELEASE]:
            number = int(options["--revision"])
            return next(r.values for r in self.revisions if r.number == number)
        if verb == "rollback":
            number = int(args[2])
            assert "--wait" in args
            target = next(r for r in self.revisions if r.number == number)
            self._record(json.loads(json.dumps(target.values)), f"Rollback to {number}")
            return "Rollback was a success! Happy Helming!\n"
        raise AssertionError(f"unexpected helm {args}")

    def _kubectl(self, args: list[str], options: dict[str, str]) -> Any:
        verb = [a for a in args if not a.startswith("-") and a not in options.values()]
        if verb[:2] == ["get", "services"]:
            assert options["--selector"] == f"app.kubernetes.io/instance={RELEASE}"
            return {"apiVersion": "v1", "kind": "List", "items": self._services()}
        if verb[:2] == ["get", "pods"]:
            labels = dict(pair.split("=") for pair in options["--selector"].split(","))
            service, color = labels["app.kubernetes.io/name"], labels["color"]
            pods = [self._pod(service, color, pod) for pod in self._pods(service, color)]
            return {"apiVersion": "v1", "kind": "List", "items": pods}
        if verb[:2] == ["get", "endpointslices"]:
            match = re.fullmatch(r"kubernetes\.io/service-name in \((.*)\)", options["--selector"])
            assert match, options
            names = match.group(1).split(",")
            return {"apiVersion": "v1", "kind": "List",
                    "items": [self._slice(name) for name in names]}  # fmt: skip
        if verb[:2] == ["rollout", "status"]:
            deployment = verb[2].removeprefix("deployment/")
            service, color = deployment.rsplit("-", 1)
            if (service, color) in self.not_ready:
                raise _Failed(f'error: deployment "{deployment}" exceeded its progress deadline')
            return f'deployment "{deployment}" successfully rolled out\n'
        raise AssertionError(f"unexpected kubectl {args}")

    # -- the model ---------------------------------------------------------------------------

    def _apply(self, description: str) -> None:
        own_file = ENVIRONMENTS_DIR / f"{self.environment}.yaml"
        text = (self.repo / "environments" / f"{self.environment}.yaml").read_text()
        self._record(chart_values(self.environment, {own_file: text}), description)

    def _record(self, values: dict[str, Any], description: str) -> None:
        for revision in self.revisions:
            if revision.status == "deployed":
                revision.status = "superseded"
        self.revisions.append(
            FakeRevision(len(self.revisions) + 1, values, "deployed", description)
        )

    @staticmethod
    def _live(values: Mapping[str, Any], service: str) -> str:
        return values[service].get("activeColor") or values["global"]["activeColor"]

    def _selected(self, service_name: str) -> tuple[str, str] | None:
        """(service, color) behind a Service name, as the chart's selectors pick them."""
        values = self.deployed().values
        service = service_name.removesuffix("-preview")
        if service not in SERVICES:
            return None
        live = self._live(values, service)
        if service_name.endswith("-preview"):
            return service, "green" if live == "blue" else "blue"
        return service, live

    def _version(self, service: str, color: str) -> str:
        return str(self.deployed().values[service][color]["image"]["tag"])

    def _pods(self, service: str, color: str) -> list[str]:
        # The pod-template hash changes with the version, as a ReplicaSet's does.
        digest = f"{zlib.crc32(self._version(service, color).encode()) % 10**8:08d}"
        spec = self.deployed().values[service][color]
        scaled_down = spec.get("replicas") == 0 and not spec["autoscaling"]["enabled"]
        count = 0 if scaled_down else self.replicas
        return [f"{service}-{color}-{digest}-p{i}" for i in range(count)]

    def _pod(self, service: str, color: str, name: str) -> dict[str, Any]:
        if (service, color) in self.crashing:
            status = {"state": {"waiting": {"reason": "CrashLoopBackOff"}}, "restartCount": 4,
                      "lastState": {"terminated": {"exitCode": 3, "reason": "Error"}}}  # fmt: skip
        else:
            status = {"state": {"running": {}}, "restartCount": 0, "lastState": {}}
        image = f"ghcr.io/example-org/platform-{service}:{self._version(service, color)}"
        return {"metadata": {"name": name, "labels": {"color": color}},
                "spec": {"containers": [{"name": service, "image": image}]},
                "status": {"containerStatuses": [{"name": service, **status}]}}  # fmt: skip

    def _services(self) -> list[dict[str, Any]]:
        items = []
        for service in SERVICES:
            for name in (service, f"{service}-preview"):
                _, color = self._selected(name) or ("", "")
                items.append({
                    "apiVersion": "v1", "kind": "Service",
                    "metadata": {"name": name, "namespace": self.namespace, "labels": {
                        "app.kubernetes.io/instance": RELEASE,
                        "platform/traffic": "preview" if name.endswith("-preview") else "active",
                    }},
                    "spec": {"type": "ClusterIP", "selector": {
                        "app.kubernetes.io/name": service,
                        "app.kubernetes.io/instance": RELEASE, "color": color,
                    }, "ports": [{"name": "http", "port": 80, "targetPort": "http"}]},
                })  # fmt: skip
        items.append({
            "apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "platform-prometheus-server", "namespace": self.namespace,
                         "labels": {"app.kubernetes.io/instance": RELEASE}},
            "spec": {"selector": {"app.kubernetes.io/name": "prometheus"},
                     "ports": [{"name": "http", "port": 80, "targetPort": 9090}]},
        })  # fmt: skip
        return items

    def _slice(self, name: str) -> dict[str, Any]:
        selected = self._selected(name)
        endpoints = []
        if selected:
            service, color = selected
            for index, pod in enumerate(self._pods(service, color)):
                ready = (service, color) not in self.not_ready
                endpoints.append({
                    "addresses": [f"10.244.{SERVICES.index(service)}.{index + 10}"],
                    "conditions": {"ready": ready, "serving": ready, "terminating": False},
                    "targetRef": {"kind": "Pod", "name": pod, "namespace": self.namespace},
                })  # fmt: skip
        return {
            "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"name": f"{name}-x7k2p", "namespace": self.namespace,
                         "labels": {"kubernetes.io/service-name": name}},
            "addressType": "IPv4", "endpoints": endpoints,
            "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}],
        }  # fmt: skip

    def _upstream(self, service_name: str) -> int | None:
        if service_name == "platform-prometheus-server":
            return self.prometheus_port
        selected = self._selected(service_name)
        if selected is None:
            return None
        service, color = selected
        return self.processes.get((service, self._version(service, color)))


class _Failed(Exception):
    pass


def _options(args: list[str]) -> dict[str, str]:
    """``--flag value`` and ``--flag=value`` pairs of an argv."""
    options = {}
    for index, arg in enumerate(args):
        if arg.startswith("--") and "=" in arg:
            key, _, value = arg.partition("=")
            options[key] = value
        elif arg.startswith("--") and index + 1 < len(args) and not args[index + 1].startswith("-"):
            options[arg] = args[index + 1]
    return options


class _Forward:
    """``kubectl port-forward``: a TCP relay from 127.0.0.1:local to the pod's process."""

    def __init__(self, local: int, remote: int, upstream: int | None) -> None:
        self.local, self.remote, self.upstream = local, remote, upstream
        relay_to = upstream

        class Relay(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                if relay_to is None:
                    return  # nothing runs behind this pod: the connection just closes
                with socket.create_connection(("127.0.0.1", relay_to), timeout=10) as far:
                    pump = threading.Thread(target=_pipe, args=(far, self.request), daemon=True)
                    pump.start()
                    _pipe(self.request, far)
                    pump.join(10)

        self.server = _RelayServer(("127.0.0.1", local), Relay)
        threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True).start()
        self._lines = [f"Forwarding from 127.0.0.1:{local} -> {remote}"]

    def read_line(self, timeout: float) -> str | None:
        return self._lines.pop(0) if self._lines else None

    def stop(self) -> None:
        with contextlib.suppress(OSError):
            self.server.shutdown()
            self.server.server_close()


class _FailedForward:
    """What kubectl prints when no pod behind the Service runs, before it exits 1."""

    def __init__(self) -> None:
        self._lines = [
            "error: unable to forward port because pod is not running. Current status=Pending"
        ]

    def read_line(self, timeout: float) -> str | None:
        return self._lines.pop(0) if self._lines else None

    def stop(self) -> None:
        pass


class _RelayServer(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


def _pipe(source: socket.socket, sink: socket.socket) -> None:
    with contextlib.suppress(OSError):
        while data := source.recv(65536):
            sink.sendall(data)
    with contextlib.suppress(OSError):
        sink.shutdown(socket.SHUT_WR)
