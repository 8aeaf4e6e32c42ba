"""docker-compose.yml, checked without Docker: its structure against the compose schema, and
its services, ports, env, secrets, Prometheus and Grafana against the code that defines them
(the services' settings classes, docs/contract.md, the chart's monitoring values)."""

from __future__ import annotations

import importlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from servicekit.settings import DEFAULT_SECRETS_DIR, ServiceSettings, load_settings

from tests.delivery.helmfile_state import REPO_ROOT
from tests.delivery.schema_check import builtin_schema_errors
from tests.support.helm_render import PLATFORM_CHART, SERVICES

COMPOSE_FILE = REPO_ROOT / "docker-compose.yml"
COMPOSE_DIR = REPO_ROOT / "deploy" / "compose"
CONTRACT = REPO_ROOT / "docs" / "contract.md"
DASHBOARDS = REPO_ROOT / "grafana-dashboards"
RULES = REPO_ROOT / "prometheus" / "rules"


def contract_rows() -> dict[str, dict[str, str]]:
    """docs/contract.md's service table: service -> column -> cell (backticks stripped)."""
    lines = [line for line in CONTRACT.read_text().splitlines() if line.startswith("|")]
    header = [cell.strip() for cell in lines[0].strip("|").split("|")]
    rows = {}
    for line in lines[2:]:
        cells = [cell.strip().strip("`") for cell in line.strip("|").split("|")]
        rows[cells[0]] = dict(zip(header, cells, strict=True))
    return rows


CONTRACT_ROWS = contract_rows()


def settings_class(service: str) -> type[ServiceSettings]:
    module, _, name = CONTRACT_ROWS[service]["settings class"].partition(":")
    return getattr(importlib.import_module(module), name)


def container_port(service: str) -> int:
    return int(re.match(r"\d+", CONTRACT_ROWS[service]["container port"]).group())


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILE.read_text())


def test_compose_file_matches_the_compose_specification_offline() -> None:
    assert builtin_schema_errors("vendor.compose-spec", [COMPOSE_FILE]) == ""


def test_the_contract_lists_the_four_services() -> None:
    assert set(CONTRACT_ROWS) == set(SERVICES)


@pytest.mark.parametrize("service", SERVICES)
def test_service_is_built_from_its_dockerfile_and_published_on_its_stable_port(
    service: str, compose: dict[str, Any]
) -> None:
    spec = compose["services"][service]
    assert spec["build"] == {
        "context": ".",
        "dockerfile": f"apps/{service}/Dockerfile",
        "args": {"SERVICE": service},
    }
    assert (REPO_ROOT / spec["build"]["dockerfile"]).is_file()
    # The same image name the chart deploys (its default repository, tag aside).
    chart_values = yaml.safe_load((PLATFORM_CHART / "charts" / service / "values.yaml").read_text())
    assert spec["image"].rpartition(":")[0] == chart_values["image"]["repository"]
    stable = CONTRACT_ROWS[service]["local stable port"]
    published = f"${{{service.upper()}_PORT:-{stable}}}"
    assert spec["ports"] == [f"127.0.0.1:{published}:{container_port(service)}"]


def compose_environment(compose: dict[str, Any], service: str) -> dict[str, str]:
    return {name: str(value) for name, value in compose["services"][service]["environment"].items()}


@pytest.mark.parametrize("service", SERVICES)
def test_environment_uses_only_the_services_own_settings(
    service: str, compose: dict[str, Any]
) -> None:
    known = set(settings_class(service).env_names().values()) | {"SERVICE_SECRETS_DIR"}
    unknown = set(compose_environment(compose, service)) - known
    assert unknown == set()


@pytest.mark.parametrize("service", SERVICES)
def test_every_dependency_url_points_at_that_compose_service(
    service: str, compose: dict[str, Any]
) -> None:
    env = compose_environment(compose, service)
    depends_on = compose["services"][service]["depends_on"]
    for dependency, variable in settings_class(service).dependencies().items():
        if dependency == service:
            continue
        assert env[variable] == f"http://{dependency}:{container_port(dependency)}"
        assert depends_on[dependency] == {"condition": "service_healthy"}


@pytest.mark.parametrize("service", SERVICES)
def test_generated_secrets_satisfy_the_settings_even_in_production(
    service: str, compose: dict[str, Any], dev_secrets: Path
) -> None:
    """The dev-secrets volume holds every file the settings read; with the compose env, the
    settings load (even under production's stricter checks) and find their secrets."""
    spec = compose["services"][service]
    env = compose_environment(compose, service)
    assert env["SERVICE_SECRETS_DIR"] == DEFAULT_SECRETS_DIR
    assert f"dev-secrets:{DEFAULT_SECRETS_DIR}:ro" in spec["volumes"]
    env |= {"SERVICE_SECRETS_DIR": str(dev_secrets), "SERVICE_ENVIRONMENT": "production"}
    cls = settings_class(service)
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        settings = load_settings(cls)
    for field_name, field in cls.model_fields.items():
        extra = field.json_schema_extra
        if isinstance(extra, dict) and extra.get("required_in_production"):
            assert getattr(settings, field_name) is not None, field_name


@pytest.fixture(scope="module")
def dev_secrets(tmp_path_factory: pytest.TempPathFactory, compose: dict[str, Any]) -> Path:
    """Run the compose one-shot's script for real, as the current user."""
    init = compose["services"]["dev-secrets"]
    assert init["entrypoint"][-1] == DEFAULT_SECRETS_DIR
    assert f"dev-secrets:{DEFAULT_SECRETS_DIR}" in init["volumes"]
    target = tmp_path_factory.mktemp("compose") / "secrets"
    result = subprocess.run(
        [sys.executable, COMPOSE_DIR / "dev_secrets.py", target],
        env={**os.environ, "SERVICE_UID": str(os.getuid())},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "development user: alice / " in result.stdout
    return target


def test_services_wait_for_their_secrets_and_report_readiness(compose: dict[str, Any]) -> None:
    # The secrets come from the auth image: it ships auth_service.devsecrets.
    assert compose["services"]["dev-secrets"]["image"] == compose["services"]["auth"]["image"]
    for service in SERVICES:
        spec = compose["services"][service]
        assert spec["depends_on"]["dev-secrets"] == {"condition": "service_completed_successfully"}
        probe = " ".join(spec["healthcheck"]["test"])
        assert f"127.0.0.1:{container_port(service)}/readyz" in probe


def prometheus_config() -> dict[str, Any]:
    return yaml.safe_load((COMPOSE_DIR / "prometheus.yml").read_text())


def mount(compose: dict[str, Any], service: str, source: str) -> str:
    """Where a service mounts a repository path (bind mounts written ./path:target[:ro])."""
    for volume in compose["services"][service]["volumes"]:
        parts = volume.split(":")
        if parts[0] == source:
            return parts[1]
    raise LookupError(f"{service} does not mount {source}")


def test_prometheus_config_and_rules_pass_promtool(compose: dict[str, Any], tmp_path: Path) -> None:
    """Lay the files out as the container sees them, then `promtool check config`."""
    config_target = Path(mount(compose, "prometheus", "./deploy/compose/prometheus.yml"))
    rules_target = Path(mount(compose, "prometheus", "./prometheus/rules"))
    root = tmp_path / "container"
    config = root / config_target.relative_to("/")
    config.parent.mkdir(parents=True)
    shutil.copy(COMPOSE_DIR / "prometheus.yml", config)
    (root / rules_target.relative_to("/")).symlink_to(RULES)
    live_target = Path(mount(compose, "prometheus", "./deploy/compose/live-color.yaml"))
    shutil.copy(COMPOSE_DIR / "live-color.yaml", root / live_target.relative_to("/"))
    promtool = shutil.which("promtool")
    assert promtool, "promtool comes with the Debian prometheus package (make system-deps)"
    result = subprocess.run(
        [promtool, "check", "config", config], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr
    # Every rule file is loaded, none left out by the glob.
    loaded = {
        path.name
        for pattern in prometheus_config()["rule_files"]
        for path in config.parent.glob(pattern)
    }
    rule_files = {path.name for path in RULES.iterdir() if path.suffix in (".yaml", ".yml")}
    assert loaded == rule_files | {"live-color.yaml"}


def test_the_live_color_is_published_for_the_slo_alerts() -> None:
    """compose runs blue only; without this series the SLO alerts could never page."""
    from platformctl.dashboards.live_color import render_live_color_rules

    services = ["auth", "orders", "payments", "notifications"]
    expected = yaml.safe_load(
        render_live_color_rules(dict.fromkeys(services, "blue"), namespace="compose")
    )
    assert yaml.safe_load((COMPOSE_DIR / "live-color.yaml").read_text()) == expected


def test_prometheus_scrapes_every_service_with_the_cluster_labels(
    compose: dict[str, Any],
) -> None:
    (job,) = [j for j in prometheus_config()["scrape_configs"] if j["job_name"] == "platform"]
    targets = {config["targets"][0]: config["labels"] for config in job["static_configs"]}
    for service in SERVICES:
        env = compose_environment(compose, service)
        labels = targets[f"{service}:{container_port(service)}"]
        assert labels["service"] == service
        assert labels["color"] == env["SERVICE_COLOR"]
        assert labels["version"] == env["SERVICE_VERSION"]
    # The rules group by target labels; compose provides each of them.
    grouped = {
        label.strip()
        for path in RULES.iterdir()
        for clause in re.findall(r"\bby \(([^)]*)\)", path.read_text())
        for label in clause.split(",")
    }
    target_labels = set().union(*(set(labels) for labels in targets.values()))
    from_metrics = {"le", "handler", "method", "status", "dependency", "horizontalpodautoscaler"}
    assert grouped - from_metrics <= target_labels


def chart_datasource() -> dict[str, Any]:
    values = yaml.safe_load((PLATFORM_CHART / "values.yaml").read_text())
    (datasource,) = values["grafana"]["datasources"]["datasources.yaml"]["datasources"]
    return datasource


def test_grafana_datasource_matches_the_charts(compose: dict[str, Any]) -> None:
    provisioning = Path(mount(compose, "grafana", "./deploy/compose/grafana/provisioning"))
    assert provisioning == Path("/etc/grafana/provisioning")
    provisioned = yaml.safe_load(
        (COMPOSE_DIR / "grafana/provisioning/datasources/prometheus.yaml").read_text()
    )
    (datasource,) = provisioned["datasources"]
    chart = chart_datasource()
    for key in ("name", "uid", "type"):
        assert datasource[key] == chart[key]
    port = prometheus_port(compose)
    assert datasource["url"] == f"http://prometheus:{port}"


def prometheus_port(compose: dict[str, Any]) -> int:
    published = compose["services"]["prometheus"]["ports"][0]
    return int(published.rsplit(":", 1)[1])


def datasource_uids(node: Any) -> set[str]:
    """Every datasource uid a dashboard names (panels, targets, variables, annotations)."""
    found: set[str] = set()
    if isinstance(node, dict):
        source = node.get("datasource")
        if isinstance(source, dict) and isinstance(source.get("uid"), str):
            found.add(source["uid"])
        for value in node.values():
            found |= datasource_uids(value)
    elif isinstance(node, list):
        for item in node:
            found |= datasource_uids(item)
    return found


def test_grafana_loads_every_dashboard_against_that_datasource(compose: dict[str, Any]) -> None:
    provider_config = yaml.safe_load(
        (COMPOSE_DIR / "grafana/provisioning/dashboards/platform.yaml").read_text()
    )
    (provider,) = provider_config["providers"]
    assert provider["options"]["path"] == mount(compose, "grafana", "./grafana-dashboards")
    dashboards = sorted(DASHBOARDS.glob("*.json"))
    assert dashboards
    uid = chart_datasource()["uid"]
    for path in dashboards:
        dashboard = json.loads(path.read_text())
        assert dashboard["uid"], path.name
        # Only the provisioned uid, a $variable, or Grafana's own annotations source.
        unexpected = {
            name
            for name in datasource_uids(dashboard)
            if name != uid and not name.startswith("$") and not name.startswith("-- ")
        }
        assert unexpected == set(), path.name
