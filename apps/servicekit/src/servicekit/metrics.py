"""Prometheus metrics: request RED metrics, service identity and outbound calls.

``GET /metrics`` is prometheus-fastapi-instrumentator's exposition, and the request metrics keep
its names and labels (``http_requests_total{method,status,handler}``, the high-resolution
latency histogram, the per-handler histogram, in-progress requests). They are recorded by a
lean middleware of our own rather than the instrumentator's: that one matches every route a
second time before routing and builds a Request, a Response and an Info object per request,
which cost half the service's CPU on a cheap endpoint. This one reads the route template that
routing has already put in the ASGI scope, and counts in plain numbers (``RequestMetrics``).
"""

from __future__ import annotations

import time
from bisect import bisect_left
from collections.abc import Iterator
from itertools import accumulate

from fastapi import FastAPI
from fastapi.responses import PlainTextResponse
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.metrics_core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.utils import floatToGoString
from prometheus_fastapi_instrumentator import Instrumentator
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from servicekit.context import route_template
from servicekit.health import OPERATIONAL_PATHS
from servicekit.settings import ServiceSettings

# Fine buckets around the SLO (300 ms) and the benchmark goal (100 ms).
LATENCY_BUCKETS = (
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.25, 0.3,
    0.4, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0,
)  # fmt: skip
# A client picks the method; anything else is one label value, so it cannot grow the series.
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNTEMPLATED = "none"  # the instrumentator's label for a path no route matched

SERVICE_INFO = Gauge(
    "service_info", "Identity of this service instance.", ["service", "version", "color"]
)
OUTBOUND_REQUESTS = Counter(
    "servicekit_outbound_requests",
    "Calls to other services, by outcome.",
    ["dependency", "method", "status"],
)
OUTBOUND_RETRIES = Counter(
    "servicekit_outbound_retries",
    "Retries of calls to other services, and retries the retry budget refused.",
    ["dependency", "decision"],
)
SHED_REQUESTS = Counter(
    "servicekit_shed_requests",
    "Requests refused with 503 because the process had max_in_flight requests in progress.",
)
OUTBOUND_DURATION = Histogram(
    "servicekit_outbound_request_duration_seconds",
    "Duration of calls to other services, retries included.",
    ["dependency"],
    buckets=LATENCY_BUCKETS,
)


class _ProcessWideMetrics:
    """Exposes the default registry (process collector, service_info, outbound calls) through
    an app's own registry, so several apps can live in one process (tests, benchmarks)."""

    def collect(self) -> Iterator[Metric]:
        yield from REGISTRY.collect()


_BUCKET_LABELS = (
    *map(floatToGoString, LATENCY_BUCKETS),
    "+Inf",
)  # as prometheus_client writes `le`


class _Buckets:
    """One histogram series: per-bucket counts (not yet cumulative) and the sum."""

    __slots__ = ("counts", "total")

    def __init__(self) -> None:
        self.counts = [0] * (len(LATENCY_BUCKETS) + 1)  # the last one is +Inf
        self.total = 0.0

    def observe(self, seconds: float) -> None:
        self.counts[bisect_left(LATENCY_BUCKETS, seconds)] += 1
        self.total += seconds

    def cumulative(self) -> list[tuple[str, float]]:
        counts = list(self.counts)  # a copy: the event loop may count on while a scrape reads
        return list(zip(_BUCKET_LABELS, accumulate(counts), strict=True))


class RequestMetrics:
    """Rate, errors and duration per handler, method and status class, with the
    instrumentator's names and labels.

    Counted in plain Python numbers rather than prometheus_client's metric objects, whose every
    ``inc`` and ``observe`` takes a lock and whose histograms scan their buckets one by one: a
    process serves requests on one event-loop thread, so there is nothing to lock against, and a
    bucket is found by bisection. A scrape reads copies, and builds the families then.
    """

    def __init__(self, registry: CollectorRegistry) -> None:
        # (method, status class, handler) -> requests answered
        self._counts: dict[tuple[str, int, str], int] = {}
        self._by_handler: dict[tuple[str, str], _Buckets] = {}  # (handler, method)
        self._all = _Buckets()
        # The handler is known only once routing is done, so in-flight requests are counted
        # per instance, which is what saturation panels and autoscaling read.
        self.in_progress = 0
        registry.register(self)  # type: ignore[arg-type]

    def observe(self, method: str, status: int, handler: str, duration: float) -> None:
        key = (method, status // 100, handler)
        self._counts[key] = self._counts.get(key, 0) + 1
        series = self._by_handler.get((handler, method))
        if series is None:
            series = self._by_handler[(handler, method)] = _Buckets()
        series.observe(duration)
        self._all.observe(duration)

    def collect(self) -> Iterator[Metric]:
        requests = CounterMetricFamily(
            "http_requests",
            "Total number of requests by method, status and handler.",
            labels=["method", "status", "handler"],
        )
        for (method, status_class, handler), count in list(self._counts.items()):
            requests.add_metric([method, f"{status_class}xx", handler], count)
        yield requests
        latency = HistogramMetricFamily(
            "http_request_duration_highr_seconds",
            "Latency with many buckets but no API specific labels. Made for more accurate "
            "percentile calculations.",
        )
        latency.add_metric([], self._all.cumulative(), self._all.total)
        yield latency
        by_handler = HistogramMetricFamily(
            "http_request_duration_seconds",
            "Latency by handler and method.",
            labels=["handler", "method"],
        )
        for (handler, method), series in list(self._by_handler.items()):
            by_handler.add_metric([handler, method], series.cumulative(), series.total)
        yield by_handler
        yield GaugeMetricFamily(
            "http_requests_inprogress", "Number of HTTP requests in progress.", self.in_progress
        )


class RequestMetricsMiddleware:
    """Records every request but the operational endpoints, once it has been answered."""

    def __init__(self, app: ASGIApp, *, metrics: RequestMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in OPERATIONAL_PATHS:
            await self.app(scope, receive, send)
            return
        status = 500  # what the client gets if the app raises before answering

        async def send_observing_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        metrics = self.metrics
        metrics.in_progress += 1
        started = time.perf_counter()
        try:
            await self.app(scope, receive, send_observing_status)
        finally:
            duration = time.perf_counter() - started
            metrics.in_progress -= 1
            method = scope["method"]
            metrics.observe(
                method if method in KNOWN_METHODS else "other",
                status,
                route_template(scope) or UNTEMPLATED,
                duration,
            )


def instrument(app: FastAPI, settings: ServiceSettings) -> None:
    SERVICE_INFO.labels(settings.service_name, settings.version, settings.color.value).set(1)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_ProcessWideMetrics())  # type: ignore[arg-type]
    app.add_middleware(RequestMetricsMiddleware, metrics=RequestMetrics(registry))
    # Documented as what it serves: the Prometheus text format, not JSON.
    Instrumentator(registry=registry).expose(
        app,
        include_in_schema=True,
        tags=["operations"],
        response_class=PlainTextResponse,
        summary="Prometheus metrics",
    )
