"""The dev signing key, passwords, client secrets and bearer tokens never show up in logs,
in problem bodies, or in rendered manifests (except in the dev-only Secret the chart makes
when ``secret.create`` is on and ``existingSecret`` is unset)."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx
import pytest
import yaml

from tests.support.helm_render import PLATFORM_CHART, merge_values, render_manifests
from tests.support.services import ServiceStack


def secret_markers(stack: ServiceStack) -> dict[str, str]:
    """Strings that must never leak: each secret, and each line of the private key's body."""
    secrets_dir = stack.credentials.secrets_dir
    key_lines = [
        line
        for line in (secrets_dir / "auth_signing_key").read_text().splitlines()
        if line and not line.startswith("-----")
    ]
    markers = {"password": stack.credentials.password}
    markers |= {f"client secret {n}": s for n, s in stack.credentials.client_secrets.items()}
    markers |= {f"signing key line {n}": line for n, line in enumerate(key_lines)}
    return markers


def leaks(text: str, markers: dict[str, str]) -> list[str]:
    return sorted(name for name, value in markers.items() if value in text)


@pytest.fixture(scope="module")
def problem_bodies(stack: ServiceStack) -> list[str]:
    """Exercise every path that handles a secret, badly and well; keep every error body."""
    auth = stack.url("auth") + "/v1/token"
    password, client_secret = stack.credentials.password, stack.credentials.client_secrets["orders"]
    forms = [
        {"grant_type": "password", "username": "alice", "password": password},
        {"grant_type": "password", "username": "nobody", "password": password},
        {"grant_type": "password", "username": "alice", "password": password + "x"},
        {"grant_type": "password", "username": "alice", "password": password, "scope": "admin"},
        {"grant_type": password, "username": "alice", "password": password},
        {"grant_type": "client_credentials", "client_id": "orders", "client_secret": client_secret},
        {"grant_type": "client_credentials", "client_id": "x", "client_secret": client_secret},
        {"grant_type": "client_credentials", "client_id": "orders", "client_secret": "wrong"},
    ]
    bodies = []
    tokens = []
    for form in forms:
        response = httpx.post(auth, data=form, timeout=10)
        if response.status_code == 200:
            tokens.append(response.json()["access_token"])
        else:
            bodies.append(response.text)
    # A secret sent where it does not belong is refused without being echoed back.
    note = {"channel": "email", "recipient": password, "template": client_secret}
    for token in tokens:
        response = httpx.post(
            stack.url("notifications") + "/v1/notifications",
            json=note,
            headers={"Authorization": f"Bearer {token}", "Idempotency-Key": uuid.uuid4().hex},
            timeout=10,
        )
        bodies.append(response.text)
    bad_bearer = httpx.get(
        stack.url("auth") + "/v1/me", headers={"Authorization": f"Bearer {password}"}, timeout=10
    )
    bodies.append(bad_bearer.text)
    return bodies


def test_problem_bodies_never_echo_a_secret(stack, problem_bodies):
    markers = secret_markers(stack)
    assert len(problem_bodies) >= 8
    assert [leaks(body, markers) for body in problem_bodies] == [[]] * len(problem_bodies)


def test_process_logs_never_contain_a_secret_or_a_token(stack, problem_bodies, user_token):
    markers = secret_markers(stack) | {"user token": user_token}
    logs = {path.name: path.read_text() for path in Path(stack.log_dir).glob("*.log")}
    assert len(logs) >= 4 and all(logs.values())
    assert {name: leaks(text, markers) for name, text in logs.items()} == {
        name: [] for name in logs
    }


def _dev_secret_values(stack: ServiceStack) -> dict[str, object]:
    secrets_dir = stack.credentials.secrets_dir
    return {
        "auth": {
            "secret": {
                "create": True,
                "data": {
                    "auth_signing_key": (secrets_dir / "auth_signing_key").read_text(),
                    "auth_users": (secrets_dir / "auth_users").read_text(),
                },
            }
        },
        "orders": {
            "secret": {
                "create": True,
                "data": {"orders_client_secret": stack.credentials.client_secrets["orders"]},
            }
        },
    }


def test_renders_hold_dev_secrets_only_in_the_dev_secret_objects(stack):
    markers = secret_markers(stack)
    manifests = render_manifests(PLATFORM_CHART, _dev_secret_values(stack))
    outside_secrets = []
    inside_secrets = []
    for path, text in manifests.items():
        for document in yaml.safe_load_all(text) if not path.endswith("NOTES.txt") else [text]:
            if not document:
                continue
            dumped = yaml.safe_dump(document) if isinstance(document, dict) else str(document)
            is_secret = isinstance(document, dict) and document.get("kind") == "Secret"
            (inside_secrets if is_secret else outside_secrets).append(dumped)
    assert leaks("\n".join(outside_secrets), markers) == []
    # The dev Secret does carry the key and the client secret, never the user's password.
    assert "signing key line 0" in leaks("\n".join(inside_secrets), markers)
    assert "password" not in leaks("\n".join(inside_secrets), markers)


@pytest.mark.parametrize("environment", ["development", "production"])
def test_renders_with_existing_secrets_contain_no_secret(stack, environment):
    values = merge_values(
        {"global": {"environment": environment}},
        {
            service: {"secret": {"existingSecret": f"{service}-secrets"}}
            for service in ("auth", "orders")
        },
    )
    manifests = render_manifests(PLATFORM_CHART, values)
    text = "\n".join(manifests.values())
    assert leaks(text, secret_markers(stack)) == []
