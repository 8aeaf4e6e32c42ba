"""Shared pytest fixtures: one running service stack per test session."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import httpx
import jwt
import pytest

from tests.support.services import ServiceStack


class FreshToken:
    """A token that stays valid however long the session runs: the cached one until a minute
    before it expires (auth's tokens live five minutes; the suite runs longer), then a new one."""

    MARGIN_SECONDS = 60

    def __init__(self, mint: Callable[[], str]) -> None:
        self.mint = mint
        self.token = ""
        self.expires_at = 0.0

    def __call__(self) -> str:
        if time.time() > self.expires_at - self.MARGIN_SECONDS:
            self.token = self.mint()
            claims = jwt.decode(self.token, options={"verify_signature": False})
            self.expires_at = float(claims["exp"])
        return self.token


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceStack]:
    """auth, orders, notifications and two payments replicas as real uvicorn processes."""
    with ServiceStack.start(tmp_path_factory.mktemp("stack"), payments_replicas=2) as running:
        yield running


@pytest.fixture(scope="session")
def _user_tokens(stack: ServiceStack) -> FreshToken:
    return FreshToken(stack.user_token)


@pytest.fixture(scope="session")
def _service_tokens(stack: ServiceStack) -> FreshToken:
    return FreshToken(stack.service_token)


@pytest.fixture
def user_token(_user_tokens: FreshToken) -> str:
    return _user_tokens()


@pytest.fixture
def service_token(_service_tokens: FreshToken) -> str:
    return _service_tokens()


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
