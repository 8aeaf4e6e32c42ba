"""Every application panel shows real data from the real services, for the right series.

Cluster-only panels (kube-state-metrics, cAdvisor; platformctl.dashboards.cluster lists their
sources) have no data on local processes by design: tests/cluster/test_cluster_panels.py runs
the same checks on them against the local cluster's Prometheus.
"""

from __future__ import annotations

import io
import statistics

import pytest
from platformctl.dashboards import (
    PanelReview,
    Report,
    panels_without_data_table,
)
from rich.console import Console

from tests.observability.conftest import FILTERED_COLOR, FILTERED_SERVICE
from tests.observability.panel_checks import (
    PANELS,
    assert_follows_the_variables,
    assert_shows_real_data,
    by_panel,
    find_panel,
)
from tests.observability.stack import COLORS, FAULTY_COLOR, LIVE_COLOR, SERVICES

# The first test also starts the platform (8 uvicorn processes, Prometheus, k6): on a
# loaded 2-core machine that alone can take minutes.
pytestmark = pytest.mark.timeout(420)

APP_PANELS = [panel for panel in PANELS if not panel.cluster_only]
for_each_panel = by_panel(APP_PANELS)


def _by_title(report: Report, uid: str, title: str) -> PanelReview:
    return next(r for r in report.panels if r.dashboard.uid == uid and r.panel.title == title)


@for_each_panel
def test_panel_shows_real_data(review_all: Report, uid: str, panel_id: int) -> None:
    assert_shows_real_data(find_panel(review_all, uid, panel_id), SERVICES, COLORS)


@for_each_panel
def test_panel_follows_the_service_and_color_variables(
    review_filtered: Report, uid: str, panel_id: int
) -> None:
    assert_follows_the_variables(
        find_panel(review_filtered, uid, panel_id), FILTERED_SERVICE, FILTERED_COLOR
    )


@pytest.mark.parametrize("uid", sorted({panel.uid for panel in PANELS}))
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
    # The review's own verdict matches the split the tests parametrize by.
    assert {(r.dashboard.uid, r.panel.id) for r in review_all.cluster_only_without_data} == {
        (panel.uid, panel.id) for panel in PANELS if panel.cluster_only
    }


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
