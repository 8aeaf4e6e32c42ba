"""The umbrella chart for a cluster that cannot download chart archives.

The helm CLI refuses a chart whose Chart.yaml lists a dependency missing from charts/, even one
whose condition is false. Where the Prometheus and Grafana archives cannot be downloaded (and
their images could not be pulled anyway), the local environment installs this copy: the same
templates, values and schema, with only the remote dependencies left out of Chart.yaml.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from localcluster.paths import REPO_ROOT

SOURCE = REPO_ROOT / "charts" / "platform"
TARGET = REPO_ROOT / ".local" / "charts" / "platform"


def write(source: Path = SOURCE, target: Path = TARGET) -> list[str]:
    """Copy the chart to ``target`` without its remote dependencies; returns their names."""
    chart = yaml.safe_load((source / "Chart.yaml").read_text())
    remote = [
        d
        for d in chart.get("dependencies", [])
        if d.get("repository", "").startswith(("http", "oci"))
    ]
    chart["dependencies"] = [d for d in chart["dependencies"] if d not in remote]
    if target.exists():
        shutil.rmtree(target)
    # Links leave the chart (dashboards, rules) or stay inside it: copy what they point at.
    shutil.copytree(source, target, symlinks=False, ignore=shutil.ignore_patterns("*.tgz"))
    (target / "Chart.yaml").write_text(
        "# Written by `localcluster offline-chart` from charts/platform/Chart.yaml: the remote\n"
        "# dependencies ("
        + ", ".join(d["name"] for d in remote)
        + ") are left out. Do not edit.\n"
        + yaml.safe_dump(chart, sort_keys=False)
    )
    return [d["name"] for d in remote]
