"""The `platformctl` command line: the blue/green runbook as verbs."""

from __future__ import annotations

import itertools
import json
import os
import signal
import sys
from contextlib import ExitStack
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from platformctl import output, runbook
from platformctl.analysis.config import (
    AnalysisConfig,
    AnalysisConfigError,
    load_config,
    parse_duration,
)
from platformctl.backend import Backend, BackendError
from platformctl.capacity import report as capacity_report
from platformctl.catalog import (
    IMAGE_TAG,
    FaultSpecError,
    UnknownServiceError,
    parse_faults,
    resolve_services,
)
from platformctl.local import runtime
from platformctl.local.analysis_file import analysis_path
from platformctl.local.backend import LocalBackend
from platformctl.paths import Home

app = typer.Typer(
    help="Run the blue/green platform: up, status, deploy, promote, rollback, down.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
# Wide enough for the status table when piped (rich assumes 80 columns without a terminal).
console = Console(highlight=False, width=None if sys.stdout.isatty() else 160)
errors = Console(stderr=True, highlight=False, width=None if sys.stderr.isatty() else 160)

ServiceArg = Annotated[str, typer.Argument(help="a service name, or `all`", show_default=False)]
# The default: this machine's processes behind caddy. Every other name is a helmfile
# environment, `local` among them (the cluster `make cluster` runs here).
PROCESSES = "processes"
EnvironmentOpt = Annotated[
    str,
    typer.Option(
        "--environment",
        "-e",
        help="`processes` (this machine's processes) or a helmfile environment: "
        "dev, staging, prod, kind, local (the cluster from `make cluster`)",
    ),
]
PrometheusOpt = Annotated[
    str | None,
    typer.Option(
        help="Prometheus the analysis queries (Kubernetes; default: the environment's "
        "platformctl.prometheusUrl, else a port-forward to the chart's)"
    ),
]
KUBERNETES_READY_TIMEOUT = 600.0  # helmfile.yaml's helmDefaults.timeout

# Opened backends (their kubectl port-forwards) are closed when the verb ends.
_open = ExitStack()


@app.callback()
def main(ctx: typer.Context) -> None:
    """Run the blue/green platform: up, status, deploy, promote, rollback, down."""
    ctx.call_on_close(_open.close)


def fail(message: str, code: int) -> typer.Exit:
    errors.print(f"[bold red]error:[/] {message}", soft_wrap=True)
    return typer.Exit(code)


def backend_for(
    environment: str, *, prometheus_url: str | None = None, forward: bool = False
) -> Backend:
    if environment == PROCESSES:
        if prometheus_url is not None:
            raise fail(
                "--prometheus-url is for Kubernetes environments; the processes run their own", 2
            )
        return LocalBackend()
    from platformctl.kubernetes import build_backend

    try:
        backend = build_backend(environment, prometheus_url, forward=forward)
    except BackendError as exc:
        raise fail(str(exc), 2) from None
    return _open.enter_context(backend)


def services_or_exit(target: str) -> list[str]:
    try:
        return resolve_services(target)
    except UnknownServiceError as exc:
        raise fail(str(exc), 2) from None


def run(action: Any) -> Any:
    """Turn the runbook's errors into one red line and an exit code."""
    try:
        return action()
    except runbook.RunbookError as exc:
        raise fail(str(exc), exc.exit_code) from None
    except (BackendError, AnalysisConfigError) as exc:
        raise fail(str(exc), 1) from None


@app.command()
def up(
    foreground: Annotated[
        bool, typer.Option("--foreground", help="stay attached; Ctrl-C stops everything")
    ] = False,
    ephemeral_ports: Annotated[
        bool, typer.Option(help="pick free ports instead of 8001-8004/9001-9004/9090")
    ] = False,
    scrape_interval: Annotated[str | None, typer.Option(help="Prometheus scrape interval")] = None,
    scale_down_delay: Annotated[
        float | None,
        typer.Option(help="seconds the old color stays up after a promotion; -1 keeps it"),
    ] = None,
    replicas: Annotated[int | None, typer.Option(min=1, max=4, help="instances per color")] = None,
    preview_replicas: Annotated[
        int | None,
        typer.Option(min=1, max=4, help="instances a deploy starts until promote scales it up"),
    ] = None,
    shutdown_delay: Annotated[
        float | None, typer.Option(help="seconds an instance serves after SIGTERM (not ready)")
    ] = None,
    drain_timeout: Annotated[float | None, typer.Option(help="uvicorn's graceful drain")] = None,
    analysis: Annotated[
        Path | None, typer.Option(help="analysis config used by promote (default: built in)")
    ] = None,
    quiet: Annotated[bool, typer.Option(hidden=True)] = False,
) -> None:
    """Start the local platform: caddy, Prometheus and the services' colors in the state."""
    home = Home.discover()
    changes = {
        key: value
        for key, value in {
            "scrape_interval": scrape_interval,
            "scale_down_delay_seconds": scale_down_delay,
            "replicas": replicas,
            "preview_replicas": preview_replicas,
            "shutdown_delay_seconds": shutdown_delay,
            "drain_timeout_seconds": drain_timeout,
            "analysis_file": str(analysis.resolve()) if analysis else None,
        }.items()
        if value is not None
    }
    ports = runtime.ephemeral_ports() if ephemeral_ports else None
    run(lambda: runtime.prepare(home, ports, changes) if not quiet else None)
    backend = LocalBackend(home)
    if foreground:

        def ready() -> None:
            if not quiet:
                console.print(output.status_table(backend.status()))
                console.print("platform is up; Ctrl-C stops it")
            else:
                print("platform is up", flush=True)

        def failed(message: str) -> None:
            errors.print(f"[bold red]error:[/] {message}")
            os.kill(os.getpid(), signal.SIGTERM)

        run(lambda: runtime.run_foreground(home, ready, failed))
        if not quiet:
            console.print("platform stopped")
        return
    pid = run(lambda: runtime.start_background(home))
    timeout = backend.load().runtime.ready_timeout_seconds
    try:
        runtime.wait_platform_ready(backend, timeout)
    except BackendError as exc:
        runtime.stop(home)
        raise fail(f"the platform did not come up: {exc}", 1) from None
    console.print(output.status_table(backend.status()))
    console.print(f"platform is up (supervisor pid {pid}, state in {home.state_file})")


@app.command()
def down() -> None:
    """Stop everything gracefully; the state (live colors, versions) is kept for `up`."""
    home = Home.discover()
    stopped = run(lambda: runtime.stop(home))
    console.print("platform stopped" if stopped else "the platform was not running")


@app.command()
def status(
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
    environment: EnvironmentOpt = PROCESSES,
) -> None:
    """Per service: live color, version and readiness per color, URLs."""
    backend = backend_for(environment)
    views = run(backend.status)
    if as_json:
        payload: dict[str, Any] = {
            "services": {name: {**asdict(view), "idle": view.idle} for name, view in views.items()}
        }
        if isinstance(backend, LocalBackend):
            payload["prometheus_url"] = backend.prometheus_url()
        print(json.dumps(payload, indent=2))
        return
    console.print(output.status_table(views))


@app.command()
def deploy(
    service: ServiceArg,
    version: Annotated[str, typer.Option(help="the version label of the release")],
    fault: Annotated[
        str | None,
        typer.Option(help="rehearse a bad release, e.g. error_rate=0.3,latency_ms=200"),
    ] = None,
    preview_replicas: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="run the idle color this small until promote scales it up "
            "(default: the environment's previewReplicas, or `up --preview-replicas`)",
        ),
    ] = None,
    auto_promote_after: Annotated[
        str | None,
        typer.Option(
            help="then promote by itself once the idle color has passed its pre-promotion "
            "analysis for this long (e.g. 90s, 10m); a failed round leaves it pending",
        ),
    ] = None,
    analysis: Annotated[
        Path | None, typer.Option(help="analysis config for --auto-promote-after")
    ] = None,
    environment: EnvironmentOpt = PROCESSES,
    prometheus_url: PrometheusOpt = None,
) -> None:
    """Start VERSION in the idle color, wait until ready, smoke-test it via the preview port;
    with --auto-promote-after, analyse it for that long and promote it."""
    services = services_or_exit(service)
    # The version becomes an image tag on Kubernetes and a label locally: refuse what no
    # registry would accept (e.g. "../../x") before anything changes, on either backend.
    if not IMAGE_TAG.fullmatch(version):
        raise fail(
            f"version {version!r} is not a valid image tag "
            "(letters, digits, '_', '.', '-'; at most 128; not starting with '.' or '-')",
            2,
        )
    try:
        faults = parse_faults(fault)
    except FaultSpecError as exc:
        raise fail(str(exc), 2) from None
    soak = _auto_promotion(auto_promote_after, analysis, prometheus_url)
    backend = backend_for(environment, prometheus_url=prometheus_url, forward=True)
    config = run(lambda: _analysis_config(backend, analysis)) if soak is not None else None
    timeout = _ready_timeout(backend)
    run(
        lambda: runbook.deploy(
            backend, services, version, faults, console, timeout, preview_replicas
        )
    )
    if soak is not None:
        assert config is not None
        run(
            lambda: runbook.auto_promote(
                backend, services, config, console, soak, ready_timeout=timeout
            )
        )


@app.command()
def promote(
    service: ServiceArg,
    skip_analysis: Annotated[
        bool, typer.Option(help="switch without pre- and post-promotion analysis")
    ] = False,
    analysis: Annotated[Path | None, typer.Option(help="analysis config file")] = None,
    scale_down_delay: Annotated[
        float | None,
        typer.Option(
            help="seconds the old color keeps its full size afterwards; -1 keeps it "
            "(default: the environment's scaleDownDelaySeconds, or `up --scale-down-delay`)"
        ),
    ] = None,
    environment: EnvironmentOpt = PROCESSES,
    prometheus_url: PrometheusOpt = None,
) -> None:
    """Analyse the idle color, bring it to full size, switch live traffic to it, watch it, roll
    back if it breaks; then scale the old color down after the delay."""
    services = services_or_exit(service)
    backend = backend_for(environment, prometheus_url=prometheus_url, forward=True)
    config = run(lambda: _analysis_config(backend, analysis))
    timeout = _ready_timeout(backend)
    run(
        lambda: runbook.promote(
            backend,
            services,
            config,
            console,
            skip_analysis=skip_analysis,
            scale_down_delay=scale_down_delay,
            ready_timeout=timeout,
        )
    )


@app.command()
def canary(
    service: ServiceArg,
    steps: Annotated[
        str, typer.Option(help="percent of live traffic per step, rising, the last 100")
    ] = "10,25,50,100",
    analysis: Annotated[Path | None, typer.Option(help="analysis config file")] = None,
    scale_down_delay: Annotated[
        float | None,
        typer.Option(help="seconds the old color keeps its full size afterwards; -1 keeps it"),
    ] = None,
    environment: EnvironmentOpt = PROCESSES,
    prometheus_url: PrometheusOpt = None,
) -> None:
    """Shift live traffic to the idle color step by step, analysing the canary at each step; a
    failing step returns all traffic to the stable color. The last step promotes."""
    services = services_or_exit(service)
    percents = _canary_steps(steps)
    backend = backend_for(environment, prometheus_url=prometheus_url, forward=True)
    config = run(lambda: _analysis_config(backend, analysis))
    timeout = _ready_timeout(backend)
    run(
        lambda: runbook.canary(
            backend,
            services,
            percents,
            config,
            console,
            scale_down_delay=scale_down_delay,
            ready_timeout=timeout,
        )
    )


def _canary_steps(text: str) -> list[int]:
    try:
        steps = [int(part) for part in text.split(",")]
    except ValueError:
        raise fail(
            f"--steps {text!r}: percents separated by commas, e.g. 10,25,50,100", 2
        ) from None
    rising = all(a < b for a, b in itertools.pairwise(steps))
    if not steps or not rising or steps[0] < 1 or steps[-1] != 100:
        raise fail(f"--steps {text!r}: rising percents from 1 up to a last step of 100", 2)
    return steps


@app.command()
def abort(service: ServiceArg, environment: EnvironmentOpt = PROCESSES) -> None:
    """Discard the idle color's deploy before promotion: locally it stops, on Kubernetes it goes
    back to the version it ran before (recorded in the environment file). Live is untouched."""
    services = services_or_exit(service)
    backend = backend_for(environment)
    run(lambda: runbook.abort(backend, services, console))


@app.command()
def rollback(
    service: ServiceArg,
    environment: EnvironmentOpt = PROCESSES,
    to_revision: Annotated[
        int | None,
        typer.Option(min=1, help="helm rollback to this explicit revision (Kubernetes only)"),
    ] = None,
) -> None:
    """Switch live traffic back to the previous color (restarting it if scaled down)."""
    services = services_or_exit(service)
    if to_revision is not None and environment == PROCESSES:
        raise fail(
            "--to-revision needs a Kubernetes environment (-e dev|staging|prod|kind|local)", 2
        )
    backend = backend_for(environment)
    timeout = _ready_timeout(backend)
    if to_revision is None:
        run(lambda: runbook.rollback(backend, services, console, timeout))
        return
    from platformctl.kubernetes import rollback_to_revision

    run(lambda: rollback_to_revision(backend, services, to_revision, console, timeout))


def _auto_promotion(
    after: str | None, analysis: Path | None, prometheus_url: str | None
) -> float | None:
    """deploy's --auto-promote-after in seconds; its companions make no sense without it."""
    if after is None:
        if analysis is not None or prometheus_url is not None:
            raise fail("--analysis and --prometheus-url only apply with --auto-promote-after", 2)
        return None
    try:
        seconds = parse_duration(after)
    except AnalysisConfigError as exc:
        raise fail(f"--auto-promote-after: {exc}", 2) from None
    if seconds <= 0:
        raise fail("--auto-promote-after must be longer than 0s", 2)
    return seconds


def _ready_timeout(backend: Backend) -> float:
    if isinstance(backend, LocalBackend):
        if backend.store.exists():
            return backend.load().runtime.ready_timeout_seconds
        return 60.0
    return KUBERNETES_READY_TIMEOUT


def _analysis_config(backend: Backend, override: Path | None) -> AnalysisConfig:
    return load_config(override or analysis_path(backend))


# Verbs other modules own, registered here so there is one `platformctl`.
app.command("capacity")(capacity_report.capacity)


@app.command()
def dashboards(
    prometheus_url: Annotated[
        str | None, typer.Option(help="Prometheus to query (default: the local platform's)")
    ] = None,
    since: Annotated[str, typer.Option(help="time range ending now: 90s, 15m, 2h")] = "15m",
    out: Annotated[Path, typer.Option(help="where the PNG snapshots go")] = Path(
        ".local/dashboards"
    ),
    service: Annotated[str | None, typer.Option(help="regex for the service variable")] = None,
    color: Annotated[str | None, typer.Option(help="regex for the color variable")] = None,
) -> None:
    """Review the dashboards without Grafana: query every panel, draw PNGs, list empty panels."""
    from datetime import UTC, datetime, timedelta

    # matplotlib is heavy: only this verb pays for it.
    from platformctl.dashboards import panels_without_data_table, review_dashboards
    from platformctl.paths import repo_root

    units = {"s": 1, "m": 60, "h": 3600}
    if not since[:-1].isdigit() or since[-1] not in units:
        raise fail(f"--since must look like 90s, 15m or 2h, not {since!r}", 2)
    url = prometheus_url or run(lambda: LocalBackend().prometheus_url())
    end = datetime.now(UTC)
    start = end - timedelta(seconds=int(since[:-1]) * units[since[-1]])
    variables = {k: v for k, v in {"service": service, "color": color}.items() if v}
    try:
        report = review_dashboards(
            url, repo_root() / "grafana-dashboards", out, start, end, variables=variables
        )
    except Exception as exc:  # an unreachable Prometheus, a bad query: one line, not a trace
        raise fail(f"dashboard review failed: {exc}", 1) from exc
    console.print(panels_without_data_table(report))
    console.print(report.summary)
    for snapshot in report.snapshots:
        console.print(f"snapshot: {snapshot}")
    if not report.ok:
        raise typer.Exit(1)
