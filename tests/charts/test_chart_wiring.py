"""The chart and the services agree: selectors, ports, probe paths, settings, NetworkPolicies.

The services are imported, not described: probe paths come from each app's OpenAPI document,
variables and calls from each settings class.
The apps themselves run in the service_apps fixture (conftest.py), one interpreter each.
"""

from __future__ import annotations

import importlib
import json
from typing import Any

import pytest
from servicekit.settings import ServiceSettings

from tests.support.helm_render import (
    PLATFORM_CHART,
    REPO_ROOT,
    SERVICES,
    Object,
    admitted_callers,
    allowed_calls,
    container_env,
    load_chart,
    mounted_secret_files,
    of_kind,
    pod_spec,
    scaling_target_problems,
    service_of,
    service_selector_problems,
    target_port_problems,
)
from tests.support.platform_variants import Variant, render_variant

SETTINGS_CLASSES = {
    "auth": "auth_service.core.config:AuthSettings",
    "orders": "orders_service.core.config:OrdersSettings",
    "payments": "payments_service.core.config:PaymentsSettings",
    "notifications": "notifications_service.core.config:NotificationsSettings",
}
# Read by servicekit.settings.load_settings to find the secret files; not a settings field.
LOADER_VARIABLES = {"SERVICE_SECRETS_DIR"}
ALL_VARIANTS = ["blue", "green", "all-on", "all-off", "production"]


def settings_class(service: str) -> type[ServiceSettings]:
    module, name = SETTINGS_CLASSES[service].split(":")
    return getattr(importlib.import_module(module), name)


def calls_of(service: str) -> dict[str, str]:
    """Services this one calls over the network -> URL variable. Auth inherits auth_url but
    verifies tokens with its own keys, so it never calls itself."""
    return {
        dependency: variable
        for dependency, variable in settings_class(service).dependencies().items()
        if dependency != service
    }


def deployments_of(objects: list[Object], service: str) -> list[Object]:
    return [d for d in of_kind(objects, "Deployment") if service_of(d) == service]


@pytest.mark.parametrize("variant", ALL_VARIANTS)
def test_every_service_selects_exactly_one_enabled_deployment(renders, variant: str) -> None:
    assert service_selector_problems(renders[variant]) == []


@pytest.mark.parametrize("variant", ALL_VARIANTS)
def test_every_target_port_is_a_declared_container_port(renders, variant: str) -> None:
    assert target_port_problems(renders[variant]) == []


@pytest.mark.parametrize("variant", ALL_VARIANTS)
def test_every_hpa_and_pdb_targets_a_rendered_deployment(renders, variant: str) -> None:
    assert scaling_target_problems(renders[variant]) == []


def test_replicas_are_left_to_the_hpa_when_autoscaling(renders) -> None:
    autoscaled = {
        h["spec"]["scaleTargetRef"]["name"]
        for h in of_kind(renders["all-on"], "HorizontalPodAutoscaler")
    }
    deployments = of_kind(renders["all-on"], "Deployment")
    assert autoscaled == {d["metadata"]["name"] for d in deployments}
    assert all("replicas" not in d["spec"] for d in deployments)
    assert all("replicas" in d["spec"] for d in of_kind(renders["blue"], "Deployment"))


def test_hpas_have_explicit_scale_up_and_scale_down_policies(renders) -> None:
    for hpa in of_kind(renders["all-on"], "HorizontalPodAutoscaler"):
        assert hpa["apiVersion"] == "autoscaling/v2"
        assert hpa["spec"]["metrics"][0]["resource"]["name"] == "cpu"
        for direction in ("scaleUp", "scaleDown"):
            assert hpa["spec"]["behavior"][direction]["policies"], direction


@pytest.mark.parametrize("service", SERVICES)
def test_probe_and_metrics_paths_are_routes_of_the_app(renders, service_apps, service: str) -> None:
    operations = service_apps[service].operations
    for deployment in deployments_of(renders["blue"], service):
        container = pod_spec(deployment)["containers"][0]
        for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
            path = container[probe]["httpGet"]["path"]
            assert "GET" in operations.get(path, set()), f"{probe} {path} is not a GET route"
        metrics_path = deployment["spec"]["template"]["metadata"]["annotations"][
            "prometheus.io/path"
        ]
        assert "GET" in operations.get(metrics_path, set())


@pytest.mark.parametrize("service", SERVICES)
def test_helm_test_api_call_is_an_operation_that_answers_as_expected(
    service_apps, service: str
) -> None:
    check = load_chart(PLATFORM_CHART).values["tests"]["apiChecks"][service]
    app = service_apps[service]
    assert check["method"] in app.operations.get(check["path"], set())
    assert app.api_check_status == check["expectStatus"]


@pytest.mark.parametrize("variant", ALL_VARIANTS)
@pytest.mark.parametrize("service", SERVICES)
def test_every_variable_the_chart_sets_is_a_setting(renders, variant: str, service: str) -> None:
    known = set(settings_class(service).env_names().values()) | LOADER_VARIABLES
    for deployment in deployments_of(renders[variant], service):
        unknown = set(container_env(renders[variant], deployment)) - known
        assert unknown == set(), f"{deployment['metadata']['name']} sets unknown {unknown}"


@pytest.mark.parametrize("service", SERVICES)
def test_required_settings_are_provided_in_production(renders, service: str) -> None:
    settings = settings_class(service)
    required = [
        variable
        for field, variable in settings.env_names().items()
        if (settings.model_fields[field].json_schema_extra or {}).get("required_in_production")
    ]
    objects = renders["production"]
    for deployment in deployments_of(objects, service):
        env = container_env(objects, deployment)
        assert env["SERVICE_ENVIRONMENT"] == "production"
        secret_files = mounted_secret_files(deployment).get(env["SERVICE_SECRETS_DIR"], set())
        missing = [v for v in required if v not in env and v.lower() not in secret_files]
        assert missing == [], f"{deployment['metadata']['name']} lacks {missing}"


@pytest.mark.parametrize("service", SERVICES)
def test_dependency_urls_point_at_the_active_services(renders, service: str) -> None:
    objects = renders["blue"]
    service_ports = {
        s["metadata"]["name"]: s["spec"]["ports"][0]["port"] for s in of_kind(objects, "Service")
    }
    for deployment in deployments_of(objects, service):
        env = container_env(objects, deployment)
        for dependency, variable in calls_of(service).items():
            assert env[variable] == f"http://{dependency}:{service_ports[dependency]}"


def test_network_policies_allow_exactly_the_configured_calls(renders) -> None:
    expected = {service: set(calls_of(service)) for service in SERVICES}
    assert allowed_calls(renders["blue"]) == expected


def test_network_policies_admit_exactly_the_callers(renders) -> None:
    expected = {
        service: {caller for caller in SERVICES if service in calls_of(caller)}
        for service in SERVICES
    }
    assert admitted_callers(renders["blue"]) == expected


def test_network_policies_admit_prometheus_to_every_metrics_port(renders) -> None:
    prometheus = {"app.kubernetes.io/name": "prometheus", "app.kubernetes.io/component": "server"}
    for policy in of_kind(renders["blue"], "NetworkPolicy"):
        if policy["metadata"]["name"] not in SERVICES:
            continue
        scrape_rules = [
            rule
            for rule in policy["spec"]["ingress"]
            if any(
                peer.get("podSelector", {}).get("matchLabels") == prometheus
                for peer in rule["from"]
            )
        ]
        assert [r["ports"] for r in scrape_rules] == [[{"port": 8080, "protocol": "TCP"}]]


def test_every_platform_pod_is_under_default_deny_with_dns_egress(renders) -> None:
    objects = renders["blue"]
    policies = {p["metadata"]["name"]: p for p in of_kind(objects, "NetworkPolicy")}
    deny = policies["platform-default-deny"]["spec"]
    assert deny["policyTypes"] == ["Ingress", "Egress"] and "ingress" not in deny
    for deployment in of_kind(objects, "Deployment"):
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert labels["app.kubernetes.io/part-of"] == "platform"
        egress = policies[service_of(deployment)]["spec"]["egress"]
        assert {"port": 53, "protocol": "UDP"} in egress[0]["ports"]


def _pods(objects: list[Object]) -> list[tuple[str, dict[str, Any]]]:
    return [
        (o["metadata"]["name"], o["spec"]["template"]["spec"])
        for o in objects
        if o["kind"] in ("Deployment", "Job")
    ]


@pytest.mark.parametrize("variant", ALL_VARIANTS)
def test_pods_are_hardened(renders, variant: str) -> None:
    for name, spec in _pods(renders[variant]):
        assert spec["automountServiceAccountToken"] is False, name
        assert spec["securityContext"]["runAsNonRoot"] is True, name
        assert isinstance(spec["securityContext"]["runAsUser"], int), name
        assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}, name
        for container in spec["containers"]:
            context = container["securityContext"]
            assert context["readOnlyRootFilesystem"] is True, name
            assert context["allowPrivilegeEscalation"] is False, name
            assert context["capabilities"] == {"drop": ["ALL"]}, name


def test_services_get_a_writable_tmp_and_spread_across_nodes(renders) -> None:
    for deployment in of_kind(renders["blue"], "Deployment"):
        spec = pod_spec(deployment)
        tmp = next(m for m in spec["containers"][0]["volumeMounts"] if m["mountPath"] == "/tmp")
        volume = next(v for v in spec["volumes"] if v["name"] == tmp["name"])
        assert "emptyDir" in volume
        spread = spec["topologySpreadConstraints"][0]
        assert spread["topologyKey"] == "kubernetes.io/hostname"
        assert (
            spread["labelSelector"]["matchLabels"] == deployment["spec"]["selector"]["matchLabels"]
        )


def test_spreading_over_zones_can_be_turned_off_where_nodes_have_no_zone_label(renders) -> None:
    # The scheduler scores a soft spread only on nodes carrying every key the pod spreads by:
    # with a zone constraint on zone-less nodes, both replacements of an evicted pair landed
    # on one node of the local two-node cluster (docs/local-cluster.md).
    spread_keys = {
        tuple(c["topologyKey"] for c in pod_spec(d)["topologySpreadConstraints"])
        for d in of_kind(renders["blue"], "Deployment")
    }
    assert spread_keys == {("kubernetes.io/hostname", "topology.kubernetes.io/zone")}
    zones_off = {s: {"topologySpread": {"zones": False}} for s in SERVICES}
    for deployment in of_kind(render_variant(Variant("no-zones", zones_off)), "Deployment"):
        keys = [c["topologyKey"] for c in pod_spec(deployment)["topologySpreadConstraints"]]
        assert keys == ["kubernetes.io/hostname"], deployment["metadata"]["name"]


@pytest.mark.parametrize("variant", ALL_VARIANTS)
def test_grace_period_covers_prestop_and_drain(renders, variant: str) -> None:
    objects = renders[variant]
    for deployment in of_kind(objects, "Deployment"):
        spec = pod_spec(deployment)
        container = spec["containers"][0]
        pre_stop = container["lifecycle"]["preStop"]["sleep"]["seconds"]
        drain = int(container_env(objects, deployment)["SERVICE_DRAIN_TIMEOUT_SECONDS"])
        command = container["command"]
        assert command[command.index("--timeout-graceful-shutdown") + 1] == str(drain)
        assert 5 <= pre_stop <= 15
        assert spec["terminationGracePeriodSeconds"] > pre_stop + drain


def test_selectors_use_only_labels_that_never_change(renders) -> None:
    stable = {"app.kubernetes.io/name", "app.kubernetes.io/instance", "color"}
    for variant in renders.values():
        for obj in variant:
            if obj["kind"] in ("Deployment", "PodDisruptionBudget"):
                assert set(obj["spec"]["selector"]["matchLabels"]) <= stable
            if obj["kind"] == "Service":
                assert set(obj["spec"]["selector"]) <= stable


def test_pods_carry_app_color_version_labels_and_scrape_annotations(renders) -> None:
    for deployment in of_kind(renders["blue"], "Deployment"):
        template = deployment["spec"]["template"]["metadata"]
        color = deployment["metadata"]["name"].rsplit("-", 1)[1]
        assert template["labels"]["app"] == service_of(deployment)
        assert template["labels"]["color"] == color
        assert template["labels"]["version"] == "0.1.0"
        assert template["annotations"]["prometheus.io/scrape"] == "true"
        assert template["annotations"]["prometheus.io/port"] == "8080"


@pytest.mark.parametrize("service", SERVICES)
def test_command_is_the_images_cmd_with_the_charts_drain_timeout(renders, service: str) -> None:
    dockerfile = REPO_ROOT / "apps" / service / "Dockerfile"
    cmd_line = next(line for line in dockerfile.read_text().splitlines() if line.startswith("CMD "))
    image_cmd = json.loads(cmd_line.removeprefix("CMD "))
    for deployment in deployments_of(renders["blue"], service):
        command = list(pod_spec(deployment)["containers"][0]["command"])
        command.remove(f"{service}_service.main:create_app")  # the image sets UVICORN_APP
        drain = command.index("--timeout-graceful-shutdown") + 1
        assert command[:drain] + command[drain + 1 :] == image_cmd[:drain] + image_cmd[drain + 1 :]
