"""The checks every dashboard panel passes on real data, wherever that data comes from: the
local processes (tests/observability) or the local cluster (tests/cluster/test_cluster_panels.py,
for the panels that read kube-state-metrics and cAdvisor)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pytest
from platformctl.dashboards import PanelReview, Report, load_dashboards
from platformctl.dashboards.cluster import panel_cluster_only_reason

from tests.observability.paths import DASHBOARDS_DIR


@dataclass(frozen=True)
class PanelId:
    uid: str
    id: int
    title: str
    cluster_only: bool

    @property
    def test_id(self) -> str:
        return f"{self.uid}/{self.title}"


PANELS = [
    PanelId(
        dashboard.uid,
        panel.id,
        panel.title,
        panel_cluster_only_reason(panel) is not None,
    )
    for dashboard in load_dashboards(DASHBOARDS_DIR)
    for panel in dashboard.panels
]


def by_panel(panels: Sequence[PanelId]) -> pytest.MarkDecorator:
    """Parametrize a test by ``uid`` and ``panel_id`` over ``panels``, named by title."""
    return pytest.mark.parametrize(
        ("uid", "panel_id"),
        [(panel.uid, panel.id) for panel in panels],
        ids=[panel.test_id for panel in panels],
    )


def find_panel(report: Report, uid: str, panel_id: int) -> PanelReview:
    return next(r for r in report.panels if r.dashboard.uid == uid and r.panel.id == panel_id)


def assert_shows_real_data(
    review: PanelReview, services: Sequence[str], colors: Sequence[str]
) -> None:
    """Every query returns data, and every series belongs to a known service and color."""
    assert not review.errors
    for result in review.results:
        assert result.has_data, f"{review.dashboard.uid}/{review.panel.title}: no data"
    for series in review.series:
        assert series.labels.get("service", services[0]) in services, series.labels
        assert series.labels.get("color", colors[0]) in colors, series.labels


def assert_follows_the_variables(review: PanelReview, service: str, color: str) -> None:
    """With one service and color selected, the panel shows those and nothing else."""
    assert not review.errors
    assert review.has_data, f"{review.dashboard.uid}/{review.panel.title}: no data for {service}"
    exprs = [t.expr for t in review.panel.targets]
    for series in review.series:
        if any("$service" in e for e in exprs) and "service" in series.labels:
            assert series.labels["service"] == service, series.labels
        if any("$color" in e for e in exprs) and "color" in series.labels:
            assert series.labels["color"] == color, series.labels
