"""The request metrics as Prometheus reads them: the instrumentator's names and labels, buckets
cumulative with Prometheus' `le` (less than or equal), parsed by prometheus_client's own parser."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families
from servicekit.metrics import RequestMetrics


def samples(registry: CollectorRegistry) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = generate_latest(registry).decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_counts_buckets_and_in_progress_are_exposed_as_the_instrumentator_names_them():
    registry = CollectorRegistry(auto_describe=False)
    metrics = RequestMetrics(registry)
    for seconds in (0.004, 0.3, 0.31, 42.0):  # 0.3 sits on a bound: counted in le="0.3"
        metrics.observe("GET", 200, "/v1/catalog", seconds)
    metrics.observe("POST", 503, "/v1/orders", 0.002)
    metrics.in_progress = 3

    got = samples(registry)
    total = (
        "http_requests_total",
        (("handler", "/v1/catalog"), ("method", "GET"), ("status", "2xx")),
    )
    assert got[total] == 4
    shed = (
        "http_requests_total",
        (("handler", "/v1/orders"), ("method", "POST"), ("status", "5xx")),
    )
    assert got[shed] == 1

    def bucket(le: str) -> float:
        labels = (("handler", "/v1/catalog"), ("le", le), ("method", "GET"))
        return got[("http_request_duration_seconds_bucket", labels)]

    assert [bucket(le) for le in ("0.005", "0.25", "0.3", "0.4", "10.0", "+Inf")] == [
        1,
        1,
        2,
        3,
        3,
        4,
    ]
    catalog = (("handler", "/v1/catalog"), ("method", "GET"))
    assert got[("http_request_duration_seconds_count", catalog)] == 4
    assert got[("http_request_duration_seconds_sum", catalog)] == 0.004 + 0.3 + 0.31 + 42.0
    assert got[("http_request_duration_highr_seconds_bucket", (("le", "+Inf"),))] == 5
    assert got[("http_request_duration_highr_seconds_bucket", (("le", "0.005"),))] == 2
    assert got[("http_requests_inprogress", ())] == 3
