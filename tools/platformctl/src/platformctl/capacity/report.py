"""``platformctl capacity``: predicted replicas per service and color, as rows or a table."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from platformctl.capacity.chart import (
    Sizing,
    environment_names,
    load_environment,
    parse_cpu_millicores,
)
from platformctl.capacity.model import PROFILES_FILE, Prediction, load_profiles, predict_environment
from platformctl.paths import repo_root

REASONS = {
    "TooFewReplicas": "at minReplicas",
    "TooManyReplicas": "at maxReplicas",
    "DesiredWithinRange": "holds the target",
    "ScaleUpLimit": "scale-up policy",
    "ScaleDownLimit": "scale-down policy",
    "ScaleUpStabilized": "stabilizing",
    "ScaleDownStabilized": "stabilizing",
}
"""The HPA's condition reasons, in words."""

CHART_DEFAULTS = "processes"
"""The environment name that means "the chart's own values" (what ``platformctl up`` runs, as
every other verb's ``-e processes``)."""


def predictions(
    environment: str,
    rps: float,
    root: Path | None = None,
    profiles_file: Path = PROFILES_FILE,
    sizing: Sizing | None = None,
) -> list[Prediction]:
    """Predicted replicas for every service color of ``environment`` at ``rps`` edge requests/s.

    ``environment`` names ``environments/<env>.yaml``; ``processes`` uses the chart's defaults.
    ``sizing`` tries other requests, targets or replica bounds without editing the files.
    """
    if rps < 0:
        raise ValueError("--rps must be >= 0")
    root = root or repo_root()
    env = None if environment == CHART_DEFAULTS else environment
    configs = load_environment(root, env)
    if sizing is not None:
        configs = [sizing.apply(c) for c in configs]
    return predict_environment(configs, load_profiles(profiles_file), rps)


def rows(items: list[Prediction]) -> list[dict[str, Any]]:
    """Plain rows (for ``--json`` and tests)."""
    return [
        {
            "service": p.service,
            "color": p.color,
            "live": p.live,
            "service_rps": round(p.service_rps, 2),
            "replicas": p.replicas,
            "ideal_replicas": p.ideal_replicas,
            "cpu_utilization": p.utilization,
            "reason": p.reason,
            "settle_seconds": p.settle_seconds,
            "saturated": p.saturated,
            "advice": p.advice,
        }
        for p in items
    ]


def table(environment: str, rps: float, items: list[Prediction], what_if: str = "") -> Table:
    out = Table(
        title=f"predicted replicas: {environment} at {rps:g} requests/s"
        + (f" (what-if: {what_if})" if what_if else ""),
        title_justify="left",
        caption=f"CPU per request from {PROFILES_FILE.name} (bench/cpu_per_request.py)",
        caption_justify="left",
    )
    for column in ("service", "color", "rps", "replicas", "CPU %", "why", "settles", "advice"):
        out.add_column(
            column, justify="right" if column in ("rps", "replicas", "CPU %") else "left"
        )
    for p in items:
        replicas = str(p.replicas)
        if p.saturated:
            replicas = f"[bold red]{replicas}[/]"
        out.add_row(
            p.service,
            f"{p.color} (live)" if p.live else p.color,
            f"{p.service_rps:.1f}",
            replicas,
            "" if p.utilization is None else f"{p.utilization}%",
            REASONS.get(p.reason, p.reason),
            f"{p.settle_seconds}s" if p.settle_seconds else "",
            p.advice,
        )
    return out


def cli_table(environment: str, rps: float) -> Table:
    """The table ``platformctl capacity -e ENV --rps N`` prints."""
    return table(environment, rps, predictions(environment, rps))


def capacity(
    environment: Annotated[
        str,
        typer.Option(
            "--environment",
            "-e",
            help="environments/<env>.yaml to read (dev, staging, prod, kind, local); "
            "`processes` = the chart's defaults",
        ),
    ] = CHART_DEFAULTS,
    rps: Annotated[
        float,
        typer.Option("--rps", min=0, help="requests per second into the orders API (the k6 mix)"),
    ] = 50.0,
    cpu_request: Annotated[
        str | None, typer.Option(help="what-if: CPU request of every pod, e.g. 500m")
    ] = None,
    target: Annotated[
        int | None, typer.Option(min=1, help="what-if: HPA target CPU utilization (%)")
    ] = None,
    max_replicas: Annotated[
        int | None, typer.Option(min=1, help="what-if: HPA maxReplicas")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """Predict replicas per service and color from measured CPU cost and the chart's HPAs."""
    sizing = Sizing(
        cpu_request_millicores=parse_cpu_millicores(cpu_request) if cpu_request else None,
        target_utilization=target,
        max_replicas=max_replicas,
    )
    # Wide enough for the advice column when piped (rich assumes 80 columns without a tty).
    console = Console(highlight=False, width=None if sys.stdout.isatty() else 200)
    try:
        items = predictions(environment, rps, sizing=sizing)
    except FileNotFoundError as exc:
        known = ", ".join([CHART_DEFAULTS, *environment_names(repo_root())])
        Console(stderr=True).print(f"[bold red]error:[/] {exc} (known: {known})")
        raise typer.Exit(2) from None
    except ValueError as exc:  # e.g. a what-if maxReplicas below minReplicas
        Console(stderr=True).print(f"[bold red]error:[/] {exc}")
        raise typer.Exit(2) from None
    if as_json:
        console.print_json(json.dumps(rows(items)))
    else:
        what_if = ", ".join(
            text
            for text, value in (
                (f"request {cpu_request}", cpu_request),
                (f"target {target}%", target),
                (f"maxReplicas {max_replicas}", max_replicas),
            )
            if value
        )
        console.print(table(environment, rps, items, what_if))
