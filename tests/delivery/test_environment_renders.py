"""Every environment, through the real helmfile's rendering of its .gotmpl values file and the
real Helm engine, renders
the umbrella chart and passes the chart suite's schema and wiring checks; flipping the live
color in an environment file changes nothing but Service selectors."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.delivery.helmfile_state import (
    ENVIRONMENTS,
    ENVIRONMENTS_DIR,
    chart_values,
    environment_release,
    state_values,
)
from tests.support.helm_render import (
    COLORS,
    MONITORING_API_VERSIONS,
    PLATFORM_CHART,
    SERVICES,
    Object,
    container_env,
    diff_objects,
    of_kind,
    render,
    scaling_target_problems,
    service_selector_problems,
    target_port_problems,
)
from tests.support.kube_schemas import KUBERNETES_VERSIONS, validation_errors


def render_environment(environment: str, files: Mapping[Path, str] | None = None) -> list[Object]:
    """`helmfile -e ENV template`, offline: state values -> .gotmpl -> umbrella chart."""
    values = chart_values(environment, files)
    external = values["monitoring"]["external"]["enabled"]
    return render(
        PLATFORM_CHART,
        values,  # render() validates them against values.schema.json first
        api_versions=MONITORING_API_VERSIONS if external else (),
        namespace=environment_release(environment).namespace,
    )


@pytest.fixture(scope="module")
def rendered() -> dict[str, list[Object]]:
    return {environment: render_environment(environment) for environment in ENVIRONMENTS}


def other(color: str) -> str:
    return next(c for c in COLORS if c != color)


def named(objects: list[Object], kind: str, name: str) -> Object:
    return next(o for o in of_kind(objects, kind) if o["metadata"]["name"] == name)


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_the_values_file_renders_to_plain_yaml(environment: str) -> None:
    text = yaml.safe_dump(chart_values(environment))  # what `helmfile write-values` wrote
    assert "<no value>" not in text
    assert isinstance(yaml.safe_load(text), dict)


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_environment_passes_the_chart_wiring_checks(
    environment: str, rendered: dict[str, list[Object]]
) -> None:
    objects = rendered[environment]
    assert service_selector_problems(objects) == []
    assert target_port_problems(objects) == []
    assert scaling_target_problems(objects) == []


_validated: dict[str, list[str]] = {}


def schema_errors(obj: Object) -> list[str]:
    """Kubernetes schema errors, once per distinct object (environments share most)."""
    fingerprint = json.dumps(obj, sort_keys=True)
    if fingerprint not in _validated:
        # The oldest supported version; the chart suite covers the newest for every variant.
        _validated[fingerprint] = validation_errors(obj, KUBERNETES_VERSIONS[:1])
    return _validated[fingerprint]


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_environment_objects_are_valid_kubernetes(
    environment: str, rendered: dict[str, list[Object]]
) -> None:
    errors = [error for obj in rendered[environment] for error in schema_errors(obj)]
    assert errors == []


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_environment_file_decides_colors_versions_and_size(
    environment: str, rendered: dict[str, list[Object]]
) -> None:
    state = state_values(environment)
    objects = rendered[environment]
    namespace = environment_release(environment).namespace
    size = state["size"]
    for service in SERVICES:
        spec = state["services"][service]
        live = spec["activeColor"] or state["activeColor"]
        assert named(objects, "Service", service)["spec"]["selector"]["color"] == live
        preview = named(objects, "Service", f"{service}-preview")
        assert preview["spec"]["selector"]["color"] == other(live)
        for color in COLORS:
            deployment = named(objects, "Deployment", f"{service}-{color}")
            assert deployment["metadata"]["namespace"] == namespace
            container = deployment["spec"]["template"]["spec"]["containers"][0]
            image = f"{state['imageRegistry']}/platform-{service}:{spec[color]['version']}"
            assert container["image"] == image
            assert container["resources"] == size["resources"]
            env = container_env(objects, deployment)
            assert env["SERVICE_ENVIRONMENT"] == state["serviceEnvironment"]
            hpas = [
                h
                for h in of_kind(objects, "HorizontalPodAutoscaler")
                if h["spec"]["scaleTargetRef"]["name"] == f"{service}-{color}"
            ]
            if size["autoscaling"]["enabled"]:
                assert "replicas" not in deployment["spec"]
                (hpa,) = hpas
                assert hpa["spec"]["minReplicas"] == size["autoscaling"]["minReplicas"]
                assert hpa["spec"]["maxReplicas"] == size["autoscaling"]["maxReplicas"]
            else:
                assert deployment["spec"]["replicas"] == size["replicas"]
                assert hpas == []


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_monitoring_external_switches_bundled_for_operator_objects(
    environment: str, rendered: dict[str, list[Object]]
) -> None:
    monitoring = state_values(environment)["monitoring"]
    external, bundled = monitoring["external"], monitoring["bundled"]
    assert not (external and bundled), "bundled and external monitoring are exclusive"
    values = chart_values(environment)
    assert values["prometheus"]["enabled"] is values["grafana"]["enabled"] is bundled
    kinds = {obj["kind"] for obj in rendered[environment]}
    assert ({"PodMonitor", "PrometheusRule"} <= kinds) is external


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_the_policies_admit_the_environments_scrapers_and_outside_peers(
    environment: str, rendered: dict[str, list[Object]]
) -> None:
    """Each service's ingress admits: on the external path the Prometheus pods of
    monitoring.namespace (else the bundled server), and every externalPeers CIDR."""
    state = state_values(environment)
    for service in SERVICES:
        peers = [
            peer
            for rule in named(rendered[environment], "NetworkPolicy", service)["spec"]["ingress"]
            for peer in rule["from"]
        ]
        operator_prometheus = {
            "namespaceSelector": {
                "matchLabels": {"kubernetes.io/metadata.name": state["monitoring"]["namespace"]}
            },
            "podSelector": {"matchLabels": {"app.kubernetes.io/name": "prometheus"}},
        }
        assert (operator_prometheus in peers) is state["monitoring"]["external"], service
        blocks = [peer["ipBlock"]["cidr"] for peer in peers if "ipBlock" in peer]
        assert blocks == state["externalPeers"], service


_TOP_LEVEL_ACTIVE_COLOR = re.compile(r"^activeColor: (\w+)$", re.MULTILINE)


def flip_in_file(environment: str) -> tuple[str, dict[Path, str]]:
    """Promotion as a person does it: edit the one line of the environment file."""
    path = ENVIRONMENTS_DIR / f"{environment}.yaml"
    text = path.read_text()
    (current,) = _TOP_LEVEL_ACTIVE_COLOR.findall(text)
    flipped = _TOP_LEVEL_ACTIVE_COLOR.sub(f"activeColor: {other(current)}", text)
    return other(current), {path: flipped}


def rule_groups(obj: Object) -> list[tuple[str, list[dict[str, Any]]]]:
    """(where, groups) of every Prometheus rule group list an object carries."""
    if obj["kind"] == "PrometheusRule":
        return [("spec", obj["spec"].get("groups", []))]
    found = []
    if obj["kind"] == "ConfigMap":
        for name, text in (obj.get("data") or {}).items():
            try:
                document = yaml.safe_load(text)
            except yaml.YAMLError:
                continue
            if isinstance(document, dict) and isinstance(document.get("groups"), list):
                found.append((name, document["groups"]))
    return found


# Which color each Service selects, and each color's share of live traffic, as recording rules
# for alerts and dashboards: they follow activeColor by design (platformctl.dashboards.live_color).
LIVE_COLOR_RECORD = "platform_live_color"
TRAFFIC_WEIGHT_RECORD = "platform_traffic_weight"


def live_color_records(objects: list[Object]) -> dict[tuple[str, str], str]:
    """(service, color) -> expr of the platform_live_color recording rules, if rendered."""
    return {
        (rule["labels"]["service"], rule["labels"]["color"]): rule["expr"]
        for obj in objects
        for _, groups in rule_groups(obj)
        for group in groups
        for rule in group.get("rules", [])
        if rule.get("record") == LIVE_COLOR_RECORD
    }


def without_live_color_rules(objects: list[Object]) -> list[Object]:
    """The render minus the live-color recording rules."""
    stripped = []
    for obj in objects:
        groups = rule_groups(obj)
        if groups:
            obj = copy.deepcopy(obj)
            for where, found in groups:
                kept = [
                    {
                        **group,
                        "rules": [
                            rule
                            for rule in group.get("rules", [])
                            if rule.get("record") not in (LIVE_COLOR_RECORD, TRAFFIC_WEIGHT_RECORD)
                        ],
                    }
                    for group in found
                ]
                if where == "spec":
                    obj["spec"]["groups"] = kept
                else:
                    document = yaml.safe_load(obj["data"][where])
                    document["groups"] = kept
                    obj["data"][where] = yaml.safe_dump(document)
        stripped.append(obj)
    return stripped


def assert_only_selectors_changed(before: list[Object], after: list[Object], services: set[str]):
    """Service selectors of ``services`` move; so does the live-color record, nothing else."""
    records_before, records_after = live_color_records(before), live_color_records(after)
    for service, color in records_after.keys() & records_before.keys():
        expected_change = service in services
        assert (records_after[service, color] != records_before[service, color]) is (
            expected_change
        ), (service, color)
    diff = diff_objects(without_live_color_rules(before), without_live_color_rules(after))
    assert diff.added == diff.removed == frozenset()
    changed_services = {name for kind, name in diff.changed if kind == "Service"}
    assert {kind for kind, _ in diff.changed} == {"Service"}
    assert changed_services == services | {f"{s}-preview" for s in services}
    assert set().union(*diff.changed.values()) == {"spec.selector.color"}


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_flipping_active_color_in_the_file_changes_only_service_selectors(
    environment: str, rendered: dict[str, list[Object]]
) -> None:
    new_color, files = flip_in_file(environment)
    after = render_environment(environment, files)
    # Services that set their own color do not follow the global flip.
    following = {
        s for s, spec in state_values(environment)["services"].items() if not spec["activeColor"]
    }
    assert_only_selectors_changed(rendered[environment], after, following)
    for service in following:
        assert named(after, "Service", service)["spec"]["selector"]["color"] == new_color


def test_one_services_own_color_moves_only_that_service(
    rendered: dict[str, list[Object]],
) -> None:
    path = ENVIRONMENTS_DIR / "prod.yaml"
    state: dict[str, Any] = yaml.safe_load(path.read_text())
    state["services"]["orders"]["activeColor"] = other(state["activeColor"])
    after = render_environment("prod", {path: yaml.safe_dump(state)})
    assert_only_selectors_changed(rendered["prod"], after, {"orders"})


def test_a_colors_faults_reach_that_color_only() -> None:
    """`faults` under one color of one service (to rehearse a bad release) is optional: the
    template passes it to that color and to no other."""
    path = ENVIRONMENTS_DIR / "local.yaml"
    text = path.read_text()
    start = text.index("\n  payments:\n")
    line = '    green: {version: "dev", replicas: ""}'
    at = text.index(line, start)
    faulty = '    green: {version: "dev", replicas: "", faults: {latencyMs: 300}}'
    edited = text[:at] + faulty + text[at + len(line) :]
    values = chart_values("local", {path: edited})
    assert values["payments"]["green"]["faults"] == {"latencyMs": 300}
    assert [
        (service, color)
        for service in SERVICES
        for color in COLORS
        if "faults" in values[service][color]
    ] == [("payments", "green")]


def test_a_colors_own_replicas_fix_its_size_and_turn_its_hpa_off() -> None:
    """platformctl writes a color's `replicas`: "1" for a small idle color (previewReplicas), "0"
    once an old color is scaled down. prod autoscales; a fixed size must take the color's HPA
    away (or it would scale the color back), leave the other color alone, and a preview
    scaled to zero drops out of `helm test`."""
    path = ENVIRONMENTS_DIR / "prod.yaml"
    state: dict[str, Any] = yaml.safe_load(path.read_text())
    state["services"]["orders"]["green"]["replicas"] = "1"
    state["services"]["payments"]["green"]["replicas"] = "0"
    after = render_environment("prod", {path: yaml.safe_dump(state)})
    assert named(after, "Deployment", "orders-green")["spec"]["replicas"] == 1
    assert named(after, "Deployment", "payments-green")["spec"]["replicas"] == 0
    hpas = {o["metadata"]["name"] for o in of_kind(after, "HorizontalPodAutoscaler")}
    assert {"orders-blue", "payments-blue", "auth-green"} <= hpas
    assert not {"orders-green", "payments-green"} & hpas
    assert "replicas" not in named(after, "Deployment", "orders-blue")["spec"]  # the HPA's
    tests = {o["metadata"]["name"]: json.dumps(o) for o in of_kind(after, "Job")}
    assert "orders-preview" in tests["platform-test-orders"]
    assert "payments-preview" not in tests["platform-test-payments"]
