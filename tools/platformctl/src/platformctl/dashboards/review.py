"""Evaluate every panel of every dashboard, draw the snapshots, report panels without data."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from platformctl.dashboards.cluster import cluster_only_reason
from platformctl.dashboards.model import Dashboard, Panel, Target, load_dashboards
from platformctl.dashboards.prometheus import PrometheusClient, Series
from platformctl.dashboards.render import render_snapshot
from platformctl.dashboards.variables import DEFAULT_VARIABLES, builtin_variables, substitute

# About as many points per series as a Grafana panel of ordinary width asks for.
POINTS_PER_SERIES = 240


@dataclass(frozen=True)
class TargetResult:
    target: Target
    expr: str  # after variable substitution
    series: tuple[Series, ...]
    error: str | None = None

    @property
    def has_data(self) -> bool:
        return any(s.has_values for s in self.series)


@dataclass(frozen=True)
class PanelReview:
    dashboard: Dashboard
    panel: Panel
    results: tuple[TargetResult, ...]
    cluster_only: str | None

    @property
    def has_data(self) -> bool:
        return any(r.has_data for r in self.results)

    @property
    def errors(self) -> list[str]:
        return [r.error for r in self.results if r.error]

    @property
    def series(self) -> list[Series]:
        return [s for r in self.results for s in r.series if s.has_values]


@dataclass
class Report:
    start: datetime
    end: datetime
    panels: list[PanelReview] = field(default_factory=list)
    snapshots: list[Path] = field(default_factory=list)

    @property
    def queries(self) -> int:
        return sum(len(p.results) for p in self.panels)

    @property
    def without_data(self) -> list[PanelReview]:
        """Panels with no data that should have some: a problem to look at."""
        return [p for p in self.panels if not p.has_data and not p.cluster_only]

    @property
    def cluster_only_without_data(self) -> list[PanelReview]:
        return [p for p in self.panels if not p.has_data and p.cluster_only]

    @property
    def with_data(self) -> list[PanelReview]:
        return [p for p in self.panels if p.has_data]

    @property
    def summary(self) -> str:
        return (
            f"{len(self.panels)} panels, {self.queries} queries: "
            f"{len(self.with_data)} with data, "
            f"{len(self.cluster_only_without_data)} need a cluster, "
            f"{len(self.without_data)} without data"
        )

    @property
    def ok(self) -> bool:
        return not self.without_data and not any(p.errors for p in self.panels)


def evaluate_panel(
    client: PrometheusClient,
    dashboard: Dashboard,
    panel: Panel,
    values: Mapping[str, str],
    start: datetime,
    end: datetime,
    step: timedelta,
) -> PanelReview:
    results = []
    for target in panel.targets:
        expr = substitute(target.expr, values)
        try:
            if target.instant:
                series = client.query(expr, end)
            else:
                series = client.query_range(expr, start, end, step)
            results.append(TargetResult(target, expr, tuple(series)))
        except Exception as exc:  # a broken query is a finding of the review, not a crash
            results.append(TargetResult(target, expr, (), error=str(exc)))
    reason = cluster_only_reason(panel, [r.expr for r in results])
    return PanelReview(dashboard, panel, tuple(results), reason)


def review_dashboards(
    prometheus_url: str,
    dashboards_dir: Path,
    out_dir: Path | None,
    start: datetime,
    end: datetime,
    *,
    variables: Mapping[str, str] | None = None,
    step: timedelta | None = None,
) -> Report:
    """Evaluate each panel over [start, end]; write ``<uid>.png`` per dashboard to ``out_dir``.

    ``variables`` override the dashboard variables (``service``, ``color``, ``namespace``...;
    regular expressions, as Grafana passes them to ``=~``); by default everything is selected.
    """
    step = step or max(timedelta(seconds=1), (end - start) / POINTS_PER_SERIES)
    report = Report(start=start, end=end)
    with PrometheusClient(prometheus_url) as client:
        scrape_interval = client.scrape_interval()
        values = {
            **DEFAULT_VARIABLES,
            **builtin_variables(step, scrape_interval, end - start),
            **(variables or {}),
        }
        for dashboard in load_dashboards(dashboards_dir):
            reviews = [
                evaluate_panel(client, dashboard, panel, values, start, end, step)
                for panel in dashboard.panels
            ]
            report.panels.extend(reviews)
            if out_dir is not None:
                path = out_dir / f"{dashboard.uid}.png"
                report.snapshots.append(render_snapshot(dashboard, reviews, path, start, end))
    return report
