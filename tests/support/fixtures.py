"""Shared pytest fixtures: one running service stack per test session."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.support.services import ServiceStack


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceStack]:
    """auth, orders, notifications and two payments replicas as real uvicorn processes."""
    with ServiceStack.start(tmp_path_factory.mktemp("stack"), payments_replicas=2) as running:
        yield running


@pytest.fixture(scope="session")
def user_token(stack: ServiceStack) -> str:
    return stack.user_token()


@pytest.fixture(scope="session")
def service_token(stack: ServiceStack) -> str:
    return stack.service_token()


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=10) as client:
        yield client


@pytest.fixture(scope="session")
def minted(stack: ServiceStack):
    """Mint a token with the dev signing key: ``minted(audience, scope, **claims)``."""
    from tests.support.tokens import claims_for, dev_keyring, mint

    keyring = dev_keyring(stack.credentials.secrets_dir)

    def make(audience: str | list[str], scope: str, **overrides: object) -> str:
        return mint(keyring, claims_for(audience, scope, **overrides))

    return make
