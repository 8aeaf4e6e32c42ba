"""Images cannot be built here (no Docker engine): lint every Dockerfile and check its shape."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.support.tools import tool

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILES = sorted(ROOT.glob("apps/*/Dockerfile"))
SERVICES = ["auth", "notifications", "orders", "payments"]


def test_every_service_has_a_dockerfile():
    assert [path.parent.name for path in DOCKERFILES] == SERVICES


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.parent.name)
def test_hadolint_is_clean(dockerfile):
    result = subprocess.run(
        [tool("hadolint"), "--failure-threshold", "info", str(dockerfile)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.parent.name)
def test_image_shape(dockerfile):
    text = dockerfile.read_text()
    service = dockerfile.parent.name
    froms = re.findall(r"^FROM (\S+)", text, re.MULTILINE)
    assert len(froms) >= 2, "multi-stage"
    base = re.search(r"^ARG PYTHON_IMAGE=(\S+)$", text, re.MULTILINE)
    assert base and re.fullmatch(r"python:3\.\d+\.\d+-slim-\w+", base.group(1)), "pinned slim base"
    assert re.search(r"^USER \d+(:\d+)?$", text, re.MULTILINE), "non-root numeric user"
    assert "--no-dev" in text, "no dev dependencies in the image"
    cmd = re.search(r"^CMD (\[.*\])$", text, re.MULTILINE)
    assert cmd, "exec-form CMD"
    assert f'"{service}_service.main:create_app", "--factory"' in cmd.group(1)
    assert '"--timeout-graceful-shutdown"' in cmd.group(1)


def test_dockerignore_keeps_the_context_small():
    ignore = (ROOT / ".dockerignore").read_text().splitlines()
    assert ignore[ignore.index("**") :][:1] == ["**"]
    assert ".venv/" in ignore and ".local/" in ignore
