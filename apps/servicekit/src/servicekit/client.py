"""Calls to other services: timeouts, safe retries, request-id propagation, clear failures.

Retries (with jittered exponential backoff, by stamina) happen only when repeating the call is
safe: idempotent methods, or a request that carries an ``Idempotency-Key``; and only while the
dependency's retry budget allows (``servicekit.retry_budget``), so a struggling dependency
sees a few more calls, not three times as many. A dependency that
stays down becomes a 503 (refused), 504 (timed out) or 502 (answered 5xx) problem, with
``Retry-After`` where a retry may help.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import aiohttp
import orjson
import stamina

from servicekit.context import REQUEST_ID_HEADER, current_request_id
from servicekit.metrics import OUTBOUND_DURATION, OUTBOUND_REQUESTS, OUTBOUND_RETRIES
from servicekit.problems import Problem
from servicekit.retry_budget import DEFAULT_MIN_PER_SECOND, DEFAULT_RATIO, RetryBudget
from servicekit.settings import ServiceSettings

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
RETRYABLE_STATUSES = frozenset({502, 503, 504})


def dependency_unavailable(dependency: str, detail: str | None = None) -> Problem:
    """503 with Retry-After: the dependency refused or is down; a retry may succeed."""
    return Problem(
        503,
        detail or f"{dependency} is unavailable.",
        slug="dependency-unavailable",
        title="Dependency unavailable",
        headers={"Retry-After": "1"},
        dependency=dependency,
    )


@dataclass(frozen=True)
class ServiceResponse:
    """A dependency's answer, read in full: calls between services carry small JSON bodies."""

    status_code: int
    headers: dict[str, str]
    content: bytes

    def json(self) -> Any:
        return orjson.loads(self.content)


class RetryableStatus(Exception):
    def __init__(self, response: ServiceResponse) -> None:
        super().__init__(f"HTTP {response.status_code}")
        self.response = response


def create_http_client(settings: ServiceSettings) -> aiohttp.ClientSession:
    """The one shared client of a process, created in the lifespan.

    aiohttp rather than httpx: on the order path httpx took half of orders' CPU (py-spy), and a
    call costs the caller about a sixth of httpx's CPU (docs/performance.md, section 6b).
    """
    return aiohttp.ClientSession(
        timeout=aiohttp.ClientTimeout(
            total=None,
            connect=settings.http_connect_timeout_seconds,
            sock_read=settings.http_read_timeout_seconds,
        ),
        # The system resolver, as before: it follows resolv.conf (a cluster's search domains),
        # and aiodns, when installed, would keep a thread of its own busy.
        connector=aiohttp.TCPConnector(
            limit=200, keepalive_timeout=30, resolver=aiohttp.ThreadedResolver()
        ),
        headers={"User-Agent": f"{settings.service_name}/{settings.version}"},
        json_serialize=lambda value: orjson.dumps(value).decode(),
        cookie_jar=aiohttp.DummyCookieJar(),  # a service keeps no cookies between calls
        raise_for_status=False,
    )


async def fetch(
    http: aiohttp.ClientSession, method: str, url: str, **kwargs: Any
) -> ServiceResponse:
    """One HTTP exchange, the body read; the request id of the request being served goes along."""
    request_id = current_request_id()
    if request_id:
        kwargs["headers"] = {REQUEST_ID_HEADER: request_id, **(kwargs.get("headers") or {})}
    async with http.request(method, url, **kwargs) as response:
        content = await response.read()
        return ServiceResponse(response.status, dict(response.headers), content)


# What a call can fail with below HTTP: refused, reset, closed early, or out of time.
TRANSPORT_ERRORS = (aiohttp.ClientError, TimeoutError)


class ServiceClient:
    """A dependency's base URL plus the retry policy and failure mapping."""

    def __init__(
        self,
        http: aiohttp.ClientSession,
        *,
        dependency: str,
        base_url: str,
        attempts: int,
        budget_seconds: float,
        retry_budget: RetryBudget | None = None,
    ) -> None:
        self.http = http
        self.dependency = dependency
        self.base_url = base_url.rstrip("/")
        self.attempts = attempts
        self.budget_seconds = budget_seconds
        self.retry_budget = retry_budget or RetryBudget(
            ratio=DEFAULT_RATIO, min_per_second=DEFAULT_MIN_PER_SECOND
        )

    @classmethod
    def for_dependency(
        cls, http: aiohttp.ClientSession, settings: ServiceSettings, dependency: str, base_url: str
    ) -> ServiceClient:
        return cls(
            http,
            dependency=dependency,
            base_url=base_url,
            attempts=settings.http_retry_attempts,
            budget_seconds=settings.http_retry_budget_seconds,
            retry_budget=RetryBudget(
                ratio=settings.http_retry_ratio,
                min_per_second=settings.http_retry_min_per_second,
            ),
        )

    async def request(
        self,
        method: str,
        path: str,
        *,
        idempotency_key: str | None = None,
        retry_safe: bool = False,
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> ServiceResponse:
        """Send the request; return any response below 500 for the caller to interpret."""
        method = method.upper()
        headers = dict(headers or {})
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        safe = retry_safe or method in IDEMPOTENT_METHODS or idempotency_key is not None
        url = self.base_url + path
        attempts = self.attempts if safe else 1
        number = 0  # the attempt under way
        started = time.perf_counter()

        def retryable(exc: Exception) -> bool:
            if not isinstance(exc, (*TRANSPORT_ERRORS, RetryableStatus)):
                return False
            out_of_time = time.perf_counter() - started >= self.budget_seconds
            if number >= attempts or out_of_time:
                # stamina stops by itself (attempts or time used up): no retry follows, so
                # nothing is taken from the budget or counted.
                return True
            if self.retry_budget.try_acquire():
                OUTBOUND_RETRIES.labels(self.dependency, "retried").inc()
                return True
            OUTBOUND_RETRIES.labels(self.dependency, "over_budget").inc()
            return False

        async def attempt_once() -> ServiceResponse:
            response = await fetch(self.http, method, url, headers=headers, **kwargs)
            if response.status_code in RETRYABLE_STATUSES:
                raise RetryableStatus(response)
            return response

        outcome = "error"
        self.retry_budget.record_call()
        try:
            # The first attempt runs outside stamina: its loop costs 39 µs of CPU per call to set
            # up (a tenacity retrier per call), and nearly every call succeeds at once. A first
            # attempt that fails is replayed into stamina's loop as its attempt 1, so retries keep
            # their backoff, their log lines and the retry budget's say.
            try:
                response = await attempt_once()
            except (*TRANSPORT_ERRORS, RetryableStatus) as failure:
                first_failure: Exception | None = failure
                remaining = self.budget_seconds - (time.perf_counter() - started)
                if attempts == 1 or remaining <= 0:
                    raise  # stamina would stop here as well: nothing to retry, nothing counted
                async for attempt in stamina.retry_context(
                    on=retryable,
                    attempts=attempts,
                    timeout=remaining,
                    wait_initial=0.05,
                    wait_max=0.5,
                ):
                    with attempt:
                        number = attempt.num
                        if first_failure is not None:
                            replayed, first_failure = first_failure, None
                            raise replayed from None
                        response = await attempt_once()
            outcome = str(response.status_code)
            if response.status_code >= 500:
                raise self._failed(response.status_code)
            return response
        except RetryableStatus as exc:
            outcome = str(exc.response.status_code)
            raise self._failed(exc.response.status_code) from None
        except TimeoutError:
            outcome = "timeout"
            raise Problem(
                504,
                f"{self.dependency} did not answer in time.",
                slug="dependency-timeout",
                title="Dependency timed out",
                headers={"Retry-After": "1"},
                dependency=self.dependency,
            ) from None
        except aiohttp.ClientError:
            outcome = "unreachable"
            raise dependency_unavailable(self.dependency) from None
        finally:
            OUTBOUND_REQUESTS.labels(self.dependency, method, outcome).inc()
            OUTBOUND_DURATION.labels(self.dependency).observe(time.perf_counter() - started)

    def _failed(self, status: int) -> Problem:
        if status == 503:
            return dependency_unavailable(self.dependency)
        return Problem(
            502,
            f"{self.dependency} failed (HTTP {status}).",
            slug="dependency-failed",
            title="Dependency failed",
            dependency=self.dependency,
        )
