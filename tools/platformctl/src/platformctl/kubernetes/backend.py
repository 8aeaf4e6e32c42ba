"""The Kubernetes backend: the runbook's calls mapped onto helmfile, helm and kubectl.

- ``deploy`` writes the idle color's version into ``environments/<env>.yaml`` and runs
  ``helmfile apply``; ``wait_ready`` is ``kubectl rollout status``.
- ``switch`` checks the idle color's endpoints are all ready (the preview Service), flips
  ``activeColor`` in the file, runs ``helmfile apply``, then waits until the live Service's
  endpoints are the new color's pods only.
- ``set_weight`` (a canary step) writes ``canaryWeight`` and the idle color's replicas. By
  replicas, the live Service then selects both colors and the replica ratio sets the weight; by
  gateway, the service's HTTPRoute weights the live and preview Services (kubernetes.canary).
- ``status`` reads the release (``helm history``, ``helm get values``), the live Service
  selectors and the EndpointSlices.

The file stays the durable record: every change is written there first, then applied, and
undone in the file when the apply fails, so git never says something the cluster refused.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from platformctl.backend import BackendError, ColorView, ServiceView, Split
from platformctl.catalog import COLORS, IMAGE_TAG, SERVICES
from platformctl.kubernetes import canary, cluster
from platformctl.kubernetes.commands import (
    CommandError,
    Commands,
    CompletedCommand,
    GiveUp,
)
from platformctl.kubernetes.envfile import (
    EnvironmentFile,
    EnvironmentFileError,
    KeyPath,
    active_color_path,
    canary_weight_path,
    replicas_path,
    version_path,
)
from platformctl.kubernetes.environment import Environment
from platformctl.kubernetes.forwards import PortForwards
from platformctl.kubernetes.release import (
    APPLIED,
    Lineage,
    Revision,
    ServiceRelease,
    distinct_states,
    judge,
    lineage,
    service_releases,
)
from platformctl.traffic import Credentials

ROUTE_RESOURCE = "httproutes.gateway.networking.k8s.io"
SERVICE_PORT = 80  # every service's Service port (charts/platform/charts/<svc>/values.yaml)
PROMETHEUS_SERVICE = "platform-prometheus-server"  # prometheus.server.fullnameOverride
PROMETHEUS_PORT = 80
# An image tag, as the deploy workflow checks it.
CREDENTIAL_VARIABLES = {
    "username": "PLATFORMCTL_SMOKE_USERNAME",
    "password": "PLATFORMCTL_SMOKE_PASSWORD",
    "client_id": "PLATFORMCTL_SMOKE_CLIENT_ID",
    "client_secret": "PLATFORMCTL_SMOKE_CLIENT_SECRET",
}


def credentials_from_environment(env: Mapping[str, str] | None = None) -> Credentials | None:
    """The smoke and analysis-load identity (a user, and a client with payments:charge and
    notifications:send), from ``PLATFORMCTL_SMOKE_*``; None when not configured."""
    env = os.environ if env is None else env
    found = {field: env.get(name, "") for field, name in CREDENTIAL_VARIABLES.items()}
    found["client_id"] = found["client_id"] or "orders"
    if not all(found.values()):
        return None
    return Credentials(**found)


@dataclass(frozen=True)
class Timeouts:
    apply: float = 600.0  # helmfile.yaml's helmDefaults.timeout
    switch: float = 60.0  # until the live Service's endpoints are the new color's only
    poll: float = 1.0


class KubernetesBackend:
    name = "kubernetes"

    def __init__(
        self,
        environment: Environment,
        commands: Commands,
        *,
        prometheus_url: str | None = None,
        credentials: Credentials | None = None,
        forward: bool = True,
        timeouts: Timeouts | None = None,
    ) -> None:
        self.environment = environment
        self.commands = commands
        self.file = EnvironmentFile(environment.file)
        self.forward = forward
        self.timeouts = timeouts or Timeouts()
        self._prometheus_url = prometheus_url or environment.prometheus_url
        self._credentials = credentials
        self._forwards = PortForwards(commands, environment.namespace, environment.kube_context)
        self._values: dict[int, dict[str, Any]] = {}
        # What the cluster runs, per service; kept current after every apply of ours.
        self._running: dict[str, ServiceRelease] | None = None
        self._undo_deploy: dict[KeyPath, str] = {}

    # -- the command lines ------------------------------------------------------------------

    def helm(self, *args: str, output_json: bool = False) -> list[str]:
        context = ["--kube-context", self.environment.kube_context]
        return [
            "helm",
            *args,
            "--namespace",
            self.environment.namespace,
            *(context if self.environment.kube_context else []),
            *(["--output", "json"] if output_json else []),
        ]

    def kubectl(self, *args: str) -> list[str]:
        context = ["--context", self.environment.kube_context]
        return [
            "kubectl",
            *(context if self.environment.kube_context else []),
            "--namespace",
            self.environment.namespace,
            *args,
        ]

    def helmfile_apply(self) -> list[str]:
        env = self.environment
        return [
            "helmfile",
            "--file",
            str(env.helmfile),
            "--environment",
            env.name,
            "apply",
            "--suppress-secrets",
            *env.helmfile_flags,
        ]

    def _run(self, argv: Sequence[str], give_up: GiveUp | None = None) -> CompletedCommand:
        try:
            return self.commands.run(argv, give_up=give_up).check()
        except CommandError as exc:
            raise BackendError(str(exc)) from None

    def _json(self, argv: Sequence[str]) -> Any:
        output = self._run(argv).stdout
        try:
            return json.loads(output)
        except json.JSONDecodeError:
            raise BackendError(f"`{' '.join(argv)}` did not print JSON: {output[:200]}") from None

    # -- reading -----------------------------------------------------------------------------

    def ensure_up(self) -> None:
        release = self.environment.release
        status = self._json(self.helm("status", release, output_json=True))
        state = (status.get("info") or {}).get("status")
        if state != "deployed":
            raise BackendError(
                f"release {release} in {self.environment.namespace} is {state!r}, not deployed: "
                "finish or roll back that operation first (`helm history`)"
            )

    def history(self) -> list[Revision]:
        """The release's revisions, newest first."""
        raw = self._json(self.helm("history", self.environment.release, output_json=True))
        return sorted((Revision.from_json(r) for r in raw), key=lambda r: -r.number)

    def values(self, revision: int) -> dict[str, Any]:
        """``helm get values`` of one explicit revision (the user-supplied values)."""
        if revision not in self._values:
            argv = self.helm(
                "get", "values", self.environment.release, "--revision", str(revision),
                output_json=True,
            )  # fmt: skip
            self._values[revision] = self._json(argv) or {}
        return self._values[revision]

    def status(self) -> dict[str, ServiceView]:
        revisions = [r for r in self.history() if r.status in APPLIED]
        if not revisions or revisions[0].status != "deployed":
            raise BackendError(f"release {self.environment.release} has no deployed revision")
        running = service_releases(self.values(revisions[0].number), SERVICES)
        lineages = self._lineages(revisions, running)
        live = self._selected_colors()
        found = self._endpoints([*SERVICES, *map(cluster.preview_service, SERVICES)])
        routes = self._routes() if any(r.canary_weight for r in running.values()) else {}
        self._running = running
        views = {}
        for name in SERVICES:
            release = running[name]
            if name not in live:
                raise BackendError(f"Service {name} in {self.environment.namespace} not found")
            # The Service is the truth about traffic; the history explains the idle color only
            # when both agree on which color is live.
            agree = live[name] == release.live
            history = lineages[name] if agree else Lineage(pending=False, previous=None)
            pods = {
                e.pod: e for e in found.get(name, []) + found.get(cluster.preview_service(name), [])
            }
            colors = {}
            for color in COLORS:
                mine = [e for e in pods.values() if cluster.pod_color(name, e.pod) == color]
                colors[color] = ColorView(
                    version=release.versions[color],
                    running=not release.scaled_down(color),
                    ready=sum(1 for e in mine if e.ready),
                    instances=len(mine),
                    pending=history.pending and color != live[name],
                )
            views[name] = ServiceView(
                name=name,
                live=live[name],
                previous=history.previous,
                colors=colors,
                live_url=self._url(name),
                preview_url=self._url(cluster.preview_service(name)),
                canary_weight=self._canary_share(name, release, found.get(name, []), routes),
            )
        return views

    @staticmethod
    def _canary_share(
        name: str,
        release: ServiceRelease,
        live_endpoints: list[cluster.Endpoint],
        routes: Mapping[str, Any],
    ) -> int | None:
        """The canary's share of live traffic during a step: the weight its HTTPRoute gives it
        (routed by a gateway), else its share of the live Service's ready endpoints."""
        if not release.canary_weight:
            return None
        if name in routes:
            return release.canary_weight
        return canary.measured_share(name, release.idle, live_endpoints)

    def _lineages(
        self, revisions: Sequence[Revision], running: Mapping[str, ServiceRelease]
    ) -> dict[str, Lineage]:
        """Walk back through the applied revisions until each service's state is judged."""
        states = [running]
        for revision in revisions[1:]:
            judged = {s: judge(distinct_states(states, s), complete=False) for s in SERVICES}
            if all(judged.values()):
                return {name: found for name, found in judged.items() if found is not None}
            states.append(service_releases(self.values(revision.number), SERVICES))
        return {name: lineage(distinct_states(states, name)) for name in SERVICES}

    def _selected_colors(self) -> dict[str, str]:
        selector = f"app.kubernetes.io/instance={self.environment.release}"
        return cluster.selected_colors(
            self._json(self.kubectl("get", "services", "--selector", selector, "--output", "json"))
        )

    def _endpoints(self, services: Sequence[str]) -> dict[str, list[cluster.Endpoint]]:
        selector = f"{cluster.SERVICE_NAME_LABEL} in ({','.join(services)})"
        return cluster.endpoints(
            self._json(
                self.kubectl("get", "endpointslices", "--selector", selector, "--output", "json")
            )
        )

    def _url(self, service: str, port: int = SERVICE_PORT, *, strict: bool = False) -> str:
        if self.forward:
            return self._forwards.url(service, port, strict=strict)
        # Reachable from inside the cluster (a CI runner pod, a debug pod).
        host = f"{service}.{self.environment.namespace}.svc.cluster.local"
        return f"http://{host}" if port == 80 else f"http://{host}:{port}"

    def _newest_values(self) -> dict[str, Any]:
        """The chart values of the newest revision read so far ({} before any)."""
        return self._values[max(self._values)] if self._values else {}

    def prometheus_url(self) -> str:
        if self._prometheus_url:
            return self._prometheus_url
        running = self._newest_values()
        if ((running.get("monitoring") or {}).get("external") or {}).get("enabled"):
            raise BackendError(
                f"{self.environment.name} uses the cluster's own Prometheus "
                "(monitoring.external); pass --prometheus-url"
            )
        return self._url(PROMETHEUS_SERVICE, PROMETHEUS_PORT, strict=True)

    def selector(self, service: str, color: str) -> str:
        version = self._current()[service].versions[color]
        # The pod labels `app` (as service), `color` and `version` reach every series through
        # the chart's scrape config; namespace keeps environments sharing a Prometheus apart.
        labels = {
            "namespace": self.environment.namespace,
            "service": service,
            "color": color,
            "version": version,
        }
        return ",".join(f"{key}={json.dumps(value)}" for key, value in labels.items())

    def credentials(self) -> Credentials:
        if self._credentials is None:
            raise BackendError(
                "smoke checks and analysis load need credentials in the cluster: set "
                + ", ".join(CREDENTIAL_VARIABLES.values())
                + f" ({CREDENTIAL_VARIABLES['client_id']} defaults to orders)"
            )
        return self._credentials

    def _current(self) -> dict[str, ServiceRelease]:
        if self._running is None:
            self.status()
        assert self._running is not None
        return self._running

    # -- changing ----------------------------------------------------------------------------

    def deploy(
        self,
        services: Sequence[str],
        version: str,
        faults: Mapping[str, str],
        preview_replicas: int | None = None,
    ) -> None:
        if faults:
            raise BackendError(
                "--fault rehearses a bad release on the local processes only (-e processes); "
                "in a cluster set "
                "<service>.<color>.faults in the chart values (refused in production)"
            )
        if not IMAGE_TAG.fullmatch(version):
            raise BackendError(f"{version!r} is not an image tag")
        self.credentials()  # the smoke checks need them: fail before changing anything
        running = self._in_step_with_file()
        # The idle color's size goes with the deploy: a preview size, or full again after a
        # scale-down.
        preview = preview_replicas or self.environment.preview_replicas
        small = preview is not None and preview < self.environment.size.floor
        changes = {}
        for name in services:
            changes[version_path(name, running[name].idle)] = version
            changes[replicas_path(name, running[name].idle)] = str(preview) if small else ""
        self._undo_deploy = self._write(changes)
        idle = {name: running[name].idle for name in services}
        self._apply_or_restore(
            self._undo_deploy,
            "deploy",
            diagnose=lambda: self._pod_problems(idle),
            give_up=lambda: (
                "a new pod will never become ready"
                if self._pod_problems(idle, hopeless_only=True, version=version)
                else None
            ),
        )
        self._running = None  # versions and sizes changed: read them back when needed

    def abandon(self, services: Sequence[str]) -> None:
        restore = {path: old for path, old in self._undo_deploy.items() if path[1] in services}
        if restore:
            self._write(restore)
            self._run(self.helmfile_apply())
            self._running = None
        self._undo_deploy = {}

    def abort(self, services: Sequence[str]) -> dict[str, str]:
        # The chart runs both colors: the idle one goes back to the version the deploy
        # replaced, which the release history keeps (release.lineage).
        running = self._in_step_with_file()
        revisions = [r for r in self.history() if r.status in APPLIED]
        lineages = self._lineages(revisions, running)
        restored = {}
        for name in services:
            restores = lineages[name].restores
            if restores is None:
                raise BackendError(f"{name}: the release history shows no deploy to abort")
            restored[name] = restores
        # A step still in place ends first, and is waited for: the canary's pods stop only once
        # nothing routes to them (a gateway applies a route change a moment after the apply).
        stepped = {name: running[name].idle for name in services if running[name].canary_weight}
        if stepped:
            self.set_weight(stepped, 0)
            running = self._in_step_with_file()
        # The discarded color goes to zero: nothing runs that nobody asked for, and the zero is
        # what the release history reads as an abort (release.judge).
        changes = {}
        for name, version in restored.items():
            changes[version_path(name, running[name].idle)] = version
            changes[replicas_path(name, running[name].idle)] = "0"
            changes[canary_weight_path(name)] = ""  # a canary step interrupted earlier ends
        self._apply_or_restore(self._write(changes), "abort")
        self._running = None
        return {name: f"back at {version}, scaled to zero" for name, version in restored.items()}

    def wait_ready(self, targets: Mapping[str, str], timeout: float) -> None:
        for name, color in targets.items():
            argv = self.kubectl(
                "rollout", "status", f"deployment/{cluster.deployment(name, color)}",
                f"--timeout={max(1, round(timeout))}s",
            )  # fmt: skip
            result = self.commands.run(argv)
            if result.returncode != 0:
                detail = (result.stderr or result.stdout).strip()
                raise BackendError(f"{name} {color} not ready within {timeout:.0f}s: {detail}")
        # The rollout replaced pods an open port-forward may have been pinned to.
        self._forwards.restart(_both_services(targets), strict=True)

    def start(self, targets: Mapping[str, str]) -> list[str]:
        self._in_step_with_file()
        sizes = self.file.state().services
        below = [name for name, color in targets.items() if sizes[name].replicas[color] != ""]
        if below:
            changes = {replicas_path(name, targets[name]): "" for name in below}
            # A canary step scaled up would take more live traffic than it was analysed at:
            # the stable color takes it all back while the canary comes to full size.
            changes |= {canary_weight_path(name): "" for name in below}
            # helmfile (helm --wait) returns once the new pods are ready.
            self._apply_or_restore(self._write(changes), "scaling up")
            self._running = None
            if self.environment.size.autoscaling:
                self._await_autoscaled({name: targets[name] for name in below})
        return below

    def _await_autoscaled(self, targets: Mapping[str, str]) -> None:
        """An autoscaled color back at "": the chart leaves `replicas` to the HPA, so the
        Deployment restarts at 1 and helm's wait is over before the HPA has raised it to its
        minimum. Wait for that too (wait_ready then waits for the pods)."""
        floor = self.environment.size.floor
        deadline = time.monotonic() + self.timeouts.apply
        for name, color in targets.items():
            deployment = cluster.deployment(name, color)
            while True:
                spec = self._json(self.kubectl("get", "deployment", deployment, "--output", "json"))
                if int((spec.get("spec") or {}).get("replicas") or 0) >= floor:
                    break
                if time.monotonic() > deadline:
                    raise BackendError(
                        f"{deployment}: its HPA did not raise it to {floor} replicas within "
                        f"{self.timeouts.apply:.0f}s"
                    )
                time.sleep(self.timeouts.poll)

    def switch(self, targets: Mapping[str, str], *, rollback: bool) -> float:
        running = self._in_step_with_file()
        previews = self._endpoints([cluster.preview_service(name) for name in targets])
        for name, color in targets.items():
            problem = cluster.serving_problem(
                name, color, previews.get(cluster.preview_service(name), [])
            )
            if problem:
                raise BackendError(
                    f"not switching {name} to {color}: its preview Service has {problem}"
                )
        started = time.perf_counter()
        # The switch ends a canary step: the live Service selects one color again.
        changes = self._color_changes(targets) | {canary_weight_path(name): "" for name in targets}
        self._apply_or_restore(self._write(changes), "rollback" if rollback else "promotion")
        self._running = {
            name: replace(release, live=targets[name], canary_weight=0)
            if name in targets
            else release
            for name, release in running.items()
        }
        self.await_live(targets)
        # A step ended by this switch: its HTTPRoute, back on the live Service alone, too.
        routes = self._routes() if any(running[name].canary_weight for name in targets) else {}
        ended = {name: color for name, color in targets.items() if name in routes}
        if ended:
            self._await_routes(ended, dict.fromkeys(ended, 0), {})
        # Not strict: traffic has switched; a forward that stays down shows up in the
        # post-promotion analysis' load, never as a failed switch.
        self._forwards.restart(_both_services(targets), strict=False)
        return time.perf_counter() - started

    def set_weight(self, targets: Mapping[str, str], percent: int) -> Split:
        running = self._in_step_with_file()
        for name, color in targets.items():
            if color == running[name].live:
                raise BackendError(f"{name} {color} is live: a canary step needs the idle color")
        # A service with an HTTPRoute (canaryRouting gateway, and the service routed) steps by
        # the route's weights; any other by replica ratio.
        routes = self._routes()  # one kubectl call, not one per service
        routed = {name for name in targets if name in routes}
        started = time.perf_counter()
        changes: dict[KeyPath, str] = {}
        pods: dict[str, int] = {}
        weights: dict[str, int] = {}
        for name, color in targets.items():
            if 0 < percent < 100:
                # Next to the stable color's pods as they are now (an HPA may have scaled it).
                stable = self._deployment_replicas(cluster.deployment(name, running[name].live))
                if name in routed:
                    pods[name] = canary.routed_canary_pods(stable, percent)
                    weights[name] = percent  # the route's weight: exact at any size
                else:
                    pods[name] = canary.canary_pods(stable, percent)
                    # The share of live traffic the pods give, which the chart records.
                    weights[name] = canary.share(pods[name], stable)
                changes[canary_weight_path(name)] = str(weights[name])
                # "" when that is the color's full size, as the chart reads it back.
                changes[replicas_path(name, color)] = self.environment.size.entry(pods[name])
            else:
                # All traffic back on the stable color; the canary keeps its pods, pending.
                changes[canary_weight_path(name)] = ""
                weights[name] = 0
        undo = self._write(changes)
        if undo:
            self._apply_or_restore(undo, f"canary step {percent}%")
            self._running = None
        if routed:
            self._await_routes({name: targets[name] for name in routed}, weights, pods)
        by_replicas = {name: color for name, color in targets.items() if name not in routed}
        if by_replicas and pods:
            self._await_endpoints(
                by_replicas,
                lambda name, color, found: canary.split_problem(
                    name, running[name].live, color, pods[name], found
                ),
                "the canary split",
            )
        elif by_replicas:
            self.await_live({name: running[name].live for name in by_replicas})
        # The preview forwards may be pinned to pods the step removed.
        self._forwards.restart(_both_services(targets), strict=False)
        return Split(time.perf_counter() - started, weights, frozenset(routed))

    def _routes(self) -> dict[str, Any]:
        """The release's HTTPRoutes by service (canaryRouting gateway; none otherwise, and the
        Gateway API need not be installed)."""
        if self.environment.canary_routing != "gateway":
            return {}
        argv = self.kubectl("get", ROUTE_RESOURCE, "--output", "json")
        return {
            item["metadata"]["name"]: item
            for item in self._json(argv)["items"]
            if item["metadata"]["name"] in SERVICES
        }

    def _await_routes(
        self, targets: Mapping[str, str], weights: Mapping[str, int], pods: Mapping[str, int]
    ) -> None:
        """Gateway routing: poll until each canary has its pods ready behind the preview
        Service and the environment's Gateway has accepted the HTTPRoute that weights it
        ``weights[name]``."""
        gateway = self.environment.gateway

        def problems() -> dict[str, str | None]:
            previews = {name: cluster.preview_service(name) for name in targets}
            found = self._endpoints(list(previews.values())) if pods else {}
            routes = self._routes()
            return {
                name: (
                    canary.ready_canary_problem(found.get(previews[name], []), pods[name])
                    if name in pods
                    else None
                )
                or canary.route_problem(routes.get(name), previews[name], weights[name], gateway)
                for name in targets
            }

        self._poll_until(problems, "the canary's HTTPRoute weights")

    def _deployment_replicas(self, deployment: str) -> int:
        spec = self._json(self.kubectl("get", "deployment", deployment, "--output", "json"))
        return int((spec.get("spec") or {}).get("replicas") or 0)

    def scale_down_delay(self) -> float | None:
        return self.environment.scale_down_delay

    def schedule_scale_down(self, targets: Mapping[str, str], delay: float) -> bool:
        return False  # nothing in the cluster would: the caller waits, then calls scale_down

    def scale_down(self, targets: Mapping[str, str]) -> list[str]:
        # Re-read: another platformctl may have changed the release meanwhile. A color that a
        # rollback made live again, or that a deploy filled with a new release, stays.
        self.forget_running()
        views = self.status()
        self._in_step_with_file()
        down = [
            name
            for name, color in targets.items()
            if views[name].live != color and not views[name].colors[color].pending
        ]
        if down:
            changes = {replicas_path(name, targets[name]): "0" for name in down}
            self._apply_or_restore(self._write(changes), "scale-down")
            self._running = None
        return down

    def await_live(self, targets: Mapping[str, str]) -> None:
        """Return once each live Service's endpoints are only ``color``'s pods, all ready."""
        self._await_endpoints(targets, cluster.serving_problem, "the new color")

    def _await_endpoints(
        self,
        targets: Mapping[str, str],
        problem: Callable[[str, str, list[cluster.Endpoint]], str | None],
        what: str,
    ) -> None:
        """Poll each live Service's endpoints until ``problem(service, color, endpoints)`` finds
        nothing wrong for every ``service: color``, or the switch timeout passes."""

        def problems() -> dict[str, str | None]:
            found = self._endpoints(list(targets))
            return {
                name: problem(name, color, found.get(name, [])) for name, color in targets.items()
            }

        self._poll_until(problems, what)

    def _poll_until(self, problems: Callable[[], Mapping[str, str | None]], what: str) -> None:
        """Call ``problems`` until it finds none for any service, or the switch timeout
        passes (then say which are left)."""
        deadline = time.monotonic() + self.timeouts.switch
        while True:
            left = {name: p for name, p in problems().items() if p}
            if not left:
                return
            if time.monotonic() > deadline:
                details = "; ".join(f"{name}: {p}" for name, p in left.items())
                raise BackendError(
                    f"live traffic did not reach {what} within "
                    f"{self.timeouts.switch:.0f}s: {details}"
                )
            time.sleep(self.timeouts.poll)

    def forget_running(self) -> None:
        """The release changed behind the backend's back (``helm rollback``): re-read it."""
        self._running = None
        self._values.clear()

    def close(self) -> None:
        self._forwards.close()

    def __enter__(self) -> KubernetesBackend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the environment file ----------------------------------------------------------------

    def _in_step_with_file(self) -> dict[str, ServiceRelease]:
        """The cluster's state, refusing to go on when the file says something else: applying
        it would ship that difference too (a flip nobody asked for)."""
        running = self._current()
        try:
            state = self.file.state()
        except EnvironmentFileError as exc:
            raise BackendError(str(exc)) from None
        drift = []
        for name, release in running.items():
            entry = state.services.get(name)
            if entry is None:
                drift.append(f"{name} missing")
                continue
            if state.live(name) != release.live:
                drift.append(f"{name} live {state.live(name)} (cluster: {release.live})")
            for color in COLORS:
                if entry.versions[color] != release.versions[color]:
                    drift.append(
                        f"{name} {color} {entry.versions[color]} "
                        f"(cluster: {release.versions[color]})"
                    )
                runs = self.environment.size.entry(release.replicas.get(color))
                if entry.replicas[color] != runs:
                    drift.append(
                        f'{name} {color} replicas "{entry.replicas[color]}" (cluster: "{runs}")'
                    )
            step = str(release.canary_weight or "")
            if entry.canary_weight != step:
                drift.append(f'{name} canaryWeight "{entry.canary_weight}" (cluster: "{step}")')
        deployed = self._newest_values()
        mode = ((deployed.get("global") or {}).get("canaryRouting") or {}).get("mode") or "replicas"
        if mode != self.environment.canary_routing and any(
            r.canary_weight for r in running.values()
        ):
            # The step was sized for the other mode: applying would change its split.
            drift.append(
                f"canaryRouting.mode {self.environment.canary_routing} (cluster: {mode}) "
                "during a canary step"
            )
        if drift:
            raise BackendError(
                f"{self.file.path.name} differs from the cluster: {'; '.join(drift)}. "
                f"Apply it (`helmfile -e {self.environment.name} apply`) or revert it first"
            )
        return running

    def _pod_problems(
        self, targets: Mapping[str, str], *, hopeless_only: bool = False, version: str = ""
    ) -> str:
        """What the pods of each service's color report while not ready; raises BackendError
        when kubectl cannot tell (the caller reports that instead). ``hopeless_only`` keeps the
        pods that will never become ready (cluster.pod_failure) and ``version`` the pods that
        run that image tag (a deploy's new pods, not the ones they replace)."""
        found = []
        judge = cluster.pod_failure if hopeless_only else cluster.pod_problem
        for name, color in targets.items():
            selector = f"app.kubernetes.io/name={name},color={color}"
            pods = self._json(
                self.kubectl(
                    "get", "pods", "--selector", selector, "--output", "json",
                    "--request-timeout=10s",
                )
            )  # fmt: skip
            for pod in pods.get("items", []):
                if version and not cluster.runs_version(pod, version):
                    continue
                problem = judge(pod)
                if problem:
                    found.append(f"{pod['metadata']['name']} {problem}")
        return "; ".join(found)

    def _color_changes(self, targets: Mapping[str, str]) -> dict[KeyPath, str]:
        """One value when every service moves together, else each service's own."""
        state = self.file.state()
        colors = set(targets.values())
        together = (
            set(targets) == set(state.services)
            and len(colors) == 1
            and not any(entry.active_color for entry in state.services.values())
        )
        if together:
            return {active_color_path(): colors.pop()}
        return {
            active_color_path(name): "" if color == state.active_color else color
            for name, color in targets.items()
        }

    def _write(self, changes: Mapping[KeyPath, str]) -> dict[KeyPath, str]:
        try:
            return self.file.set(changes)
        except EnvironmentFileError as exc:
            raise BackendError(str(exc)) from None

    def _apply_or_restore(
        self,
        undo: Mapping[KeyPath, str],
        what: str,
        diagnose: Callable[[], str] | None = None,
        give_up: GiveUp | None = None,
    ) -> None:
        """`helmfile apply`; if it fails (or ``give_up`` finds a reason to stop waiting for it),
        put the file back as ``undo`` says and apply that."""
        try:
            self._run(self.helmfile_apply(), give_up=_never_failing(give_up))
        except BackendError as exc:
            # Read why before restoring (the restore replaces the pods that show it), but never
            # let the reading keep the file from being restored.
            try:
                problems = diagnose() if diagnose else ""
            except Exception as reading:
                problems = f"could not read the pods: {reading}"
            if problems:
                exc = BackendError(f"{exc} (the new pods: {problems})")
            self._write(undo)
            self._running = None
            try:
                self._run(self.helmfile_apply())
                after = "re-applied it"
            except BackendError as again:
                after = f"re-applying it failed too ({again})"
            raise BackendError(
                f"{what} failed: {exc}. Restored {self.file.path.name} and {after}; "
                f"check `platformctl status -e {self.environment.name}`"
            ) from None


def _never_failing(give_up: GiveUp | None) -> GiveUp | None:
    """``give_up``, where an error reading the cluster means "keep waiting": helm's own timeout
    still bounds the wait."""
    if give_up is None:
        return None

    def asked() -> str | None:
        try:
            return give_up()
        except BackendError:
            return None

    return asked


def _both_services(targets: Mapping[str, str]) -> list[str]:
    """The live and preview Services of each service in ``targets``."""
    return [svc for name in targets for svc in (name, cluster.preview_service(name))]
