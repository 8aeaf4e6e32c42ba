"""Images cannot be built here (no Docker engine): lint the recipe and check its shape.

Every service has ``apps/<service>/Dockerfile``; each links to the one shared recipe
``apps/Dockerfile``, which builds the service named by ``--build-arg SERVICE``.
"""

from __future__ import annotations

import importlib
import json
import re
import subprocess
import tomllib
from pathlib import Path

import pytest

from tests.support.tools import tool

ROOT = Path(__file__).resolve().parents[1]
RECIPE = ROOT / "apps" / "Dockerfile"
SERVICES = ["auth", "notifications", "orders", "payments"]


@pytest.mark.parametrize("service", SERVICES)
def test_every_service_has_a_dockerfile_using_the_shared_recipe(service):
    dockerfile = ROOT / "apps" / service / "Dockerfile"
    assert dockerfile.resolve() == RECIPE.resolve()
    # What the recipe builds for this service exists: the package and the app factory.
    project = tomllib.loads((ROOT / "apps" / service / "pyproject.toml").read_text())
    assert project["project"]["name"] == f"{service}-service"
    assert callable(importlib.import_module(f"{service}_service.main").create_app)


def test_hadolint_is_clean():
    result = subprocess.run(
        [tool("hadolint"), "--failure-threshold", "info", str(RECIPE)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_image_shape():
    text = RECIPE.read_text()
    froms = re.findall(r"^FROM (\S+)", text, re.MULTILINE)
    assert len(froms) >= 2, "multi-stage"
    base = re.search(r"^ARG PYTHON_IMAGE=(\S+)$", text, re.MULTILINE)
    assert base and re.fullmatch(r"python:3\.\d+\.\d+-slim-\w+", base.group(1)), "pinned slim base"
    assert re.search(r"^USER \d+(:\d+)?$", text, re.MULTILINE), "non-root numeric user"
    assert '--no-dev --no-editable --package "${SERVICE}-service"' in text, "no dev dependencies"
    assert "UVICORN_APP=${SERVICE}_service.main:create_app" in text
    cmd = re.search(r"^CMD (\[.*\])$", text, re.MULTILINE)
    assert cmd, "exec-form CMD"
    argv = json.loads(cmd.group(1))
    assert argv[0] == "uvicorn" and "--factory" in argv
    assert argv[argv.index("--timeout-graceful-shutdown") + 1].isdigit()
    assert argv[argv.index("--port") + 1] == "8080"


def test_a_build_without_a_service_fails_with_a_clear_message():
    assert 'test -n "${SERVICE}" || { echo "build with --build-arg SERVICE=' in RECIPE.read_text()


def test_dockerignore_keeps_the_context_small():
    ignore = (ROOT / ".dockerignore").read_text().splitlines()
    assert "**" in ignore
    assert ".venv/" in ignore and ".local/" in ignore
