"""Reading each color's HPA, replicas and CPU request from the chart and the environments."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from platformctl.capacity.chart import (
    SERVICES,
    deep_merge,
    environment_names,
    environment_state,
    load_environment,
    parse_cpu_millicores,
    umbrella_values_from_state,
)
from platformctl.capacity.hpa import Behavior, PolicyType, ScalingPolicy, SelectPolicy

from tests.delivery.helmfile_state import chart_values

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("quantity", "millicores"),
    [("100m", 100), ("250m", 250), ("1", 1000), ("0.5", 500), (2, 2000), ("1.5", 1500)],
)
def test_cpu_quantities(quantity, millicores):
    assert parse_cpu_millicores(quantity) == millicores


def test_merge_is_helms_maps_merge_lists_replace():
    base = {"a": {"b": 1, "c": [1, 2]}, "d": 1}
    merged = deep_merge(base, {"a": {"c": [3]}, "e": 2})
    assert merged == {"a": {"b": 1, "c": [3]}, "d": 1, "e": 2}
    assert base["a"]["c"] == [1, 2]


def write(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data))


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A small chart and environment tree shaped like the real one."""
    color = {
        "enabled": True,
        "replicas": 2,
        "autoscaling": {"enabled": False, "minReplicas": 2, "maxReplicas": 6},
        "resources": {"requests": {"cpu": "100m"}, "limits": {"cpu": "1"}},
    }
    for service in SERVICES:
        write(
            tmp_path / "charts/platform/charts" / service / "values.yaml",
            {
                "global": {"activeColor": "blue"},
                "activeColor": "",
                "blue": color,
                "green": color,
                "autoscalingBehavior": {
                    "scaleDown": {
                        "selectPolicy": "Min",
                        "policies": [{"type": "Percent", "value": 50, "periodSeconds": 60}],
                    }
                },
            },
        )
    write(tmp_path / "charts/platform/values.yaml", {"global": {"activeColor": "blue"}})
    write(tmp_path / "environments/common.yaml", {"colors": ["blue", "green"]})
    write(
        tmp_path / "environments/prod.yaml",
        {
            "activeColor": "green",
            "services": {name: {"activeColor": ""} for name in SERVICES}
            | {"payments": {"activeColor": "blue"}},
            "size": {
                "replicas": 3,
                "autoscaling": {
                    "enabled": True,
                    "minReplicas": 3,
                    "maxReplicas": 12,
                    "targetCPUUtilizationPercentage": 60,
                },
                "resources": {"requests": {"cpu": "250m"}, "limits": {"cpu": "2"}},
            },
        },
    )
    return tmp_path


def test_chart_defaults_without_an_environment(repo: Path):
    configs = load_environment(repo, None)
    assert len(configs) == 8
    orders_blue = next(c for c in configs if (c.service, c.color) == ("orders", "blue"))
    assert orders_blue.live and orders_blue.hpa is None and orders_blue.replicas == 2
    assert orders_blue.cpu_request_millicores == 100
    assert orders_blue.pod_cpu_ceiling_millicores == 1000


def test_environment_sizes_every_color_and_sets_the_live_color(repo: Path):
    configs = {(c.service, c.color): c for c in load_environment(repo, "prod")}
    orders_green = configs["orders", "green"]
    assert orders_green.live and not configs["orders", "blue"].live
    assert configs["payments", "blue"].live  # its own activeColor wins over the global one
    assert orders_green.cpu_request_millicores == 250
    # A limit of 2 cores is still one Python process: one core at most.
    assert orders_green.pod_cpu_ceiling_millicores == 1000
    hpa = orders_green.hpa
    assert hpa is not None
    assert (hpa.min_replicas, hpa.max_replicas, hpa.target_utilization) == (3, 12, 60)
    # The chart's behavior, merged with the API defaults field by field.
    assert hpa.behavior == Behavior.from_manifest(
        {
            "scaleDown": {
                "selectPolicy": "Min",
                "policies": [{"type": "Percent", "value": 50, "periodSeconds": 60}],
            }
        }
    )
    assert hpa.behavior.scale_down.select_policy is SelectPolicy.min
    assert hpa.behavior.scale_down.policies == (ScalingPolicy(PolicyType.percent, 50, 60),)


def test_unknown_environment_names_the_known_ones(repo: Path):
    assert environment_names(repo) == ["prod"]
    with pytest.raises(FileNotFoundError, match="known: prod"):
        load_environment(repo, "qa")


@pytest.mark.parametrize("environment", ["dev", "staging", "prod", "kind"])
def test_sizing_matches_the_real_gotmpl_render(environment: str):
    """`umbrella_values_from_state` is the sizing part of platform-values.yaml.gotmpl: compare
    it with that template rendered by the real helmfile (`helmfile write-values`)."""
    rendered = chart_values(environment)
    ours = umbrella_values_from_state(environment_state(REPO_ROOT, environment))
    assert ours["global"]["activeColor"] == rendered["global"]["activeColor"]
    for service in SERVICES:
        assert ours[service]["activeColor"] == rendered[service]["activeColor"]
        assert ours[service]["autoscalingBehavior"] == rendered[service]["autoscalingBehavior"]
        for color in ("blue", "green"):
            for key in ("replicas", "autoscaling", "resources"):
                assert ours[service][color][key] == rendered[service][color][key], (
                    environment,
                    service,
                    color,
                    key,
                )
