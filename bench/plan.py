"""How long and how hard each benchmark runs: the full plan for the docs, a quick one to try."""

from __future__ import annotations

from dataclasses import dataclass

# Server on one core, load generator on the other: they do not steal each other's CPU.
SERVER_CPU = "0"
LOADGEN_CPU = "1"


@dataclass(frozen=True)
class Plan:
    overhead_vus: int
    overhead_seconds: int
    overhead_warmup_seconds: int
    overhead_repeats: int
    order_rates: tuple[int, ...]
    order_step_seconds: int
    startup_runs: int
    drain_rate: int
    drain_seconds: int
    switch_rate: int
    switch_seconds: int
    cpu_per_order_rate: int
    cpu_per_order_seconds: int
    cpu_per_order_rounds: int
    overload_rate: int
    overload_seconds: int
    outbound_calls: int
    outbound_rounds: int


FULL = Plan(
    overhead_vus=16,
    overhead_seconds=5,
    overhead_warmup_seconds=2,
    overhead_repeats=5,
    # Up to 800: the sweep stops two steps after the system breaks, so the top is rarely run.
    order_rates=(
        10,
        20,
        30,
        40,
        60,
        80,
        100,
        130,
        160,
        200,
        250,
        300,
        350,
        400,
        500,
        600,
        700,
        800,
    ),
    order_step_seconds=10,
    startup_runs=5,
    drain_rate=40,
    drain_seconds=12,
    switch_rate=30,
    switch_seconds=30,
    cpu_per_order_rate=40,
    cpu_per_order_seconds=30,
    cpu_per_order_rounds=2,
    overload_rate=300,  # when section 2 has not run; else three times its highest clean rate
    overload_seconds=30,
    outbound_calls=2000,
    outbound_rounds=3,
)

QUICK = Plan(
    overhead_vus=8,
    overhead_seconds=3,
    overhead_warmup_seconds=1,
    overhead_repeats=1,
    order_rates=(10, 40, 80),
    order_step_seconds=4,
    startup_runs=2,
    drain_rate=20,
    drain_seconds=8,
    switch_rate=10,
    switch_seconds=20,
    cpu_per_order_rate=20,
    cpu_per_order_seconds=9,  # a 5 s warm-up, then the measured window
    cpu_per_order_rounds=1,
    overload_rate=150,
    overload_seconds=8,
    outbound_calls=300,
    outbound_rounds=1,
)
