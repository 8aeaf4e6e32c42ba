"""The benchmark driver's analysis and page rendering, on results of a known shape."""

from __future__ import annotations

import json

from bench import orders_curve, report


def step(rate: int, p99: float, errors: int = 0, dropped: int = 0) -> dict[str, float]:
    return {
        "rate": rate,
        "achieved_rps": rate,
        "requests": rate * 10,
        "errors": errors,
        "dropped": dropped,
        "p50_ms": p99 / 3,
        "p90_ms": p99 / 2,
        "p95_ms": p99 / 1.5,
        "p99_ms": p99,
        "max_ms": p99 * 1.2,
    }


def test_highest_clean_rate_is_below_the_first_overloaded_step():
    steps = [
        step(10, 300),  # a noisy neighbour's outlier: shown, but not the limit
        step(20, 30),
        step(40, 90, errors=1),
        step(60, 80),
        step(80, 2000, dropped=50),
        step(100, 50),  # past overload: never counts
    ]
    assert orders_curve.analyse(steps)["highest_clean_rate"] == 60


def test_an_unachieved_rate_is_overload_even_without_drops():
    steps = [step(10, 20), step(20, 30)]
    steps[1]["achieved_rps"] = 15
    assert orders_curve.analyse(steps)["highest_clean_rate"] == 10


def test_knee_is_the_last_rate_before_p99_doubles_over_the_lowest_below_it():
    steps = [step(10, 90), step(20, 25), step(40, 45), step(60, 52), step(80, 400)]
    result = orders_curve.analyse(steps)
    assert result["knee_rate"] == 40  # 52 > 2 x 25
    assert result["low_load_p99_ms"] == 25


def test_knee_not_reached_and_nothing_clean():
    assert orders_curve.analyse([step(10, 20), step(20, 30)])["knee_rate"] is None
    assert orders_curve.analyse([step(10, 150)])["highest_clean_rate"] is None


def conditions() -> dict:
    return {"seconds": 1.0, "load_average_before": [0.5] * 3, "load_average_after": [0.6] * 3}


def machine() -> dict:
    return {
        "date": "2026-01-01 00:00 UTC",
        "cpu": "test cpu",
        "cores": 2,
        "memory_gib": 8,
        "kernel": "6",
        "python": "3.11",
        "packages": {"uvicorn": "0"},
        "k6": "v1.1.0",
        "load_average": [0.1, 0.1, 0.1],
    }


def outcome(**extra: float) -> dict:
    return {
        "rate": 20,
        "seconds": 10,
        "requests": 300,
        "failed_requests": 0,
        "dropped_iterations": 0,
        "checks_rate": 1.0,
        "p99_ms": 40.0,
        "k6_exit_code": 0,
        "conditions": conditions(),
        **extra,
    }


def variant(name: str, ratio: float) -> dict:
    return {
        "name": name,
        "label": name,
        "rps": 1000 * ratio,
        "rps_ratio": ratio,
        "req_per_cpu_s": 1000 * ratio,
        "p50_ms": 2.0,
        "p99_ms": 5.0 / ratio,
        "p99_ratio": 1 / ratio,
        "failed": 0.0,
        "server_cpu": 0.98,
        "throughput_ratio": ratio,
        "throughput_ratio_range": [ratio - 0.01, ratio + 0.01],
        "in_process_us": 50 / ratio,
    }


def test_page_has_every_figure_and_plot(tmp_path):
    names = (
        "raw-asgi",
        "bare",
        "configured",
        "request-id",
        "request-log",
        "metrics",
        "all-three",
        "servicekit",
    )
    ratios = (2.0, 1.0, 1.1, 0.97, 0.9, 0.88, 0.8, 0.78)
    results = {
        "machine": machine(),
        "overhead": {
            "variants": [variant(n, r) for n, r in zip(names, ratios, strict=True)],
            "rounds": [{}, {}],
            "vus": 16,
            "seconds": 8,
            "conditions": conditions(),
        },
        "orders": {
            "steps": [step(10, 20), step(20, 30), step(40, 300)],
            **orders_curve.analyse([step(10, 20), step(20, 30), step(40, 300)]),
            "conditions": conditions(),
        },
        "startup": {
            "services": {
                "auth": {"samples_s": [0.7, 0.8], "median_s": 0.75, "min_s": 0.7, "max_s": 0.8}
            },
            "goal_s": 1.0,
            "conditions": conditions(),
        },
        "drain": outcome(
            time_to_exit_s=1.3, replica_exit_code=0, shutdown_delay_s=1.0, in_flight_latency_ms=200
        ),
        "switch": outcome(promote_s=2.5, rollback_s=2.0, live_colors={}),
    }

    page = report.write(results, tmp_path).read_text()

    assert "| 1. servicekit overhead, `GET /v1/catalog` | 0.780x bare throughput" in page
    assert "| >= 0.85x | **no** |" in page
    configuration = "- servicekit's FastAPI configuration: +10 % throughput against bare FastAPI"
    assert configuration + ", -5 µs" in page
    assert "- the Prometheus metrics: -20 % throughput against the configured app, +11 µs" in page
    # µs per request end to end (1e6 / req/CPU-s) and in process (50 / ratio in the fixture)
    assert "| uvicorn (HTTP, event loop, socket) | 500 | - |" in page
    assert "| FastAPI (routing, the endpoint) | +500 | +25 |" in page
    assert "| servicekit's FastAPI configuration | -91 | -5 |" in page
    assert "| servicekit's middleware (orders app less configured) | +373 | +19 |" in page
    assert "| servicekit in all (orders app less bare) | +282 | +14 |" in page
    assert "The 0.85x goal leaves servicekit 176 µs end to end over bare FastAPI" in page
    assert "20 orders/s with p99 < 100 ms and 0 errors; knee at 20 orders/s" in page
    assert "lowest p99 of the sweep\n  20.0 ms" in page
    assert "slowest service median 0.75 s | < 1 s | yes" in page
    assert "0 failed of 300; exit after 1.30 s" in page
    assert "promote 2.50 s, rollback 2.00 s" in page
    for image in ("perf-overhead.png", "perf-orders-latency.png", "perf-startup.png"):
        assert (tmp_path / "images" / image).stat().st_size > 1000
        assert f"images/{image}" in page


def test_cpu_per_order_section_sets_the_chain_against_loopbacks_floor(tmp_path):
    figures = {"orders": 2.5, "payments": 1.0, "notifications": 1.0, "auth": 0.0, "failed": 0}
    cached = {**figures, "chain": 4.5, "ratio_to_baseline": 1.0}
    data = tmp_path / "cpu-per-order.json"
    data.write_text(
        json.dumps(
            {
                "rate": 40,
                "seconds": 30,
                "rounds": 2,
                "medians": {"verified-token cache": cached},
                "loopback": {"gap_seconds": 0.025, "apart_us": 200.0, "back_to_back_us": 40.0},
            }
        )
    )

    section = report.cpu_per_order_section(data)

    assert "| verified-token cache | 2.50 | 1.00 | 1.00 | 0.00 | **4.50** | 1.00x | 0 |" in section
    assert "**200 µs** of CPU (both sides) with 25 ms between\nexchanges" in section
    # 2.5 exchanges of 200 µs: 0.5 ms of 4.5; a 3.0 ms chain leaves 2.5 ms of the 4.0 of Python
    assert "so at most 0.50 ms of the chain's 4.50 ms is the kernel's" in section
    assert "The rest, 4.00 ms, is Python" in section
    assert "would need that Python work cut by 38 %." in section


def overload_variant(name: str, goodput: float, placed_p99: float, refused_p99: float) -> dict:
    return {
        "name": name,
        "goodput_per_second": goodput,
        "placed_p99_ms": placed_p99,
        "refused_503": 100,
        "refused_p99_ms": refused_p99,
        "other_failures": 0,
        "dropped_iterations": 0,
    }


def test_the_overload_summary_names_a_variant_that_meets_every_goal(tmp_path):
    steps = [step(10, 20), step(20, 30), step(40, 300)]  # clean rate 20: 18/s is 90 %
    results = {
        "machine": machine(),
        "orders": {"steps": steps, **orders_curve.analyse(steps), "conditions": conditions()},
        "overload": {
            "rate": 60,
            "seconds": 30,
            "conditions": conditions(),
            "variants": [
                overload_variant("no admission limit", 19, 9000, 0),
                overload_variant("limit 8", 20, 30, 21),  # the fastest, refusals too slow
                overload_variant("limit 6", 18, 40, 12),  # meets all three
            ],
        },
    }
    page = report.write(results, tmp_path).read_text()
    assert "| 7. overload, 60 orders/s | best: limit 6, goodput 18/s, placed p99 40 ms" in page
    assert "refusals p99 12 ms | >= 90 % of clean, p99 < 250 ms, refusals < 20 ms | yes |" in page

    results["overload"]["variants"].pop()  # none meets every goal: the fastest that keeps 90 %
    page = report.write(results, tmp_path).read_text()
    assert "| 7. overload, 60 orders/s | best: limit 8, goodput 20/s, placed p99 30 ms" in page
    assert "refusals < 20 ms | **no** |" in page
