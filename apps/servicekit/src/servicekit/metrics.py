"""Prometheus metrics: request RED metrics, service identity and outbound calls."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from fastapi import FastAPI
from fastapi.responses import PlainTextResponse
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.metrics_core import Metric
from prometheus_fastapi_instrumentator import Instrumentator
from prometheus_fastapi_instrumentator.metrics import Info

from servicekit.settings import ServiceSettings

INPROGRESS_METRIC = "http_requests_inprogress"
OPERATIONAL_HANDLERS = ["/metrics", "/healthz", "/readyz"]
# Fine buckets around the SLO (300 ms) and the benchmark goal (100 ms).
LATENCY_BUCKETS = (
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.25, 0.3,
    0.4, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0,
)  # fmt: skip

SERVICE_INFO = Gauge(
    "service_info", "Identity of this service instance.", ["service", "version", "color"]
)
OUTBOUND_REQUESTS = Counter(
    "servicekit_outbound_requests",
    "Calls to other services, by outcome.",
    ["dependency", "method", "status"],
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


def red_metrics(registry: CollectorRegistry) -> Callable[[Info], None]:
    """Rate, errors and duration: the instrumentator's default metrics, less the request and
    response size summaries nobody reads, which cost a third of the per-request time."""
    requests = Counter(
        "http_requests",
        "Total number of requests by method, status and handler.",
        ["method", "status", "handler"],
        registry=registry,
    )
    latency = Histogram(
        "http_request_duration_highr_seconds",
        "Latency with many buckets but no API specific labels. Made for more accurate "
        "percentile calculations.",
        buckets=LATENCY_BUCKETS,
        registry=registry,
    )
    latency_by_handler = Histogram(
        "http_request_duration_seconds",
        "Latency by handler and method.",
        ["handler", "method"],
        buckets=LATENCY_BUCKETS,
        registry=registry,
    )

    def instrumentation(info: Info) -> None:
        duration = info.modified_duration
        requests.labels(info.method, info.modified_status, info.modified_handler).inc()
        latency.observe(duration)
        latency_by_handler.labels(info.modified_handler, info.method).observe(duration)

    return instrumentation


def _release_inprogress_gauge() -> None:
    """The instrumentator registers its in-progress gauge in the default registry whatever
    registry it is given; drop a previous app's gauge so another app can be built in-process."""
    previous = REGISTRY._names_to_collectors.get(INPROGRESS_METRIC)
    if previous is not None:
        REGISTRY.unregister(previous)


def instrument(app: FastAPI, settings: ServiceSettings) -> None:
    SERVICE_INFO.labels(settings.service_name, settings.version, settings.color.value).set(1)
    _release_inprogress_gauge()
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_ProcessWideMetrics())  # type: ignore[arg-type]
    instrumentator = Instrumentator(
        registry=registry,
        should_group_status_codes=True,
        should_group_untemplated=True,
        should_instrument_requests_inprogress=True,
        inprogress_labels=True,
        excluded_handlers=OPERATIONAL_HANDLERS,
    )
    instrumentator.add(red_metrics(registry))
    # Documented as what it serves: the Prometheus text format, not JSON.
    instrumentator.instrument(app).expose(
        app,
        include_in_schema=True,
        tags=["operations"],
        response_class=PlainTextResponse,
        summary="Prometheus metrics",
    )
