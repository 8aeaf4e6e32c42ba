"""Every application panel shows real data from the real services, for the right series.

Cluster-only panels (kube-state-metrics, cAdvisor) are skipped with the reason given in
platformctl.dashboards.cluster, the one place that lists them.
"""

from __future__ import annotations

import io
import statistics

import pytest
from platformctl.dashboards import (
    PanelReview,
    Report,
    load_dashboards,
    panels_without_data_table,
)
from rich.console import Console

from tests.observability.conftest import FILTERED_COLOR, FILTERED_SERVICE
from tests.observability.paths import DASHBOARDS_DIR
from tests.observability.stack import COLORS, FAULTY_COLOR, LIVE_COLOR, SERVICES

# The first test also starts the platform (8 uvicorn processes, Prometheus, k6): on a
# loaded 2-core machine that alone can take minutes.
pytestmark = pytest.mark.timeout(420)

PANELS = [(d.uid, p.id, p.title) for d in load_dashboards(DASHBOARDS_DIR) for p in d.panels]
by_panel = pytest.mark.parametrize(
    ("uid", "panel_id"),
    [(uid, panel_id) for uid, panel_id, _ in PANELS],
    ids=[f"{uid}/{title}" for uid, _, title in PANELS],
)


def _find(report: Report, uid: str, panel_id: int) -> PanelReview:
    return next(r for r in report.panels if r.dashboard.uid == uid and r.panel.id == panel_id)


def _by_title(report: Report, uid: str, title: str) -> PanelReview:
    return next(r for r in report.panels if r.dashboard.uid == uid and r.panel.title == title)


@by_panel
def test_panel_shows_real_data(review_all: Report, uid: str, panel_id: int) -> None:
    review = _find(review_all, uid, panel_id)
    assert not review.errors
    if review.cluster_only:
        pytest.skip(f"needs a cluster: {review.cluster_only}")
    for result in review.results:
        assert result.has_data, f"{uid}/{review.panel.title}/{result.target.ref_id}: no data"
    for series in review.series:
        assert series.labels.get("service", SERVICES[0]) in SERVICES, series.labels
        assert series.labels.get("color", COLORS[0]) in COLORS, series.labels


@by_panel
def test_panel_follows_the_service_and_color_variables(
    review_filtered: Report, uid: str, panel_id: int
) -> None:
    review = _find(review_filtered, uid, panel_id)
    assert not review.errors
    if review.cluster_only:
        pytest.skip(f"needs a cluster: {review.cluster_only}")
    assert review.has_data, f"{uid}/{review.panel.title}: no data for {FILTERED_SERVICE}"
    exprs = [t.expr for t in review.panel.targets]
    for series in review.series:
        if any("$service" in e for e in exprs) and "service" in series.labels:
            assert series.labels["service"] == FILTERED_SERVICE, series.labels
        if any("$color" in e for e in exprs) and "color" in series.labels:
            assert series.labels["color"] == FILTERED_COLOR, series.labels


@pytest.mark.parametrize("uid", sorted({uid for uid, _, _ in PANELS}))
def test_every_service_and_color_appears(review_all: Report, uid: str) -> None:
    seen = {
        (s.labels["service"], s.labels["color"])
        for r in review_all.panels
        if r.dashboard.uid == uid
        for s in r.series
        if "service" in s.labels and "color" in s.labels
    }
    assert seen == {(service, color) for service in SERVICES for color in COLORS}


def test_only_cluster_panels_lack_data(review_all: Report) -> None:
    assert [f"{r.dashboard.uid}/{r.panel.title}" for r in review_all.without_data] == []
    assert review_all.cluster_only_without_data, "the cluster panels are recognized as such"


def test_live_color_panel_names_the_live_color(review_all: Report) -> None:
    live = _by_title(review_all, "platform-overview", "Live color")
    assert {(s.labels["service"], s.labels["color"]) for s in live.series} == {
        (service, LIVE_COLOR) for service in SERVICES
    }


def test_error_ratio_tells_the_faulty_color_apart(review_all: Report) -> None:
    errors = _by_title(review_all, "blue-vs-green", "Error ratio (5xx)")
    mean = {
        s.labels["color"]: statistics.fmean(v for v in s.values if v == v) for s in errors.series
    }
    healthy = next(c for c in COLORS if c != FAULTY_COLOR)
    assert mean[FAULTY_COLOR] > 0.05 > mean[healthy], mean


def test_the_table_lists_panels_without_data(review_all: Report) -> None:
    console = Console(width=250, record=True, file=io.StringIO())
    console.print(panels_without_data_table(review_all))
    text = console.export_text()
    for review in review_all.cluster_only_without_data:
        assert review.panel.title in text
    assert "needs a cluster" in text and "0 without data" in text
