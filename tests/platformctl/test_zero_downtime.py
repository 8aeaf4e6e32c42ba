"""Zero downtime: k6 at a constant arrival rate while every service is deployed, promoted and
rolled back, then orders deployed again and that deploy aborted. Two k6 runs go at once: one
reusing connections, one opening a new connection for every request (noConnectionReuse)."""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.platformctl.conftest import K6Run, Platform, analysis_file, start_platform

# Requests per second through the stable orders port (one in four an order): 100 with reuse
# plus 10 without. Before new instances were niced for their session's scheduling group too,
# a deploy starved the live colors and this ran at 80 (see docs/runbook-local.md).
RATE = int(os.environ.get("PLATFORMCTL_ZD_RATE", "100"))
NO_REUSE_RATE = 10
SERVICES = ("auth", "orders", "payments", "notifications")


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    home = tmp_path_factory.mktemp("zd")
    # This test is about dropped requests, not latency: k6's load on two shared cores puts
    # p95 above the 300 ms SLO at times, so the gate's latency bar is raised here.
    # Light synthetic load: k6 already drives real traffic through the live colors.
    analysis = analysis_file(
        home.parent,
        "zd-analysis",
        p95_max=2.0,
        prePromotion={"load": {"rate": 5}},
        postPromotion={"load": {"rate": 3}},
    )
    # Keep the old colors up for the whole run: the rollback must be an instant switch.
    yield from start_platform(home, "--scale-down-delay=-1", analysis=analysis)


def served_by(base_url: str) -> tuple[str, str]:
    headers = httpx.get(base_url + "/readyz", timeout=5).headers
    return headers["X-Platform-Color"], headers["X-Platform-Version"]


def number(pattern: str, text: str) -> float:
    match = re.search(pattern, text)
    assert match, f"{pattern!r} not in output:\n{text}"
    return float(match.group(1))


def deploy_promote_rollback_under_load(
    platform: Platform, version: str, analysis: list[str]
) -> dict[str, object]:
    started = time.monotonic()
    urls = {name: platform.url(name) for name in SERVICES}
    reuse = K6Run(platform, f"reuse-{version}", RATE, reuse=True)
    fresh = K6Run(platform, f"no-reuse-{version}", NO_REUSE_RATE, reuse=False)
    time.sleep(3)  # traffic flows on blue before anything changes

    deploy = platform.cli("deploy", "all", "--version", version)
    assert deploy.returncode == 0, deploy.stderr
    promote = platform.cli("promote", "all", *analysis)
    assert promote.returncode == 0, promote.stderr
    # Checked through the proxy's headers: a CLI process costs CPU the load needs.
    assert {name: served_by(urls[name]) for name in SERVICES} == dict.fromkeys(
        SERVICES, ("green", version)
    )
    rollback = platform.cli("rollback", "all")
    assert rollback.returncode == 0, rollback.stderr
    assert {name: served_by(urls[name]) for name in SERVICES} == dict.fromkeys(
        SERVICES, ("blue", "1.0.0")
    )
    # A deploy discarded before promotion: the idle color stops; live never moves.
    redeploy = platform.cli("deploy", "orders", "--version", f"{version}-discarded")
    assert redeploy.returncode == 0, redeploy.stderr
    aborted = platform.cli("abort", "orders")
    assert aborted.returncode == 0, aborted.stderr
    assert f"aborted orders green {version}-discarded (stopped)" in aborted.stdout
    assert served_by(urls["orders"]) == ("blue", "1.0.0")
    runbook_seconds = time.monotonic() - started

    results = {"reuse": reuse.stop(), "no-reuse": fresh.stop()}
    figures: dict[str, object] = {name: result.figures() for name, result in results.items()}
    figures |= {
        "switch_ms": number(r"switched live traffic to .* in (\d+) ms", promote.stdout),
        "rollback_switch_ms": number(r"switch (\d+) ms", rollback.stdout),
        "rollback_total_s": number(r"total ([\d.]+)s", rollback.stdout),
        "deploy_ready_s": number(r"ready after ([\d.]+)s", deploy.stdout),
        "promote_total_s": number(r"promoted .* in ([\d.]+)s", promote.stdout),
        "abort_s": number(r"aborted .* in ([\d.]+)s", aborted.stdout),
        "runbook_s": round(runbook_seconds, 1),
    }
    print("zero-downtime figures:", json.dumps(figures))
    (platform.home / f"zero-downtime-{version}.json").write_text(json.dumps(figures))

    rates = {"reuse": RATE, "no-reuse": NO_REUSE_RATE}
    for name, result in results.items():
        assert result.passed(), f"k6 {name} crossed its thresholds:\n{result.output}"
        run = result.figures()
        assert run["failed"] == 0 and run["dropped_iterations"] == 0, run
        # The arrival rate was held: every planned iteration ran but the last second's, still
        # in flight when the load was stopped.
        assert run["requests"] >= rates[name] * (run["seconds"] - 1), run
    return figures


@pytest.mark.timeout(170)
def test_deploy_promote_rollback_all_under_load_drops_nothing(platform: Platform) -> None:
    deploy_promote_rollback_under_load(platform, "1.1.0", analysis=[])


@pytest.mark.slow
@pytest.mark.timeout(400)
def test_full_length_with_the_shipped_analysis_config(platform: Platform) -> None:
    """The analysis timings and thresholds exactly as shipped in analysis.yaml, under load."""
    from importlib import resources

    shipped = resources.files("platformctl").joinpath("analysis.yaml")
    deploy_promote_rollback_under_load(platform, "1.2.0", analysis=[f"--analysis={shipped}"])
