"""Running an analysis: measurements over time against thresholds, with Argo's limits.

Backend-neutral: a backend supplies each target's Prometheus label selector, and an optional
load driver keeps traffic flowing while the measurements run.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

import httpx

from platformctl.analysis.config import AnalysisConfig, Metric, Phase
from platformctl.analysis.prometheus import PrometheusClient

# How long the measurements wait for Prometheus's first scrape of every target (see below).
FIRST_SCRAPE_TIMEOUT_SECONDS = 20.0


class Verdict(StrEnum):
    successful = "Successful"
    failed = "Failed"
    inconclusive = "Inconclusive"


@dataclass(frozen=True)
class Target:
    """What to analyse: one service's color, as a PromQL label selector."""

    service: str
    color: str
    version: str
    selector: str


@dataclass(frozen=True)
class Measurement:
    metric: str
    value: float | None
    condition: str
    verdict: Verdict
    at: float


@dataclass
class TargetRun:
    target: Target
    measurements: list[list[Measurement]] = field(default_factory=list)
    verdict: Verdict | None = None  # None while running

    def counts(self) -> tuple[int, int]:
        failed = sum(1 for m in self.measurements if _worst(m) is Verdict.failed)
        inconclusive = sum(1 for m in self.measurements if _worst(m) is Verdict.inconclusive)
        return failed, inconclusive


@dataclass
class AnalysisResult:
    phase_name: str
    runs: list[TargetRun]
    load_summary: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def verdict(self) -> Verdict:
        verdicts = {run.verdict for run in self.runs}
        if Verdict.failed in verdicts:
            return Verdict.failed
        if Verdict.inconclusive in verdicts or None in verdicts:
            return Verdict.inconclusive
        return Verdict.successful

    def failing(self) -> list[TargetRun]:
        return [run for run in self.runs if run.verdict is not Verdict.successful]


LoadDriver = Callable[[asyncio.Event], Awaitable[dict[str, dict[str, int]]]]
Progress = Callable[[TargetRun, list[Measurement]], None]


def judge(metric: Metric, value: float | None) -> Verdict:
    if value is None:
        return Verdict.inconclusive
    if metric.max is not None and value > metric.max:
        return Verdict.failed
    if metric.min is not None and value < metric.min:
        return Verdict.failed
    return Verdict.successful


def _worst(measurements: Sequence[Measurement]) -> Verdict:
    verdicts = {m.verdict for m in measurements}
    if Verdict.failed in verdicts:
        return Verdict.failed
    if Verdict.inconclusive in verdicts:
        return Verdict.inconclusive
    return Verdict.successful


async def run_analysis(
    config: AnalysisConfig,
    phase: Phase,
    phase_name: str,
    targets: Sequence[Target],
    prometheus: PrometheusClient,
    load: LoadDriver | None = None,
    on_measurement: Progress | None = None,
) -> AnalysisResult:
    runs = [TargetRun(target) for target in targets]
    stop_load = asyncio.Event()
    load_task = asyncio.create_task(load(stop_load)) if load else None
    try:
        async with httpx.AsyncClient() as client:
            await _first_scrapes(client, prometheus, targets)
            await asyncio.sleep(phase.initial_delay)
            for index in range(phase.count):
                started = time.monotonic()
                active = [run for run in runs if run.verdict is None]
                if not active:
                    break
                await asyncio.gather(
                    *(_measure(client, config, prometheus, run, on_measurement) for run in active)
                )
                for run in active:
                    _settle(run, phase, last=index == phase.count - 1)
                if index < phase.count - 1:
                    await asyncio.sleep(max(0.0, phase.interval - (time.monotonic() - started)))
    finally:
        stop_load.set()
        summary: dict[str, dict[str, int]] = {}
        if load_task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                summary = await asyncio.wait_for(load_task, timeout=15)
    return AnalysisResult(phase_name, runs, summary)


async def _first_scrapes(
    client: httpx.AsyncClient,
    prometheus: PrometheusClient,
    targets: Sequence[Target],
) -> None:
    """Return once Prometheus has scraped every target, or after FIRST_SCRAPE_TIMEOUT_SECONDS.

    A color deployed seconds ago may not be discovered yet (file or pod discovery, then a
    scrape interval), and a rate over it is empty however healthy it is: the initial delay
    counts from its first scrape, not from the promote. A color never scraped is measured
    anyway, and found to have no data.
    """
    deadline = time.monotonic() + FIRST_SCRAPE_TIMEOUT_SECONDS
    pending = list(targets)
    while pending and time.monotonic() < deadline:
        up = await asyncio.gather(
            *(prometheus.scalar(client, f"min(up{{{t.selector}}})") for t in pending)
        )
        pending = [target for target, value in zip(pending, up, strict=True) if value != 1]
        if pending:
            await asyncio.sleep(0.5)


async def _measure(
    client: httpx.AsyncClient,
    config: AnalysisConfig,
    prometheus: PrometheusClient,
    run: TargetRun,
    on_measurement: Progress | None,
) -> None:
    values = await asyncio.gather(
        *(
            prometheus.scalar(client, metric.promql(run.target.selector, config.window))
            for metric in config.metrics
        )
    )
    now = time.time()
    measurement = [
        Measurement(metric.name, value, metric.condition(), judge(metric, value), now)
        for metric, value in zip(config.metrics, values, strict=True)
    ]
    run.measurements.append(measurement)
    if on_measurement:
        on_measurement(run, measurement)


def _settle(run: TargetRun, phase: Phase, *, last: bool) -> None:
    """Argo's rules: stop early once a limit is exceeded, else decide after the last one."""
    failed, inconclusive = run.counts()
    if failed > phase.failure_limit:
        run.verdict = Verdict.failed
    elif inconclusive > phase.inconclusive_limit:
        run.verdict = Verdict.inconclusive
    elif last:
        run.verdict = Verdict.successful
