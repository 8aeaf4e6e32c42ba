"""Prometheus metrics: request RED metrics, service identity and outbound calls.

``GET /metrics`` is prometheus-fastapi-instrumentator's exposition, and the request metrics keep
its names and labels (``http_requests_total{method,status,handler}``, the high-resolution
latency histogram, the per-handler histogram, in-progress requests). They are recorded by our
own middleware (``servicekit/observation.py``) rather than the instrumentator's: that one
matches every route a second time before routing and builds a Request, a Response and an Info
object per request, which cost half the service's CPU on a cheap endpoint. Ours reads the route
template that routing has already put in the ASGI scope, and counts in plain numbers
(``RequestMetrics``).
"""

from __future__ import annotations

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

    def observe(self, method: str, status: int, route: str | None, duration: float) -> None:
        """One answered request; ``route`` is the template routing matched, None if none."""
        if method not in KNOWN_METHODS:
            method = "other"
        handler = route or UNTEMPLATED
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


def instrument(app: FastAPI, settings: ServiceSettings) -> RequestMetrics:
    """Serve ``GET /metrics`` and return the request metrics it exposes, for the observation
    middleware (``servicekit/observation.py``) to count into."""
    SERVICE_INFO.labels(settings.service_name, settings.version, settings.color.value).set(1)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_ProcessWideMetrics())  # type: ignore[arg-type]
    metrics = RequestMetrics(registry)
    # Documented as what it serves: the Prometheus text format, not JSON.
    Instrumentator(registry=registry).expose(
        app,
        include_in_schema=True,
        tags=["operations"],
        response_class=PlainTextResponse,
        summary="Prometheus metrics",
    )
    return metrics
