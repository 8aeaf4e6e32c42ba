"""Render the platform chart once per values variant, and start the slow checks early."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.charts.background import Checkov, ServiceApp, ServiceApps
from tests.support.helm_render import PLATFORM_CHART, Object, load_chart
from tests.support.platform_variants import VARIANTS, Variant, render_variant


@pytest.fixture(scope="session")
def renders() -> dict[str, list[Object]]:
    """Variant name -> rendered objects."""
    return {variant.name: render_variant(variant) for variant in VARIANTS}


@pytest.fixture(scope="session")
def variants() -> dict[str, Variant]:
    return {variant.name: variant for variant in VARIANTS}


@dataclass(frozen=True)
class Background:
    apps: ServiceApps | None
    checkov: Checkov | None


def _wanted(request: pytest.FixtureRequest, fixture: str) -> bool:
    return any(fixture in getattr(item, "fixturenames", ()) for item in request.session.items)


@pytest.fixture(scope="session", autouse=True)
def background(request, renders, tmp_path_factory) -> Iterator[Background]:
    """Started before the first chart test, if any selected test needs it; the tests that
    need a result wait for it."""
    checks = load_chart(PLATFORM_CHART).values["tests"]["apiChecks"]
    started = Background(
        apps=ServiceApps(checks) if _wanted(request, "service_apps") else None,
        checkov=(
            Checkov(renders.items(), tmp_path_factory.mktemp("checkov"))
            if _wanted(request, "checkov_results")
            else None
        ),
    )
    yield started
    for run in (started.apps, started.checkov):
        if run is not None:
            run.stop()


@pytest.fixture(scope="session")
def service_apps(background: Background) -> dict[str, ServiceApp]:
    assert background.apps is not None
    return background.apps.result()


@pytest.fixture(scope="session")
def checkov_results(background: Background) -> dict:
    assert background.checkov is not None
    return background.checkov.result()
