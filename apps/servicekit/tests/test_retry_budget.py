"""The retry budget: its arithmetic on a clock the test moves, and a ServiceClient calling a real
HTTP server that answers 503 to everything, as a dependency in trouble does."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler

import aiohttp
import pytest
import structlog.testing
from servicekit.client import ServiceClient
from servicekit.metrics import OUTBOUND_RETRIES
from servicekit.problems import Problem
from servicekit.retry_budget import RetryBudget

from tests.support.http_server import serving


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def granted(budget: RetryBudget) -> int:
    """Retries taken until the budget refuses one (bounded)."""
    taken = 0
    while taken < 1000 and budget.try_acquire():
        taken += 1
    return taken


def test_retries_are_capped_at_a_share_of_recent_calls():
    budget = RetryBudget(ratio=0.2, min_per_second=0, clock=Clock())
    for _ in range(50):
        budget.record_call()
    assert granted(budget) == 10


def test_the_floor_lets_a_quiet_service_retry_a_lone_failure():
    budget = RetryBudget(ratio=0.1, min_per_second=1, window=10, clock=Clock())
    budget.record_call()
    assert granted(budget) == 10  # the floor over the window; 0.1 of one call is not a retry


def test_the_window_slides_and_old_retries_stop_counting():
    clock = Clock()
    budget = RetryBudget(ratio=0.0, min_per_second=1, window=10, clock=clock)
    assert granted(budget) == 10
    assert not budget.try_acquire()
    clock.now += 10
    assert budget.try_acquire()


@pytest.mark.parametrize("arguments", [{"ratio": 1.5}, {"ratio": -0.1}, {"min_per_second": -1}])
def test_nonsense_is_refused(arguments):
    with pytest.raises(ValueError, match="ratio must be"):
        RetryBudget(**{"ratio": 0.1, "min_per_second": 1, **arguments})


class Unavailable(BaseHTTPRequestHandler):
    hits = 0

    def do_GET(self) -> None:
        type(self).hits += 1
        self.send_response(503)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def unavailable() -> Iterator[str]:
    Unavailable.hits = 0
    with serving(Unavailable) as url:
        yield url


def flaky_client(http: aiohttp.ClientSession, url: str, ratio: float) -> ServiceClient:
    return ServiceClient(
        http,
        dependency="flaky",
        base_url=url,
        attempts=3,
        budget_seconds=5,
        retry_budget=RetryBudget(ratio=ratio, min_per_second=0),
    )


def retries_counted(decision: str) -> float:
    return OUTBOUND_RETRIES.labels("flaky", decision)._value.get()


@pytest.mark.parametrize("together", [False, True], ids=["one-by-one", "all-at-once"])
async def test_a_failing_dependency_gets_a_few_more_calls_not_three_times_as_many(
    unavailable, together
):
    """All at once is the storm: every call fails within the same backoff, and each would
    retry if the budget were checked before any of them had counted its retry."""
    calls, ratio = 40, 0.1
    retried_before = retries_counted("retried")

    async def fails(client: ServiceClient) -> None:
        with pytest.raises(Problem) as failed:
            await client.request("GET", "/v1/anything")
        assert failed.value.status == 503

    # stamina logs each retry through structlog: captured here, whatever an earlier test set up.
    with structlog.testing.capture_logs() as logs:
        async with aiohttp.ClientSession() as http:
            client = flaky_client(http, unavailable, ratio)
            if together:
                await asyncio.gather(*(fails(client) for _ in range(calls)))
            else:
                for _ in range(calls):
                    await fails(client)
    retries = Unavailable.hits - calls
    # Without the budget: 3 attempts each, 80 retries.
    assert 0 < retries <= calls * ratio
    assert retries_counted("retried") - retried_before == retries
    assert len([entry for entry in logs if "retry_num" in entry]) == retries


class Slow(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        time.sleep(0.3)
        self.send_response(503)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


async def test_a_call_out_of_time_takes_nothing_from_the_budget():
    """stamina stops on its time budget by itself: no retry follows, so none is counted."""
    budget = RetryBudget(ratio=0.0, min_per_second=1)  # a single retry per second, no more
    retried = retries_counted("retried"), retries_counted("over_budget")
    with serving(Slow) as url:
        async with aiohttp.ClientSession() as http:
            client = ServiceClient(
                http, dependency="flaky", base_url=url, attempts=3, budget_seconds=0.2,
                retry_budget=budget,
            )  # fmt: skip
            with pytest.raises(Problem):
                await client.request("GET", "/v1/anything")
    assert (retries_counted("retried"), retries_counted("over_budget")) == retried
    assert budget.try_acquire()  # still there for a call that has time left
