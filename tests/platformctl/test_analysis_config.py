"""The shipped analysis config: valid, and every query is PromQL that Prometheus accepts
for the selectors both backends build (local instances, a Kubernetes namespace)."""

from __future__ import annotations

from pathlib import Path

import promql_parser
import pytest
from platformctl.analysis.config import AnalysisConfigError, load_config

SELECTORS = [
    'service="orders",color="green",instance=~"127.0.0.1:41234|127.0.0.1:41235"',
    'namespace="prod",service="orders",color="green"',
]


@pytest.mark.parametrize("selector", SELECTORS)
def test_every_metric_renders_to_valid_promql(selector: str) -> None:
    config = load_config()
    assert {m.name for m in config.metrics} >= {"error-ratio", "p95-latency"}
    for metric in config.metrics:
        promql_parser.parse(metric.promql(selector, config.window))


def test_argo_style_phases_are_bounded() -> None:
    config = load_config()
    for phase in (config.pre_promotion, config.post_promotion):
        assert 1 <= phase.count <= 30
        assert phase.duration <= 120
        assert phase.failure_limit >= 0


def test_a_broken_config_is_one_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "analysis.yaml"
    path.write_text("window: 10s\nmetrics:\n  - name: x\n    query: up{$selectr}\n    max: 1\n")
    with pytest.raises(AnalysisConfigError, match="unknown placeholder"):
        load_config(path)
