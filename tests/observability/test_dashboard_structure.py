"""Every dashboard is importable as-is: stable uids, the platform's variables, parseable PromQL."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import promql_parser
import pytest
import yaml
from platformctl.dashboards.model import load_dashboard
from platformctl.dashboards.variables import DEFAULT_VARIABLES, substitute

from tests.observability.paths import DASHBOARD_FILES, RULE_FILES

EXPECTED_DASHBOARDS = {
    "platform-overview",
    "service-detail",
    "blue-vs-green",
    "capacity-autoscaling",
}
REQUIRED_VARIABLES = ("datasource", "namespace", "service", "color")
# What Grafana would send for the default selection ("All") and a typical rate window.
PREVIEW_VALUES = {**DEFAULT_VARIABLES, "__rate_interval": "1m", "__interval": "15s"}
# An odd duration no one would type: any other range window was written by hand.
RATE_INTERVAL_SENTINEL = timedelta(minutes=7, seconds=13)

by_name = pytest.mark.parametrize("path", DASHBOARD_FILES, ids=lambda p: p.stem)


def _raw(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())


def _panels(raw: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for panel in raw["panels"]:
        out.append(panel)
        out.extend(panel.get("panels", []))
    return out


def _all_exprs(raw: dict[str, Any]) -> list[str]:
    """Panel queries and Prometheus annotation queries."""
    exprs = [t["expr"] for p in _panels(raw) for t in p.get("targets", []) if t.get("expr")]
    exprs += [a["expr"] for a in raw["annotations"]["list"] if a.get("expr")]
    return exprs


def test_the_four_dashboards_exist() -> None:
    assert {path.stem for path in DASHBOARD_FILES} == EXPECTED_DASHBOARDS


def test_uids_and_titles_are_unique() -> None:
    raws = [_raw(path) for path in DASHBOARD_FILES]
    assert len({r["uid"] for r in raws}) == len(raws)
    assert len({r["title"] for r in raws}) == len(raws)


@by_name
def test_dashboard_is_importable_anywhere(path: Path) -> None:
    text = path.read_text()
    raw = json.loads(text)
    assert raw["id"] is None, "a fixed id clashes with the target Grafana's database ids"
    # The uid names the file, so links and provisioning keep working across renames.
    assert raw["uid"] == path.stem
    assert re.fullmatch(r"[a-z0-9-]{1,40}", raw["uid"])
    assert raw["schemaVersion"] >= 39
    assert "__inputs" not in raw and "${DS_" not in text, "exported 'for sharing externally'"
    assert raw["title"] and raw["panels"]


@by_name
def test_dashboard_has_the_platform_variables(path: Path) -> None:
    variables = {v["name"]: v for v in _raw(path)["templating"]["list"]}
    assert set(REQUIRED_VARIABLES) <= set(variables)
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    for name in ("namespace", "service", "color"):
        variable = variables[name]
        # "All" as `.*` also matches a missing label: no `namespace` outside a cluster.
        assert variable["includeAll"] is True and variable["allValue"] == ".*", name
        assert variable["datasource"]["uid"] == "${datasource}", name
        selector = re.fullmatch(r"label_values\((.*), (\w+)\)", variable["query"]["query"])
        assert selector and selector.group(2) == name
        promql_parser.parse(substitute(selector.group(1), PREVIEW_VALUES))


@by_name
def test_every_panel_uses_the_datasource_variable_and_has_a_unit(path: Path) -> None:
    panels = [p for p in _panels(_raw(path)) if p["type"] != "row"]
    assert len({p["id"] for p in _panels(_raw(path))}) == len(_panels(_raw(path)))
    for panel in panels:
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, panel["title"]
        assert panel["fieldConfig"]["defaults"].get("unit"), f"no unit: {panel['title']}"
        assert panel["targets"], f"no query: {panel['title']}"
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == "${datasource}", panel["title"]


def _range_windows(expr: str) -> list[timedelta]:
    windows: list[timedelta] = []

    def visit(node: promql_parser.Expr) -> None:
        if isinstance(node, promql_parser.MatrixSelector):
            windows.append(node.range)

    values = {**PREVIEW_VALUES, "__rate_interval": "7m13s"}
    promql_parser.walk(promql_parser.parse(substitute(expr, values)), visit)
    return windows


@by_name
def test_rates_use_the_rate_interval(path: Path) -> None:
    exprs = [e for p in _panels(_raw(path)) for e in (t["expr"] for t in p.get("targets", []))]
    windows = [w for expr in exprs for w in _range_windows(expr)]
    assert windows, "no rate() at all"
    assert set(windows) == {RATE_INTERVAL_SENTINEL}


@by_name
def test_variables_are_matched_as_regular_expressions(path: Path) -> None:
    """`label="$var"` would break "All" (`.*`) and multi-value selections."""
    for expr in _all_exprs(_raw(path)):
        assert not re.search(r'\w+\s*(=|!=)\s*"\$', expr), expr


@by_name
def test_every_query_parses(path: Path) -> None:
    for expr in _all_exprs(_raw(path)):
        promql_parser.parse(substitute(expr, PREVIEW_VALUES))


@by_name
def test_blue_and_green_have_fixed_colors(path: Path) -> None:
    dashboard = load_dashboard(path)
    for panel in dashboard.panels:
        if any("{{color}}" in t.legend for t in panel.targets):
            assert panel.fixed_color("orders blue") != panel.fixed_color("orders green")
            assert panel.fixed_color("orders blue") and panel.fixed_color("orders green")
            assert panel.fixed_color("payments blue") == panel.fixed_color("orders blue")


def test_recorded_series_the_dashboards_read_are_recorded() -> None:
    recorded = {
        rule["record"]
        for path in RULE_FILES
        for group in yaml.safe_load(path.read_text())["groups"]
        for rule in group["rules"]
        if "record" in rule
    }
    used = {
        name
        for path in DASHBOARD_FILES
        for expr in _all_exprs(_raw(path))
        for name in re.findall(r"\b[a-z_]+:[a-z_:0-9]+", substitute(expr, PREVIEW_VALUES))
    }
    assert used, "the dashboards read the SLO recording rules"
    assert used <= recorded


def test_blue_vs_green_shows_promotions() -> None:
    annotations = _raw(next(p for p in DASHBOARD_FILES if p.stem == "blue-vs-green"))
    tags = [
        a["target"]["tags"]
        for a in annotations["annotations"]["list"]
        if a.get("target", {}).get("type") == "tags"
    ]
    assert ["promotion"] in tags, "platformctl promote posts annotations tagged 'promotion'"
