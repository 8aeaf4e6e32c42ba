"""The chart's `monitoring.external` path on the real cluster. prometheus-operator, built from
its Go module, runs a Prometheus of its own (`localcluster monitoring-operator`). Once
environments/local.yaml says `monitoring.external: true` and helmfile applies it, the operator
turns the chart's PodMonitor into scrape jobs and its PrometheusRules into rule files. That
Prometheus then scrapes every platform pod from its own namespace, through the NetworkPolicies,
and loads every alert and recording rule group in prometheus/rules/.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest
import yaml
from localcluster import monitoring_operator, paths
from localcluster.cluster import kubectl

from tests.cluster.kube import ENV_FILE, NAMESPACE, REPO_ROOT, helmfile_apply, run
from tests.support.tools import tool

pytestmark = pytest.mark.timeout(900)

SCRAPE_POOL = f"podMonitor/{NAMESPACE}/platform/0"
# Seconds from the `helmfile apply` that turned the external path on: for docs/local-cluster.md.
FIGURES = paths.STATE_DIR / "external-monitoring.json"
EXTERNAL_OFF = "monitoring:\n  external: false\n"


def rule_groups() -> set[str]:
    groups = set()
    for path in (REPO_ROOT / "prometheus" / "rules").glob("*.yaml"):
        groups |= {g["name"] for g in yaml.safe_load(path.read_text())["groups"]}
    return groups


@pytest.fixture(scope="module")
def operator_prometheus(release) -> Iterator[str]:
    """The operator's Prometheus address, with the platform applied on the external path. The
    operator and its Prometheus are removed afterwards (they would scrape on through the later,
    load-timed modules), and the release fixture puts the file and the release back."""
    installed = run(release, tool("localcluster"), "monitoring-operator", timeout=600)
    assert installed.returncode == 0, installed.stdout[-2000:]
    text = ENV_FILE.read_text()
    assert EXTERNAL_OFF in text
    ENV_FILE.write_text(text.replace(EXTERNAL_OFF, "monitoring:\n  external: true\n"))
    started = time.monotonic()
    applied = helmfile_apply(release)
    assert applied.returncode == 0, applied.stderr[-3000:]
    FIGURES.write_text(json.dumps({"apply_seconds": round(time.monotonic() - started, 1)}))
    try:
        yield monitoring_operator.address(kubectl)
    finally:
        run(release, "kubectl", "delete", "namespace", monitoring_operator.NAMESPACE,
            "--timeout=120s", timeout=130)  # fmt: skip


def record(**figures: object) -> None:
    FIGURES.write_text(json.dumps({**json.loads(FIGURES.read_text()), **figures}))


def _wait_for(read, done, timeout: float = 120):
    deadline = time.monotonic() + timeout
    while True:
        value = read()
        if done(value) or time.monotonic() > deadline:
            return value
        time.sleep(2)


def test_the_podmonitor_scrapes_every_platform_pod_through_the_policies(
    release, operator_prometheus: str
) -> None:
    pods = kubectl("-n", NAMESPACE, "get", "pods", "-l", "app.kubernetes.io/component=api",
                   "-o", "jsonpath={.items[*].status.podIP}").stdout.split()  # fmt: skip

    def targets() -> list[dict]:
        active = monitoring_operator.api(operator_prometheus, "/api/v1/targets")["activeTargets"]
        return [t for t in active if t["scrapePool"] == SCRAPE_POOL]

    started = time.monotonic()
    # The operator rewrites its config Secret at once, but the kubelet refreshes the mounted
    # copy on its own sync period (up to a minute and more) before the reloader sees it.
    found = _wait_for(
        targets,
        lambda ts: len(ts) == len(pods) and all(t["health"] == "up" for t in ts),
        timeout=240,
    )
    record(targets=len(found), targets_up_after_apply_seconds=round(time.monotonic() - started, 1))
    assert sorted(t["labels"]["instance"].split(":")[0] for t in found) == sorted(pods), found
    assert all(t["health"] == "up" for t in found), [
        (t["scrapeUrl"], t["lastError"]) for t in found
    ]
    for target in found:
        labels = target["labels"]
        assert labels["service"] in {"auth", "orders", "payments", "notifications"}, labels
        assert labels["color"] in {"blue", "green"} and labels["version"], labels


def test_the_prometheus_rules_are_loaded(operator_prometheus: str) -> None:
    expected = rule_groups()

    def loaded() -> set[str]:
        groups = monitoring_operator.api(operator_prometheus, "/api/v1/rules")["groups"]
        return {g["name"] for g in groups}

    started = time.monotonic()
    names = _wait_for(loaded, lambda names: expected <= names)
    record(
        rule_groups=sorted(names), rules_loaded_after_seconds=round(time.monotonic() - started, 1)
    )
    assert names >= expected
