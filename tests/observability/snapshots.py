"""Regenerate the dashboard pictures in docs/images from a real local run.

    .venv/bin/python -m tests.observability.snapshots docs/images --duration 90s

Starts the same platform as the tests (both colors, real Prometheus, fault switch on green),
drives the k6 load for ``--duration``, reviews every dashboard over the load and writes one PNG
per dashboard. Prints the panels without data.
"""

from __future__ import annotations

import argparse
import tempfile
from datetime import timedelta
from pathlib import Path

from platformctl.dashboards import review_dashboards

from tests.observability.paths import DASHBOARDS_DIR
from tests.observability.stack import observed_platform


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--duration", default="90s", help="k6 load duration")
    parser.add_argument("--vus", type=int, default=4)
    parser.add_argument("--step", type=float, default=2.0, help="query step, seconds")
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory() as workdir,
        observed_platform(Path(workdir), load_duration=args.duration, vus=args.vus) as platform,
    ):
        report = review_dashboards(
            platform.prometheus_url,
            DASHBOARDS_DIR,
            args.out_dir,
            platform.start,
            # Stat panels show the value at the end: while the load still runs.
            platform.load_end,
            step=timedelta(seconds=args.step),
        )
    for path in report.snapshots:
        print(f"wrote {path}")
    print(report.summary)
    for review in report.without_data:
        print(f"  no data: {review.dashboard.uid} / {review.panel.title}")


if __name__ == "__main__":
    main()
