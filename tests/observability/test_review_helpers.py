"""The pieces of the review that must behave exactly like Grafana."""

from __future__ import annotations

from datetime import timedelta

import pytest
from platformctl.dashboards.cluster import cluster_only_reason, metric_names
from platformctl.dashboards.model import ColorRule, Panel, Target
from platformctl.dashboards.render import legend_name
from platformctl.dashboards.variables import rate_interval, substitute


def test_substitute_every_variable_syntax() -> None:
    values = {"service": "orders", "color": ".*", "__rate_interval": "4s"}
    expr = (
        'rate(x{service=~"$service", color=~"${color}", a=~"${service:regex}", b="[[service]]"}'
        "[$__rate_interval])"
    )
    assert substitute(expr, values) == (
        'rate(x{service=~"orders", color=~".*", a=~"orders", b="orders"}[4s])'
    )
    assert substitute("$unknown", values) == "$unknown"


@pytest.mark.parametrize(
    ("step", "scrape", "expected"),
    [(1, 1, 4), (60, 15, 75), (5, 30, 120)],
)
def test_rate_interval_matches_grafana(step: int, scrape: int, expected: int) -> None:
    interval = rate_interval(timedelta(seconds=step), timedelta(seconds=scrape))
    assert interval == timedelta(seconds=expected)


def test_legend_format() -> None:
    labels = {"service": "orders", "color": "blue"}
    assert legend_name("{{service}} {{ color }}", labels) == "orders blue"
    assert legend_name("{{service}} {{pod}}", labels) == "orders"
    assert legend_name("", labels) == '{color="blue", service="orders"}'


def test_color_rules_follow_grafana_regex_semantics() -> None:
    search = ColorRule.from_regexp(r"/\bblue\b/", "#1F60C4")
    assert search.matches("orders blue 1h") and not search.matches("bluegreen")
    whole = ColorRule.from_regexp("blue", "#1F60C4")
    assert whole.matches("blue") and not whole.matches("orders blue")


def test_cluster_only_panels_are_recognized_by_their_metrics() -> None:
    panel = Panel(1, "Ready pods", "timeseries", "short", (Target("A", "x", "", False),))
    assert metric_names('sum(rate(a_total[1m])) / on () b{c="d"}') == {"a_total", "b"}
    reason = cluster_only_reason(
        panel, ["kube_pod_status_ready * on (pod) group_left service_info"]
    )
    assert reason and "kube-state-metrics" in reason
    assert "cAdvisor" in (cluster_only_reason(panel, ["container_cpu_usage_seconds_total"]) or "")
    assert cluster_only_reason(panel, ["rate(http_requests_total[1m])"]) is None
