"""The images tier: runs the images (built once per session by the `images` fixture in
tests/support/images.py) as containers through the real engine."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from platform_images.engine import Engine

from tests.images import containers


@pytest.fixture(scope="module")
def secrets(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return containers.dev_secrets(tmp_path_factory.mktemp("secrets"))


@pytest.fixture(scope="module")
def network(engine: Engine) -> Iterator[str]:
    with containers.network(engine) as name:
        yield name


@pytest.fixture(scope="module")
def auth(engine: Engine, images, network: str, secrets: Path) -> Iterator[containers.Container]:
    container = containers.run(
        engine, images["auth"], network_name=network, secrets=secrets, alias="auth"
    )
    try:
        container.wait_ready()
        yield container
    finally:
        container.remove()
