"""helmfile.yaml and environments/: structure, references, and the environment contract."""

from __future__ import annotations

import pytest
import yaml

from tests.delivery.helmfile_state import (
    ENVIRONMENTS,
    ENVIRONMENTS_DIR,
    GO_TEMPLATE_BUILTINS,
    HELMFILE,
    environment_files,
    environment_release,
    helmfile_documents,
    helmfile_section,
    key_paths,
    releases,
    state_values,
    template_functions,
)
from tests.support.helm_render import COLORS, PLATFORM_CHART, SERVICES

GOTMPL = ENVIRONMENTS_DIR / "platform-values.yaml.gotmpl"


def test_helmfile_is_plain_yaml_with_environments_and_releases_in_separate_documents() -> None:
    # helmfile v1 templates only *.gotmpl files: helmfile.yaml itself must not need it.
    assert "{{" not in HELMFILE.read_text()
    documents = helmfile_documents()
    with_environments = [i for i, doc in enumerate(documents) if "environments" in doc]
    with_releases = [i for i, doc in enumerate(documents) if "releases" in doc]
    assert len(with_environments) == 1
    assert len(with_releases) == 1
    assert with_environments[0] < with_releases[0]


def test_the_five_environments_are_defined() -> None:
    assert tuple(helmfile_section("environments")) == ENVIRONMENTS


def test_every_referenced_file_exists() -> None:
    referenced = {path for env in ENVIRONMENTS for path in environment_files(env)}
    for release in releases():
        assert (release.chart / "Chart.yaml").is_file(), release.chart
        referenced |= set(release.values_files)
    missing = sorted(str(path) for path in referenced if not path.is_file())
    assert missing == []
    # Every environment file is used; a stray one would be edited and never applied.
    unused = set(ENVIRONMENTS_DIR.iterdir()) - referenced
    assert unused == set()


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_each_environment_installs_one_release_in_its_own_namespace(environment: str) -> None:
    release = environment_release(environment)
    assert release.name == "platform"
    assert release.namespace == f"platform-{environment}"
    if environment != "local":
        assert release.chart == PLATFORM_CHART
        return
    # The local cluster installs the offline copy its prepare hook writes (docs/runbook.md).
    from localcluster.offline_chart import TARGET

    assert release.chart == TARGET
    (spec,) = [r for r in helmfile_section("releases") if r["namespace"] == "platform-local"]
    assert spec["hooks"] == [
        {
            "events": ["prepare"],
            "showlogs": True,
            "command": ".venv/bin/localcluster",
            "args": ["offline-chart"],
        }
    ]


def test_releases_create_their_namespace_and_keep_a_rollback_history() -> None:
    defaults = helmfile_section("helmDefaults")
    assert defaults["createNamespace"] is True
    assert defaults["wait"] is True
    assert defaults["historyMax"] >= 10
    namespaces = [release.namespace for release in releases()]
    assert len(namespaces) == len(set(namespaces)) == len(ENVIRONMENTS)


def test_repositories_cover_the_charts_remote_dependencies() -> None:
    chart = yaml.safe_load((PLATFORM_CHART / "Chart.yaml").read_text())
    remote = {dep["repository"] for dep in chart["dependencies"] if dep.get("repository")}
    declared = {repo["url"] for repo in helmfile_section("repositories")}
    assert remote <= declared


def test_the_kind_environment_is_pinned_to_the_kind_cluster() -> None:
    assert helmfile_section("environments")["kind"]["kubeContext"] == "kind-platform"


def test_every_environment_has_the_same_keys() -> None:
    # helmfile fails on a missing key, and the .gotmpl file reads the same keys everywhere.
    shapes = {env: set(key_paths(state_values(env))) for env in ENVIRONMENTS}
    reference = shapes["prod"]
    for environment, shape in shapes.items():
        assert shape ^ reference == set(), environment


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_environment_state_is_well_formed(environment: str) -> None:
    values = state_values(environment)
    assert values["activeColor"] in COLORS
    assert set(values["services"]) == set(SERVICES)
    for service, spec in values["services"].items():
        assert spec["activeColor"] in ("", *COLORS), service
        for color in COLORS:
            assert str(spec[color]["version"]), (service, color)
    size = values["size"]
    autoscaling = size["autoscaling"]
    assert 1 <= autoscaling["minReplicas"] <= autoscaling["maxReplicas"]
    assert not autoscaling["enabled"] or autoscaling["minReplicas"] <= size["replicas"]


def test_the_values_template_uses_only_core_go_template_functions() -> None:
    # Renders the same under helmfile, Helm or plain text/template: no sprig, no helmfile
    # extras such as readFile, exec or requiredEnv.
    used = template_functions(GOTMPL.read_text())
    assert used <= GO_TEMPLATE_BUILTINS, used - GO_TEMPLATE_BUILTINS
