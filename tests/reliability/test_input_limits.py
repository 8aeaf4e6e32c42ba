"""Hostile input shapes against live processes: deep and huge JSON, a streamed body with no
Content-Length, header floods. Each gets a clear 4xx and the process keeps serving.
(The plain oversized body is covered in apps/servicekit/tests/test_request_plumbing.py.)"""

from __future__ import annotations

import contextlib
import json
import socket
from collections.abc import Iterator

import httpx
import pytest

from tests.support.services import ServiceStack

LIMIT = 64 * 1024  # SERVICE_MAX_BODY_BYTES default


def post_note(stack: ServiceStack, token: str, **kwargs: object) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    headers.update(kwargs.pop("headers", {}))  # type: ignore[arg-type]
    return httpx.post(
        stack.url("notifications") + "/v1/notifications", headers=headers, timeout=15, **kwargs
    )


def assert_still_serving(stack: ServiceStack) -> None:
    assert httpx.get(stack.url("notifications") + "/healthz", timeout=5).status_code == 200


@pytest.mark.parametrize("depth", [1_000, 20_000])
def test_deeply_nested_json_is_a_clear_400(stack, service_token, depth):
    body = '{"data": ' + "[" * depth + "]" * depth + "}"
    assert len(body) < LIMIT
    response = post_note(stack, service_token, content=body)
    assert response.status_code in (400, 422), response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert_still_serving(stack)


def test_a_wide_document_under_the_limit_is_a_422_not_work(stack, service_token):
    """Thousands of keys within the byte limit: refused by validation, quickly."""
    data = {f"k{n}": n for n in range(4_000)}
    body = json.dumps(
        {"channel": "email", "recipient": "a@example.com", "template": "welcome", "data": data}
    )
    assert len(body) < LIMIT
    response = post_note(stack, service_token, content=body)
    assert response.status_code == 422
    assert response.elapsed.total_seconds() < 5
    assert_still_serving(stack)


def test_a_streamed_body_over_the_limit_is_413_without_content_length(stack, service_token):
    def chunks() -> Iterator[bytes]:
        yield b'{"data": "'
        for _ in range(20):
            yield b"x" * 8192
        yield b'"}'

    response = post_note(stack, service_token, content=chunks())
    assert response.status_code == 413
    assert response.request.headers.get("transfer-encoding") == "chunked"
    assert_still_serving(stack)


def test_malformed_json_is_a_400_problem(stack, service_token):
    response = post_note(stack, service_token, content=b'{"channel": "email", ')
    assert response.status_code == 400
    assert response.json()["title"] == "Malformed JSON"


@pytest.mark.parametrize(
    "headers",
    [
        {f"X-Flood-{n}": "v" * 64 for n in range(400)},  # ~30 KiB of headers
        {"X-Huge": "v" * 100_000},
    ],
    ids=["400-headers", "100k-header"],
)
def test_a_header_flood_is_refused_and_the_process_keeps_serving(stack, headers):
    response = _raw_get(stack.ports["notifications"], "/healthz", headers)
    assert response.startswith(b"HTTP/1.1 4"), response[:200]
    assert_still_serving(stack)


def test_many_headers_under_the_limit_are_served(stack):
    headers = {f"X-Many-{n}": "v" for n in range(90)}
    assert _raw_get(stack.ports["notifications"], "/healthz", headers).startswith(b"HTTP/1.1 200")


def _raw_get(port: int, path: str, headers: dict[str, str]) -> bytes:
    """A raw request, since HTTP clients refuse to send what a flood sends."""
    lines = [f"GET {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    request = ("\r\n".join(lines) + "\r\n\r\n").encode()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        # The server may answer and close before it has read everything.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(request)
        chunks = []
        while True:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            chunks.append(chunk)
    return b"".join(chunks)
