"""Session fixtures for the tiers that need the service images: the container engine, and the
four images built once per session by `platform-images build` (seconds when warm). Skips, saying
why, where no engine can run containers."""

from __future__ import annotations

import json
import os
import subprocess

import pytest
from platform_images import SERVICES
from platform_images.build import REPORT
from platform_images.engine import Engine, EngineError, detect

from tests.support.tools import tool


@pytest.fixture(scope="session")
def engine() -> Engine:
    try:
        found = detect()
    except EngineError as error:
        pytest.skip(f"needs a container engine: {error}")
    if found.name == "podman" and os.geteuid() != 0:
        pytest.skip("needs root for podman here (rootless podman lacks the ulimits it needs)")
    return found


@pytest.fixture(scope="session")
def images(engine: Engine) -> dict[str, str]:
    """service -> image, built by `platform-images build` as `make images` does."""
    build = subprocess.run(
        [tool("platform-images"), "build", "--engine", engine.name],
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert build.returncode == 0, build.stdout + build.stderr
    built = json.loads(REPORT.read_text())["images"]
    return {image["service"]: image["tags"][0] for image in built if image["service"] in SERVICES}
