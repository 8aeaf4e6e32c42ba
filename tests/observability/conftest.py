from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from platformctl.dashboards import Report, review_dashboards

from tests.observability.paths import DASHBOARDS_DIR
from tests.observability.stack import FAULTY_COLOR, ObservedPlatform, observed_platform

# The service and color the filtered review selects: orders calls every other service, and
# the faulty color has every signal (2xx, 4xx, 5xx, outbound failures).
FILTERED_SERVICE = "orders"
FILTERED_COLOR = FAULTY_COLOR


@pytest.fixture(scope="session")
def platform_with_load(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ObservedPlatform]:
    """Both colors of the four services under a bounded load, scraped by a real Prometheus."""
    with observed_platform(tmp_path_factory.mktemp("observed-platform")) as observed:
        yield observed


@pytest.fixture(scope="session")
def snapshot_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("snapshots")


@pytest.fixture(scope="session")
def review_all(platform_with_load: ObservedPlatform, snapshot_dir: Path) -> Report:
    """Every panel with the default selection ("All"), and the snapshots drawn from it."""
    return review_dashboards(
        platform_with_load.prometheus_url,
        DASHBOARDS_DIR,
        snapshot_dir,
        platform_with_load.start,
        platform_with_load.end,
    )


@pytest.fixture(scope="session")
def review_filtered(platform_with_load: ObservedPlatform) -> Report:
    """Every panel with one service and one color selected in the variables."""
    return review_dashboards(
        platform_with_load.prometheus_url,
        DASHBOARDS_DIR,
        None,
        platform_with_load.start,
        platform_with_load.end,
        variables={"service": FILTERED_SERVICE, "color": FILTERED_COLOR},
    )
