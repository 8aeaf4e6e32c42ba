"""Tables and short phrases for the operator (rich)."""

from __future__ import annotations

from collections.abc import Mapping

from rich.table import Table

from platformctl.analysis.config import AnalysisConfig
from platformctl.analysis.engine import AnalysisResult, Verdict
from platformctl.backend import ServiceView
from platformctl.catalog import COLORS

VERDICT_STYLE = {
    Verdict.successful: "green",
    Verdict.failed: "bold red",
    Verdict.inconclusive: "yellow",
}


def targets(mapping: Mapping[str, str]) -> str:
    return ", ".join(f"{service} {color}" for service, color in mapping.items())


def faults(mapping: Mapping[str, str]) -> str:
    return ",".join(f"{key}={value}" for key, value in mapping.items())


def failing(result: AnalysisResult) -> str:
    return (
        ", ".join(f"{run.target.service} {run.target.color}" for run in result.failing())
        or "no target"
    )


def status_table(views: Mapping[str, ServiceView]) -> Table:
    table = Table(title="platform status", title_justify="left")
    table.add_column("service")
    table.add_column("live")
    for color in COLORS:
        table.add_column(color)
    table.add_column("rollback to")
    table.add_column("stable URL")
    table.add_column("preview URL")
    for name, view in views.items():
        cells = []
        for color in COLORS:
            cv = view.colors[color]
            if not cv.version:
                cells.append("[dim]not deployed[/]")
                continue
            state = f"{cv.ready}/{cv.instances} ready" if cv.running else "stopped"
            extra = []
            if cv.pending:
                extra.append("pending")
            if cv.faults:
                extra.append(f"faults {faults(cv.faults)}")
            if cv.restarts:
                extra.append(f"{cv.restarts} restarts")
            if cv.scale_down_in is not None:
                extra.append(f"scale-down in {cv.scale_down_in:.0f}s")
            if view.canary_weight is not None and color == view.idle:
                extra.append(f"canary: {view.canary_weight}% of live traffic")
            style = "bold" if color == view.live else "dim"
            cells.append(
                f"[{style}]{cv.version}[/] {state}" + (f" ({'; '.join(extra)})" if extra else "")
            )
        table.add_row(
            name,
            f"[bold {view.live}]{view.live}[/]",
            *cells,
            view.previous or "-",
            view.live_url,
            view.preview_url,
        )
    return table


def smoke_table(
    views: Mapping[str, ServiceView],
    deployed: Mapping[str, str],
    version: str,
    results: Mapping[str, str],
) -> Table:
    table = Table(title="smoke checks (preview ports)", title_justify="left")
    for column in ("service", "color", "version", "preview URL", "check"):
        table.add_column(column)
    for name, color in deployed.items():
        table.add_row(name, color, version, views[name].preview_url, f"[green]{results[name]}[/]")
    return table


def analysis_table(result: AnalysisResult, config: AnalysisConfig) -> Table:
    table = Table(title=f"{result.phase_name} analysis", title_justify="left")
    table.add_column("service")
    table.add_column("color")
    table.add_column("version")
    for metric in config.metrics:
        table.add_column(f"{metric.name} ({metric.condition()})")
    table.add_column("measurements")
    table.add_column("verdict")
    for run in result.runs:
        columns = []
        for index in range(len(config.metrics)):
            values = [m[index] for m in run.measurements]
            columns.append(" ".join(_cell(m.value, m.verdict) for m in values) or "-")
        failed, inconclusive = run.counts()
        verdict = run.verdict or Verdict.inconclusive
        table.add_row(
            run.target.service,
            run.target.color,
            run.target.version,
            *columns,
            f"{len(run.measurements)} ({failed} failed, {inconclusive} inconclusive)",
            f"[{VERDICT_STYLE[verdict]}]{verdict.value}[/]",
        )
    if result.load_summary:
        summary = "; ".join(
            f"{service} " + " ".join(f"{k}:{v}" for k, v in sorted(counts.items()))
            for service, counts in result.load_summary.items()
        )
        table.caption = f"synthetic load: {summary}"
    return table


def _cell(value: float | None, verdict: Verdict) -> str:
    text = "no data" if value is None else f"{value:.4g}"
    return f"[{VERDICT_STYLE[verdict]}]{text}[/]"
