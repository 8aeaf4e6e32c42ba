"""Admission control on a real service process: past SERVICE_MAX_IN_FLIGHT requests in progress,
one more is refused at once (503, Retry-After) instead of queueing, while the probes and
/metrics still answer."""

from __future__ import annotations

import asyncio
import time

import httpx

from tests.support.services import start_service

EMAIL = {"channel": "email", "recipient": "a@example.com", "template": "welcome", "data": {}}
LIMIT, OFFERED, HELD_SECONDS = 4, 12, 1.5


async def post(client: httpx.AsyncClient, url: str, token: str) -> tuple[httpx.Response, float]:
    started = time.perf_counter()
    response = await client.post(
        url + "/v1/notifications", json=EMAIL, headers={"Authorization": f"Bearer {token}"}
    )
    return response, time.perf_counter() - started


async def test_past_the_limit_requests_are_refused_at_once_and_probes_still_answer(
    stack, tmp_path, service_token
):
    env = {
        **stack.base_env,
        "SERVICE_MAX_IN_FLIGHT": str(LIMIT),
        # Each admitted request stays in progress this long.
        "SERVICE_FAULT_LATENCY_MS": str(int(HELD_SECONDS * 1000)),
    }
    process = start_service("notifications", env=env, log_dir=tmp_path)
    try:
        process.wait_ready()
        async with httpx.AsyncClient(timeout=10) as client:
            admitted = [
                asyncio.create_task(post(client, process.url, service_token)) for _ in range(LIMIT)
            ]
            await asyncio.sleep(0.5)  # the first LIMIT are in progress now
            refused = await asyncio.gather(
                *(post(client, process.url, service_token) for _ in range(OFFERED - LIMIT))
            )
            ready = await client.get(process.url + "/readyz")
            metrics = (await client.get(process.url + "/metrics")).text
            admitted_results = await asyncio.gather(*admitted)
    finally:
        process.terminate()

    assert [response.status_code for response, _ in admitted_results] == [202] * LIMIT
    for response, seconds in refused:
        assert response.status_code == 503
        assert response.headers["retry-after"] == "1"
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["title"] == "Overloaded"
        assert seconds < HELD_SECONDS / 3  # refused, not queued behind the admitted ones
    assert ready.status_code == 200
    assert f"servicekit_shed_requests_total {float(OFFERED - LIMIT)}" in metrics
