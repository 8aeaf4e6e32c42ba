"""The review draws one PNG per dashboard from real data."""

from __future__ import annotations

from pathlib import Path

import matplotlib.image
import pytest
from platformctl.dashboards import Report

from tests.observability.paths import DASHBOARD_FILES

# The first test also starts the platform (8 uvicorn processes, Prometheus, k6): on a
# loaded 2-core machine that alone can take minutes.
pytestmark = pytest.mark.timeout(420)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_one_png_per_dashboard(review_all: Report, snapshot_dir: Path) -> None:
    assert sorted(review_all.snapshots) == sorted(
        snapshot_dir / f"{path.stem}.png" for path in DASHBOARD_FILES
    )
    for path in review_all.snapshots:
        assert path.read_bytes()[:8] == PNG_MAGIC
        image = matplotlib.image.imread(path)
        height, width = image.shape[:2]
        assert width >= 1000 and height >= 300, (path.name, width, height)
        # Not a blank canvas: drawn panels hold many distinct pixel values.
        assert len({tuple(px) for px in image[::7, ::7].reshape(-1, image.shape[2])}) > 50
