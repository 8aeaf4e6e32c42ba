"""Monitoring wiring: the chart ships exactly the dashboards and alert rules of their source
folders, loads the rules into the bundled Prometheus, and scrapes both colors."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import yaml
from platformctl.dashboards.live_color import live_color_rule_group

from tests.support.helm_render import PLATFORM_CHART, REPO_ROOT, SERVICES, load_chart, of_kind
from tests.support.upstream_reference import PROMETHEUS_CHART, reference_path

DASHBOARDS_DIR = REPO_ROOT / "grafana-dashboards"
RULES_DIR = REPO_ROOT / "prometheus" / "rules"
PROMTOOL = "promtool"


def rule_files() -> dict[str, dict]:
    """The Prometheus rule files of the folder (files with top-level groups)."""
    files = {}
    for path in sorted(RULES_DIR.glob("*.y*ml")):
        content = yaml.safe_load(path.read_text())
        if isinstance(content, dict) and "groups" in content:
            files[path.name] = content
    return files


def test_chart_links_the_source_folders_instead_of_copying_them() -> None:
    assert (PLATFORM_CHART / "dashboards").resolve() == DASHBOARDS_DIR.resolve()
    assert (PLATFORM_CHART / "rules").resolve() == RULES_DIR.resolve()


def test_helm_loads_the_linked_files() -> None:
    shipped = {f["name"] for f in load_chart(PLATFORM_CHART).files}
    assert {f"dashboards/{p.name}" for p in DASHBOARDS_DIR.glob("*.json")} <= shipped
    assert {f"rules/{name}" for name in rule_files()} <= shipped


def test_one_configmap_per_dashboard_with_the_folders_json(renders) -> None:
    dashboards = [
        cm
        for cm in of_kind(renders["blue"], "ConfigMap")
        if cm["metadata"].get("labels", {}).get("grafana_dashboard") == "1"
    ]
    shipped = {name: json.loads(text) for cm in dashboards for name, text in cm["data"].items()}
    source = {p.name: json.loads(p.read_text()) for p in sorted(DASHBOARDS_DIR.glob("*.json"))}
    assert shipped == source
    assert len(dashboards) == len(source)


def test_dashboards_can_be_switched_off(renders) -> None:
    labels = [cm["metadata"].get("labels", {}) for cm in of_kind(renders["all-off"], "ConfigMap")]
    assert not any("grafana_dashboard" in label for label in labels)


def test_bundled_prometheus_mounts_the_rules_configmap_and_loads_it(renders) -> None:
    values = load_chart(PLATFORM_CHART).values
    name = values["monitoring"]["rules"]["configMapName"]
    rules_map = next(
        cm for cm in of_kind(renders["blue"], "ConfigMap") if cm["metadata"]["name"] == name
    )
    assert {k: yaml.safe_load(v) for k, v in (rules_map.get("data") or {}).items()} == rule_files()

    prometheus = values["prometheus"]
    for mounts in (
        prometheus["server"]["extraConfigmapMounts"],
        prometheus["configmapReload"]["prometheus"]["extraConfigmapMounts"],
    ):
        mount = next(m for m in mounts if m["configMap"] == name)
        assert (
            f"{mount['mountPath']}/*.yaml"
            in prometheus["serverFiles"]["prometheus.yml"]["rule_files"]
        )


def test_external_monitoring_renders_a_prometheus_rule_per_rule_file(renders) -> None:
    rules = [
        rule
        for rule in of_kind(renders["all-on"], "PrometheusRule")
        if rule["metadata"]["name"] != "platform-live-color"
    ]
    shipped = sorted(json.dumps(r["spec"]["groups"], sort_keys=True) for r in rules)
    source = sorted(json.dumps(c["groups"], sort_keys=True) for c in rule_files().values())
    assert shipped == source
    assert all(r["metadata"]["labels"]["release"] == "kube-prometheus-stack" for r in rules)
    assert not [
        cm
        for cm in of_kind(renders["all-on"], "ConfigMap")
        if cm["metadata"]["name"] == "platform-alert-rules"
    ]


def test_external_monitoring_scrapes_both_colors_with_a_pod_monitor(renders) -> None:
    (monitor,) = of_kind(renders["all-on"], "PodMonitor")
    selector = monitor["spec"]["selector"]["matchLabels"]
    deployments = of_kind(renders["all-on"], "Deployment")
    selected = [
        d
        for d in deployments
        if selector.items() <= d["spec"]["template"]["metadata"]["labels"].items()
    ]
    assert selected == deployments
    assert {"app", "color", "version"} <= set(monitor["spec"]["podTargetLabels"])
    assert monitor["spec"]["podMetricsEndpoints"][0]["port"] == "http"


def test_scrape_job_keeps_the_upstream_pod_rules_and_adds_service() -> None:
    ours = load_chart(PLATFORM_CHART).values["prometheus"]["scrapeConfigs"]["kubernetes-pods"][
        "relabel_configs"
    ]
    upstream_values = reference_path(PROMETHEUS_CHART) / "values.yaml"
    upstream = yaml.safe_load(upstream_values.read_text())["scrapeConfigs"]["kubernetes-pods"][
        "relabel_configs"
    ]
    assert ours[: len(upstream)] == upstream
    assert ours[len(upstream) :] == [
        {
            "source_labels": ["__meta_kubernetes_pod_label_app"],
            "regex": "(.+)",
            "action": "replace",
            "target_label": "service",
        }
    ]


def test_promtool_accepts_the_scrape_job_and_the_rule_files(renders, tmp_path: Path) -> None:
    values = load_chart(PLATFORM_CHART).values["prometheus"]
    job = values["scrapeConfigs"]["kubernetes-pods"]
    rules_dir = tmp_path / "rules"
    rules_dir.mkdir()
    for name, content in rule_files().items():
        (rules_dir / name).write_text(yaml.safe_dump(content))
    live = {"groups": _live_color_groups(renders["blue"])}
    (rules_dir / "platform-live-color.yaml").write_text(yaml.safe_dump(live))
    config = {
        "global": values["server"]["global"],
        "rule_files": [str(rules_dir / "*.yaml")],
        "scrape_configs": [
            # Debian's promtool is built without Kubernetes discovery; the relabel rules are
            # checked the same with a static target.
            {
                "job_name": "kubernetes-pods",
                "static_configs": [{"targets": ["127.0.0.1:8080"]}],
                **job,
            }
        ],
    }
    config_file = tmp_path / "prometheus.yml"
    config_file.write_text(yaml.safe_dump(config))
    result = subprocess.run(
        [PROMTOOL, "check", "config", "--lint=none", str(config_file)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_grafana_has_a_fixed_prometheus_datasource_and_the_dashboard_sidecar() -> None:
    grafana = load_chart(PLATFORM_CHART).values["grafana"]
    (datasource,) = grafana["datasources"]["datasources.yaml"]["datasources"]
    assert datasource["uid"] == "prometheus" and datasource["type"] == "prometheus"
    server = load_chart(PLATFORM_CHART).values["prometheus"]["server"]["fullnameOverride"]
    assert datasource["url"] == f"http://{server}"
    sidecar = grafana["sidecar"]["dashboards"]
    assert (sidecar["enabled"], sidecar["label"], sidecar["labelValue"]) == (
        True,
        "grafana_dashboard",
        "1",
    )


@pytest.mark.parametrize("variant", ["blue", "all-on"])
def test_dashboards_use_a_datasource_grafana_provides(renders, variant: str) -> None:
    for cm in of_kind(renders[variant], "ConfigMap"):
        for text in (
            (cm.get("data") or {}).values()
            if "grafana_dashboard" in cm["metadata"].get("labels", {})
            else ()
        ):
            dashboard = json.loads(text)
            variables = {v["name"]: v for v in dashboard.get("templating", {}).get("list", [])}
            assert variables["datasource"]["query"] == "prometheus"


def _live_color_groups(objects) -> list[dict]:
    for obj in objects:
        if obj["kind"] == "ConfigMap" and obj["metadata"]["name"] == "platform-live-color":
            return yaml.safe_load(obj["data"]["platform-live-color.yaml"])["groups"]
        if obj["kind"] == "PrometheusRule" and obj["metadata"]["name"] == "platform-live-color":
            return obj["spec"]["groups"]
    raise AssertionError("no platform_live_color record rendered")


@pytest.mark.parametrize(
    ("variant", "live"),
    [
        ("blue", dict.fromkeys(SERVICES, "blue")),
        ("green", dict.fromkeys(SERVICES, "green")),
        ("all-on", dict.fromkeys(SERVICES, "blue")),
        ("production", dict.fromkeys(SERVICES, "green")),
    ],
)
def test_live_color_record_matches_the_selectors_and_the_local_format(
    renders, variant: str, live: dict[str, str]
) -> None:
    selected = {
        s["metadata"]["name"]: s["spec"]["selector"]["color"]
        for s in of_kind(renders[variant], "Service")
    }
    assert {service: selected[service] for service in SERVICES} == live
    assert _live_color_groups(renders[variant]) == [live_color_rule_group(live, "platform")]


def test_bundled_prometheus_loads_the_live_color_record(renders) -> None:
    prometheus = load_chart(PLATFORM_CHART).values["prometheus"]
    name = load_chart(PLATFORM_CHART).values["monitoring"]["rules"]["liveColorConfigMapName"]
    assert any(cm["metadata"]["name"] == name for cm in of_kind(renders["blue"], "ConfigMap"))
    for mounts in (
        prometheus["server"]["extraConfigmapMounts"],
        prometheus["configmapReload"]["prometheus"]["extraConfigmapMounts"],
    ):
        mount = next(m for m in mounts if m["configMap"] == name)
        rule_files_ = prometheus["serverFiles"]["prometheus.yml"]["rule_files"]
        assert f"{mount['mountPath']}/*.yaml" in rule_files_
