"""Driving the local cluster from the tests as a person would: the CLIs, each call printed."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from localcluster import access
from platform_images import SERVICES
from platformctl.kubernetes import load_environment

from tests.support.tools import tool

REPO_ROOT = Path(__file__).resolve().parents[2]
# The local environment's file: tests edit it as a person would and put it back.
ENV_FILE = REPO_ROOT / "environments" / "local.yaml"
NAMESPACE = access.NAMESPACE
# Its helmfile flags (--skip-deps) are the environment's own, as platformctl reads them.
HELMFILE_FLAGS = load_environment("local", REPO_ROOT).helmfile_flags


def run(env: dict[str, str], *argv: str, timeout: float = 600) -> subprocess.CompletedProcess:
    result = subprocess.run(
        list(argv), env=env, capture_output=True, text=True, timeout=timeout, cwd=REPO_ROOT
    )
    print(f"$ {' '.join(argv)} -> {result.returncode}\n{result.stdout[-3000:]}{result.stderr}")
    return result


def platformctl(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return run(env, *platformctl_argv(*args))


def platformctl_argv(*args: str) -> list[str]:
    return [tool("platformctl"), *args, "-e", "local"]


def helmfile_apply(env: dict[str, str]) -> subprocess.CompletedProcess:
    return run(env, "helmfile", "-e", "local", "apply", "--suppress-diff", *HELMFILE_FLAGS)


def selectors(env: dict[str, str]) -> dict[str, str]:
    found = json.loads(run(env, "kubectl", "-n", NAMESPACE, "get", "services", "-o", "json").stdout)
    return {
        item["metadata"]["name"]: item["spec"]["selector"]["color"]
        for item in found["items"]
        if item["metadata"]["name"] in SERVICES
    }


def revision(env: dict[str, str]) -> int:
    history = run(env, "helm", "history", "platform", "-n", NAMESPACE, "-o", "json").stdout
    return json.loads(history)[-1]["revision"]


def service_address(env: dict[str, str], service: str) -> str:
    """A Service's ClusterIP and port: the host routes the Service range to the node."""
    return run(env, "kubectl", "-n", NAMESPACE, "get", "service", service, "-o",
               "jsonpath={.spec.clusterIP}:{.spec.ports[0].port}").stdout  # fmt: skip
