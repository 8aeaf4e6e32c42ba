"""Lint and render the charts with the real Helm engine; every object validates strictly."""

from __future__ import annotations

import json
import tarfile
import time
from pathlib import Path

import helm_python
import pytest

from tests.support.helm_render import (
    CHARTS_DIR,
    PLATFORM_CHART,
    REPO_ROOT,
    SERVICES,
    Object,
    key,
    load_chart,
    render,
)
from tests.support.kube_schemas import KUBERNETES_VERSIONS, validation_errors
from tests.support.platform_variants import VARIANTS

DASHBOARDS_DIR = REPO_ROOT / "grafana-dashboards"
RULES_DIR = REPO_ROOT / "prometheus" / "rules"
SUBCHARTS = [PLATFORM_CHART / "charts" / service for service in SERVICES]
# The only lint finding allowed: the remote archives `helm dependency build` would download.
MISSING_REMOTE_DEPENDENCIES = "chart directory is missing these dependencies: prometheus,grafana"
WARNING = 2


def _findings(report: dict) -> list[str]:
    return [m["error"] for m in report["messages"] if m["severity"] >= WARNING] + report["errors"]


def test_umbrella_lints_clean_but_for_the_remote_dependency_archives() -> None:
    report = helm_python.lint(PLATFORM_CHART, with_subcharts=True, kube_version="v1.33.0")
    assert _findings(report) == [MISSING_REMOTE_DEPENDENCIES]


@pytest.mark.parametrize("chart", SUBCHARTS, ids=lambda path: path.name)
def test_each_service_chart_lints_clean(chart) -> None:
    report = helm_python.lint(chart, strict=True, kube_version="v1.33.0")
    assert _findings(report) == []


def test_chart_pins_prometheus_and_grafana_behind_conditions() -> None:
    with helm_python.Chart.load(PLATFORM_CHART) as chart:
        remote = {d["name"]: d for d in chart.metadata["dependencies"] if d.get("repository")}
    assert remote["prometheus"]["version"] == "29.27.0"
    assert remote["prometheus"]["condition"] == "prometheus.enabled"
    assert remote["grafana"]["version"] == "12.11.1"
    assert remote["grafana"]["condition"] == "grafana.enabled"
    assert "grafana-community" in remote["grafana"]["repository"]


@pytest.mark.parametrize("variant", [v.name for v in VARIANTS])
def test_every_rendered_object_validates_strictly(renders, variant: str) -> None:
    errors = [error for obj in renders[variant] for error in validation_errors(obj)]
    assert errors == []


def test_render_and_validate_all_variants_within_budget(renders, record_property) -> None:
    """Measure: render every variant and validate every object (the closing-note figure)."""
    started = time.perf_counter()
    objects = [
        obj
        for variant in VARIANTS
        for obj in render(PLATFORM_CHART, variant.values, api_versions=variant.api_versions)
    ]
    unique = {json.dumps(obj, sort_keys=True): obj for obj in objects}
    errors = [error for obj in unique.values() for error in validation_errors(obj)]
    elapsed = time.perf_counter() - started
    record_property("objects_rendered", len(objects))
    record_property("render_validate_seconds", round(elapsed, 2))
    print(
        f"\n{len(VARIANTS)} variants, {len(objects)} objects ({len(unique)} distinct), "
        f"validated against Kubernetes {', '.join(KUBERNETES_VERSIONS)} in {elapsed:.1f}s"
    )
    assert errors == []
    assert elapsed < 30


@pytest.mark.parametrize("service", SERVICES)
def test_each_service_chart_installs_on_its_own(service: str) -> None:
    objects = render(CHARTS_DIR / "platform" / "charts" / service)
    kinds = sorted(key(obj) for obj in objects)
    assert ("Deployment", f"{service}-blue") in kinds
    assert ("Deployment", f"{service}-green") in kinds
    assert ("Service", service) in kinds
    assert ("Service", f"{service}-preview") in kinds
    assert [e for obj in objects for e in validation_errors(obj)] == []


def test_every_object_is_namespaced_to_the_release(renders) -> None:
    objects: list[Object] = [obj for variant in renders.values() for obj in variant]
    assert {obj["metadata"].get("namespace") for obj in objects} == {"platform"}


def test_packaging_a_service_chart_follows_its_links(tmp_path) -> None:
    archive = helm_python.package(CHARTS_DIR / "platform" / "charts" / "auth", destination=tmp_path)
    with tarfile.open(archive) as packed:
        names = set(packed.getnames())
    assert {"auth/values.schema.json", "auth/charts/bluegreen/Chart.yaml"} <= names
    directory = render(CHARTS_DIR / "platform" / "charts" / "auth")
    assert render(Path(archive)) == directory


def test_the_umbrella_archive_carries_the_linked_dashboards_and_rules(tmp_path) -> None:
    # `helm package` needs the remote archives first; saving the loaded chart shows what it packs.
    archive = load_chart(PLATFORM_CHART).save(tmp_path)
    with tarfile.open(archive) as packed:
        names = set(packed.getnames())
    for source, linked in ((DASHBOARDS_DIR, "dashboards"), (RULES_DIR, "rules")):
        for path in source.iterdir():
            if path.suffix in (".json", ".yaml"):
                assert f"platform/{linked}/{path.name}" in names
