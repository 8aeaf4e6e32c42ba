"""Promotion is one value: blue and green renders differ only in the two Service selectors
(and the platform_live_color record that reports them)."""

from __future__ import annotations

from pathlib import Path

import helm_python
import pytest
import yaml
from platformctl.dashboards.live_color import live_color_rule_group

from tests.support.helm_render import (
    PLATFORM_CHART,
    SERVICES,
    ObjectDiff,
    diff_objects,
    load_chart,
    nested,
    notes,
    render,
)

SELECTOR_COLOR = frozenset({"spec.selector.color"})
# The platform_live_color record follows the selectors (see templates/live-color.yaml).
LIVE_COLOR_RECORD = {
    ("ConfigMap", "platform-live-color"): frozenset({"data.platform-live-color.yaml"})
}


def _selector_flip(*services: str) -> dict:
    return {
        ("Service", name): SELECTOR_COLOR
        for service in services
        for name in (service, f"{service}-preview")
    } | LIVE_COLOR_RECORD


def test_flipping_active_color_changes_only_the_service_selectors_and_live_color(renders) -> None:
    diff = diff_objects(renders["blue"], renders["green"])
    assert not diff.added and not diff.removed
    assert dict(diff.changed) == _selector_flip(*SERVICES)


def test_active_and_preview_swap_colors(renders) -> None:
    def selected(objects):
        return {
            o["metadata"]["name"]: o["spec"]["selector"]["color"]
            for o in objects
            if o["kind"] == "Service"
        }

    blue, green = selected(renders["blue"]), selected(renders["green"])
    for service in SERVICES:
        assert (blue[service], blue[f"{service}-preview"]) == ("blue", "green")
        assert (green[service], green[f"{service}-preview"]) == ("green", "blue")


def test_a_per_service_override_flips_only_that_service(renders) -> None:
    override = render(PLATFORM_CHART, {"orders": {"activeColor": "green"}})
    diff = diff_objects(renders["blue"], override)
    assert dict(diff.changed) == _selector_flip("orders")
    assert not diff.added and not diff.removed


def test_a_per_service_override_holds_against_the_global_flip(renders) -> None:
    pinned = render(
        PLATFORM_CHART, {"global": {"activeColor": "green"}, "auth": {"activeColor": "blue"}}
    )
    diff = diff_objects(renders["blue"], pinned)
    assert dict(diff.changed) == _selector_flip("orders", "payments", "notifications")


def test_a_new_image_tag_changes_only_that_colors_deployment(renders) -> None:
    deployed = render(PLATFORM_CHART, nested("payments", "green", "image", "tag", value="0.2.0"))
    diff = diff_objects(renders["blue"], deployed)
    assert not diff.added and not diff.removed
    assert set(diff.changed) == {("Deployment", "payments-green")}
    assert diff.changed[("Deployment", "payments-green")] == {
        "spec.template.metadata.labels.version",
        "spec.template.metadata.labels.app.kubernetes.io/version",
        "spec.template.spec.containers[0].image",
        "spec.template.spec.containers[0].env[1].value",  # SERVICE_VERSION
    }


def test_a_config_change_rolls_both_colors_of_that_service_only(renders) -> None:
    changed = render(
        PLATFORM_CHART, nested("auth", "config", value={"AUTH_TOKEN_TTL_SECONDS": 600})
    )
    diff: ObjectDiff = diff_objects(renders["blue"], changed)
    assert set(diff.changed) == {
        ("ConfigMap", "auth-config"),
        ("Deployment", "auth-blue"),
        ("Deployment", "auth-green"),
    }
    for color in ("blue", "green"):
        assert diff.changed[("Deployment", f"auth-{color}")] == {
            "spec.template.metadata.annotations.checksum/config"
        }


def test_notes_say_which_color_is_live_and_how_to_promote_and_roll_back() -> None:
    text = notes(PLATFORM_CHART, {"global": {"activeColor": "green"}})
    assert "Live color (global.activeColor): green" in text
    assert "--set global.activeColor=blue" in text
    assert "helm rollback platform <revision>" in text
    for service in SERVICES:
        assert f"{service}-preview" in text


def test_a_chart_version_bump_alone_restarts_no_pod(renders, tmp_path) -> None:
    bumped = load_chart(PLATFORM_CHART).save_dir(tmp_path)
    for chart_yaml in Path(bumped).rglob("Chart.yaml"):
        chart_yaml.write_text(chart_yaml.read_text().replace("version: 0.1.0", "version: 0.1.1"))
    diff = diff_objects(renders["blue"], render(Path(bumped), {}))
    changed_templates = {
        key
        for key, paths in diff.changed.items()
        if key[0] == "Deployment" and any(p.startswith("spec.template") for p in paths)
    }
    assert diff.changed, "the bump should show in the helm.sh/chart labels"
    assert changed_templates == set()


def test_a_canary_step_selects_both_colors_and_records_the_replica_ratio(renders) -> None:
    """canaryWeight > 0: the live Service drops its color (the pods of both colors serve live
    traffic), keeps the stable color in an annotation, and platform_traffic_weight records each
    color's share, 1 canary pod next to 2 stable ones here (canaryWeight is that share, as
    platformctl writes it)."""
    step = render(PLATFORM_CHART, {"orders": {"canaryWeight": 33, "green": {"replicas": 1}}})
    diff = diff_objects(renders["blue"], step)
    assert not diff.added and not diff.removed
    assert set(diff.changed) == {
        ("Service", "orders"),
        ("Deployment", "orders-green"),
        ("ConfigMap", "platform-live-color"),
    }
    [live] = [o for o in step if o["kind"] == "Service" and o["metadata"]["name"] == "orders"]
    assert "color" not in live["spec"]["selector"]
    assert live["metadata"]["annotations"] == {"platform/stable-color": "blue"}
    [config] = [o for o in step if o["metadata"]["name"] == "platform-live-color"]
    [group] = yaml.safe_load(config["data"]["platform-live-color.yaml"])["groups"]
    # The local runtime records the same group from the same weight.
    live = dict.fromkeys(SERVICES, "blue")
    assert group == live_color_rule_group(live, "platform", canary_weights={"orders": 33})
    rules = group["rules"]
    weights = {
        (r["labels"]["service"], r["labels"]["color"]): r["expr"]
        for r in rules
        if r["record"] == "platform_traffic_weight"
    }
    assert weights[("orders", "green")] == "vector(33)"
    assert weights[("orders", "blue")] == "vector(67)"
    assert weights[("payments", "blue")] == "vector(100)"
    assert weights[("payments", "green")] == "vector(0)"


GATEWAY_ROUTING = {
    "canaryRouting": {
        "mode": "gateway",
        "gateway": {"name": "platform", "namespace": "gateway-system", "domain": "example.test"},
    }
}
GATEWAY_API = ("gateway.networking.k8s.io/v1/HTTPRoute",)
ROUTED = ("auth", "orders")  # the services users call: route.enabled in their values


def _gateway_render(values: dict) -> list[dict]:
    return render(PLATFORM_CHART, values, api_versions=GATEWAY_API)


def _route(objects: list[dict], service: str) -> dict:
    [route] = [o for o in objects if o["kind"] == "HTTPRoute" and o["metadata"]["name"] == service]
    return route


def _live_service(objects: list[dict], service: str) -> dict:
    [live] = [o for o in objects if o["kind"] == "Service" and o["metadata"]["name"] == service]
    return live


def test_gateway_routing_weights_an_httproute_and_leaves_the_services_alone(renders) -> None:
    """canaryRouting gateway: each service users call gets an HTTPRoute on the named Gateway
    for <service>.<domain>, all to the live Service outside a step; a step changes that route's
    weights (live 90, preview 10) and nothing about the Services."""
    routed = _gateway_render({"global": GATEWAY_ROUTING})
    diff = diff_objects(renders["blue"], routed)
    assert set(diff.added) == {("HTTPRoute", name) for name in ROUTED} and not diff.removed
    route = _route(routed, "orders")
    assert route["spec"]["parentRefs"] == [
        {
            "group": "gateway.networking.k8s.io",
            "kind": "Gateway",
            "name": "platform",
            "namespace": "gateway-system",
        }
    ]
    assert route["spec"]["hostnames"] == ["orders.example.test"]
    assert route["spec"]["rules"] == [
        {"backendRefs": [{"name": "orders", "port": 80, "weight": 100}]}
    ]

    step = _gateway_render(
        {"global": GATEWAY_ROUTING, "orders": {"canaryWeight": 10, "green": {"replicas": 1}}}
    )
    diff = diff_objects(routed, step)
    assert set(diff.changed) == {
        ("HTTPRoute", "orders"),
        ("Deployment", "orders-green"),
        ("ConfigMap", "platform-live-color"),
    }
    assert _route(step, "orders")["spec"]["rules"] == [
        {
            "backendRefs": [
                {"name": "orders", "port": 80, "weight": 90},
                {"name": "orders-preview", "port": 80, "weight": 10},
            ]
        }
    ]
    assert _live_service(step, "orders")["spec"]["selector"]["color"] == "blue"


def test_a_service_without_a_route_steps_by_replicas_also_in_gateway_mode() -> None:
    """payments is called by orders only: no HTTPRoute, so its step drops the live Service's
    color as in replicas mode (a route at the gateway would split none of its traffic)."""
    step = _gateway_render(
        {"global": GATEWAY_ROUTING, "payments": {"canaryWeight": 33, "green": {"replicas": 1}}}
    )
    assert not [o for o in step if o["kind"] == "HTTPRoute" and o["metadata"]["name"] == "payments"]
    live = _live_service(step, "payments")
    assert "color" not in live["spec"]["selector"]
    assert live["metadata"]["annotations"] == {"platform/stable-color": "blue"}


def test_gateway_mode_without_the_gateway_api_fails_loudly() -> None:
    with pytest.raises(helm_python.HelmRenderError) as raised:
        render(PLATFORM_CHART, {"global": GATEWAY_ROUTING})
    assert "canaryRouting.mode gateway needs the Gateway API" in str(raised.value)


def test_gateway_proxies_are_let_in_to_the_routed_services_only() -> None:
    peer = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "traefik"}}}
    gateway = {**GATEWAY_ROUTING["canaryRouting"]["gateway"], "ingressFrom": [peer]}
    objects = _gateway_render(
        {"global": {"canaryRouting": {"mode": "gateway", "gateway": gateway}}}
    )
    ingress = {
        o["metadata"]["name"]: o["spec"]["ingress"][0]["from"]
        for o in objects
        if o["kind"] == "NetworkPolicy" and o["metadata"]["name"] in SERVICES
    }
    assert set(ingress) == set(SERVICES)
    assert {name for name, peers in ingress.items() if peer in peers} == set(ROUTED)
