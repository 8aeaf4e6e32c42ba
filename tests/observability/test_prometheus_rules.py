"""The rule files load in Prometheus, and promtool unit tests cover every alert both ways."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from platformctl.dashboards.live_color import render_live_color_rules

from tests.observability.paths import RULE_FILES, RULE_TEST_FILES

PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"


def _promtool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PROMTOOL, *args], capture_output=True, text=True, timeout=120, check=False
    )


def _alerts() -> dict[str, list[dict]]:
    alerts: dict[str, list[dict]] = {}
    for path in RULE_FILES:
        for group in yaml.safe_load(path.read_text())["groups"]:
            for rule in group["rules"]:
                if "alert" in rule:
                    alerts.setdefault(rule["alert"], []).append(rule)
    return alerts


def test_rule_files_are_plain_prometheus_rule_files() -> None:
    """The chart loads them verbatim into Prometheus and into a PrometheusRule's spec."""
    assert RULE_FILES
    for path in RULE_FILES:
        document = yaml.safe_load(path.read_text())
        assert set(document) == {"groups"}, path.name


def test_promtool_check_rules() -> None:
    result = _promtool("check", "rules", *map(str, RULE_FILES))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("SUCCESS") == len(RULE_FILES)


@pytest.mark.parametrize("path", RULE_TEST_FILES, ids=lambda p: p.stem)
def test_promtool_test_rules(path: Path) -> None:
    result = _promtool("test", "rules", str(path))
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_is_tested_firing_and_not_firing() -> None:
    fired, silent = set(), set()
    for path in RULE_TEST_FILES:
        for case in yaml.safe_load(path.read_text())["tests"]:
            for check in case.get("alert_rule_test", []):
                (fired if check.get("exp_alerts") else silent).add(check["alertname"])
    assert set(_alerts()) <= fired, "an alert no test sees firing"
    assert set(_alerts()) <= silent, "an alert no test sees staying quiet"


def test_every_burn_rate_tier_is_tested_firing() -> None:
    tiers = {
        (name, rule["labels"]["long_window"])
        for name, rules in _alerts().items()
        for rule in rules
        if "long_window" in rule["labels"]
    }
    fired = {
        (check["alertname"], alert["exp_labels"]["long_window"])
        for path in RULE_TEST_FILES
        for case in yaml.safe_load(path.read_text())["tests"]
        for check in case.get("alert_rule_test", [])
        for alert in check.get("exp_alerts") or []
        if "long_window" in alert["exp_labels"]
    }
    assert len(tiers) == 6 and tiers <= fired


def test_slo_alerts_page_only_for_the_live_color() -> None:
    for name in ("ServiceAvailabilityBudgetBurn", "ServiceLatencyBudgetBurn"):
        for rule in _alerts()[name]:
            assert "and on (namespace, service, color) (platform_live_color == 1)" in rule["expr"]
    names = [
        case["name"]
        for path in RULE_TEST_FILES
        for case in yaml.safe_load(path.read_text())["tests"]
    ]
    assert any("live color only" in name for name in names)


def test_live_color_rules_load_in_prometheus(tmp_path: Path) -> None:
    rules = tmp_path / "live-color.yaml"
    rules.write_text(render_live_color_rules({"orders": "green", "auth": "blue"}, namespace="shop"))
    result = _promtool("check", "rules", str(rules))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 8 rules found" in result.stdout  # live color and weight, 2 colors each


def test_live_color_rejects_an_unknown_color() -> None:
    with pytest.raises(ValueError, match="live color"):
        render_live_color_rules({"orders": "purple"})
