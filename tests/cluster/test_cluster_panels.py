"""The dashboards' cluster panels (pods, CPU and memory against requests and limits, HPA
replicas, restarts) on real data: the local cluster's Prometheus, scraping kube-state-metrics,
the kubelet's cAdvisor and the pods, over the HPA experiment's window. The same checks as the
application panels (tests/observability/panel_checks.py); the snapshots are kept in
.local/cluster/dashboards/ for docs/observability.md."""

from __future__ import annotations

import pytest
from localcluster import monitoring
from platform_images import SERVICES
from platformctl.dashboards import Report, review_dashboards

from tests.cluster.hpa_experiment import HPA, MIN_REPLICAS, Experiment
from tests.cluster.kube import REPO_ROOT
from tests.observability.panel_checks import (
    PANELS,
    assert_follows_the_variables,
    assert_shows_real_data,
    by_panel,
    find_panel,
)
from tests.observability.paths import DASHBOARDS_DIR

pytestmark = pytest.mark.timeout(600)  # the experiment the first test waits for takes minutes

COLORS = ("blue", "green")
CLUSTER_PANELS = [panel for panel in PANELS if panel.cluster_only]
for_each_panel = by_panel(CLUSTER_PANELS)
SNAPSHOTS = REPO_ROOT / ".local" / "cluster" / "dashboards"


@pytest.fixture(scope="module")
def cluster_review(cpu_load_experiment: Experiment) -> Report:
    SNAPSHOTS.mkdir(parents=True, exist_ok=True)
    run = cpu_load_experiment
    return review_dashboards(monitoring.URL, DASHBOARDS_DIR, SNAPSHOTS, run.started, run.ended)


@pytest.fixture(scope="module")
def cluster_review_filtered(cpu_load_experiment: Experiment) -> Report:
    run = cpu_load_experiment
    return review_dashboards(
        monitoring.URL,
        DASHBOARDS_DIR,
        None,
        run.started,
        run.ended,
        variables={"service": "orders", "color": "green"},
    )


def test_there_are_cluster_panels() -> None:
    assert len(CLUSTER_PANELS) == 5, [p.test_id for p in CLUSTER_PANELS]


@for_each_panel
def test_cluster_panel_shows_real_data(cluster_review: Report, uid: str, panel_id: int) -> None:
    assert_shows_real_data(find_panel(cluster_review, uid, panel_id), SERVICES, COLORS)


@for_each_panel
def test_cluster_panel_follows_the_service_and_color_variables(
    cluster_review_filtered: Report, uid: str, panel_id: int
) -> None:
    assert_follows_the_variables(
        find_panel(cluster_review_filtered, uid, panel_id), "orders", "green"
    )


def test_the_hpa_panel_shows_the_scale_out(cluster_review_filtered: Report) -> None:
    review = next(r for r in cluster_review_filtered.panels if r.panel.title.startswith("HPA"))
    by_hpa = {}
    for series in review.series:
        values = [v for v in series.values if v == v]
        by_hpa.setdefault(series.labels["horizontalpodautoscaler"], []).append(max(values))
    assert max(by_hpa[HPA]) > MIN_REPLICAS, by_hpa
