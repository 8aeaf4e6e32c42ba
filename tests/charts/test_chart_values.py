"""Values: the schemas reject bad input with a clear message; the bundled Prometheus and
Grafana values fit the pinned upstream charts; production refuses unsafe settings."""

from __future__ import annotations

import json
from typing import Any

import helm_python
import jsonschema
import pytest
import yaml

from tests.support.helm_render import PLATFORM_CHART, SERVICES, load_chart, render
from tests.support.upstream_reference import GRAFANA_CHART, PROMETHEUS_CHART, reference_path


def _rejection(values: dict[str, Any]) -> str:
    with pytest.raises((helm_python.HelmValuesError, helm_python.HelmRenderError)) as raised:
        render(PLATFORM_CHART, values)
    return str(raised.value)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"global": {"activeColor": "purple"}}, "at '/global/activeColor': value must be one of"),
        ({"orders": {"activeColor": "purple"}}, "at '/activeColor': value must be one of"),
        ({"payments": {"blue": {"replicas": -1}}}, "at '/blue/replicas': minimum: got -1, want 0"),
        ({"replicaCount": 3}, "additional properties 'replicaCount' not allowed"),
        ({"auth": {"blue": {"replica": 3}}}, "additional properties 'replica' not allowed"),
        ({"auth": {"lifecycle": {"preStopSleepSeconds": 30}}}, "preStopSleepSeconds"),
        (
            {"monitoring": {"external": {"enabled": True}}},
            "at '/prometheus/enabled': value must be false",
        ),
        ({"orders": {"canaryWeight": 100}}, "at '/canaryWeight': maximum: got 100, want 99"),
        (
            {"orders": {"canaryWeight": 25, "green": {"enabled": False}}},
            "orders: canaryWeight 25 needs the idle color enabled",
        ),
        (
            {"global": {"canaryRouting": {"mode": "mesh"}}},
            "at '/global/canaryRouting/mode': value must be one of",
        ),
        (
            {"global": {"canaryRouting": {"mode": "gateway", "gateway": {"name": "platform"}}}},
            "at '/global/canaryRouting/gateway/domain': minLength: got 0, want 1",
        ),
    ],
    ids=[
        "purple",
        "service-purple",
        "negative-replicas",
        "unknown-top-level",
        "unknown-nested",
        "long-prestop",
        "external-with-bundled",
        "canary-everything",
        "canary-without-idle",
        "unknown-canary-routing",
        "gateway-without-domain",
    ],
)
def test_schema_rejects_bad_values_with_a_clear_error(values: dict, message: str) -> None:
    assert message in _rejection(values)


def test_schema_allows_global_and_every_default() -> None:
    chart = load_chart(PLATFORM_CHART)
    chart.validate_schema({"global": {"activeColor": "green", "environment": "staging"}})


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (
            {"global": {"environment": "production"}},
            "secret.existingSecret is required in production",
        ),
        (
            {
                "global": {"environment": "production"},
                "auth": {"secret": {"create": True, "data": {"auth_signing_key": "k"}}},
                "orders": {"secret": {"existingSecret": "o"}},
            },
            "auth: secret.create inlines secrets from values",
        ),
        (
            {
                "global": {"environment": "production"},
                "auth": {"secret": {"existingSecret": "a"}},
                "orders": {
                    "secret": {"existingSecret": "o"},
                    "green": {"faults": {"errorRate": 0.5, "latencyMs": 0}},
                },
            },
            "orders: green.faults must be off in production",
        ),
        (
            {"notifications": {"blue": {"enabled": False}}},
            "notifications: the active color blue is disabled",
        ),
    ],
    ids=["prod-without-secret", "prod-inline-secret", "prod-faults", "active-color-disabled"],
)
def test_templates_refuse_unsafe_combinations(values: dict, message: str) -> None:
    assert message in _rejection(values)


def test_external_monitoring_without_the_operator_api_fails_loudly() -> None:
    values = {"monitoring": {"external": {"enabled": True}}, "prometheus": {"enabled": False}}
    assert "needs the monitoring.coreos.com/v1" in _rejection(values)


def test_every_value_has_a_description_in_the_service_schema() -> None:
    schema = json.loads(
        (PLATFORM_CHART / "charts" / "bluegreen" / "service-values.schema.json").read_text()
    )
    undocumented = []

    def walk(node: dict, path: str) -> None:
        for name, child in node.get("properties", {}).items():
            if "description" not in child:
                undocumented.append(f"{path}.{name}")
            walk(child, f"{path}.{name}")

    walk(schema, "")
    assert undocumented == []


@pytest.mark.parametrize("service", SERVICES)
def test_service_defaults_satisfy_the_service_schema(service: str) -> None:
    chart = load_chart(PLATFORM_CHART / "charts" / service)
    chart.validate_schema({})
    assert set(chart.values) <= set(chart.schema["properties"])


def test_prometheus_values_validate_against_the_upstream_schema() -> None:
    values = load_chart(PLATFORM_CHART).values["prometheus"]
    schema = json.loads((reference_path(PROMETHEUS_CHART) / "values.schema.json").read_text())
    # "$schema": "http://json-schema.org/schema#" means the latest draft, as Helm reads it.
    jsonschema.Draft202012Validator(schema).validate(values)
    # The upstream schema leaves most of server open; the keys must still exist upstream.
    assert _unknown_keys(values, _reference_values(reference_path(PROMETHEUS_CHART))) == ["enabled"]


def test_grafana_values_use_only_keys_of_the_upstream_chart() -> None:
    values = load_chart(PLATFORM_CHART).values["grafana"]
    assert _unknown_keys(values, _reference_values(reference_path(GRAFANA_CHART))) == ["enabled"]


def _reference_values(reference_dir) -> dict[str, Any]:
    return yaml.safe_load((reference_dir / "values.yaml").read_text())


def _unknown_keys(values: dict[str, Any], reference: Any, prefix: str = "") -> list[str]:
    """Keys in ``values`` the upstream values.yaml does not have. An empty map or a non-map
    upstream is open (free-form, such as datasources or scrapeConfigs entries)."""
    if not isinstance(reference, dict) or not reference:
        return []
    unknown = []
    for name, value in values.items():
        path = f"{prefix}.{name}" if prefix else name
        if name not in reference:
            unknown.append(path)
        elif isinstance(value, dict):
            unknown.extend(_unknown_keys(value, reference[name], path))
    return unknown
