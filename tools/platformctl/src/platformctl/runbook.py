"""The blue/green runbook: deploy, promote (with analysis and automatic rollback), rollback,
and abort (discard a deploy before it is promoted).

Backend-neutral: every runtime step goes through :class:`platformctl.backend.Backend`, so the
local processes and a Kubernetes cluster run the same promotion logic and the same analysis.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import httpx
from rich.console import Console

from platformctl import output
from platformctl.analysis.config import AnalysisConfig, Phase
from platformctl.analysis.engine import AnalysisResult, Target, Verdict, run_analysis
from platformctl.analysis.prometheus import PrometheusClient
from platformctl.backend import Backend, BackendError, ServiceView
from platformctl.traffic import CheckFailed, Tokens, drive_load, smoke

SMOKE_ATTEMPTS = 8
SMOKE_RETRY_SECONDS = 0.1


class RunbookError(Exception):
    """A verb could not do its job; the message is the one line the operator sees."""

    exit_code = 1


class PreconditionError(RunbookError):
    """Nothing was changed: the request does not fit the current state."""

    exit_code = 2


@dataclass(frozen=True)
class Timings:
    switch_seconds: float
    total_seconds: float


def deploy(
    backend: Backend,
    services: Sequence[str],
    version: str,
    faults: Mapping[str, str],
    console: Console,
    ready_timeout: float,
) -> None:
    backend.ensure_up()
    views = backend.status()
    targets = {name: views[name].idle for name in services}
    console.print(
        f"deploying {version} to the idle color of {', '.join(services)}"
        + (f" with faults {output.faults(faults)}" if faults else "")
    )
    started = time.perf_counter()
    backend.deploy(services, version, faults)
    try:
        backend.wait_ready(targets, ready_timeout)
    except BackendError as exc:
        backend.abandon(services)
        raise RunbookError(f"deploy failed, idle colors stopped: {exc}") from None
    ready_after = time.perf_counter() - started
    try:
        results = asyncio.run(_smoke_all(backend, views, services))
    except CheckFailed as exc:
        backend.abandon(services)
        raise RunbookError(f"smoke check failed, idle colors stopped: {exc}") from None
    console.print(output.smoke_table(views, targets, version, results))
    console.print(
        f"deployed {version} to {output.targets(targets)}: ready after {ready_after:.1f}s, "
        f"smoke checks passed through the preview ports"
    )


async def _smoke_all(
    backend: Backend, views: Mapping[str, ServiceView], services: Sequence[str]
) -> dict[str, str]:
    """One real API call per service through its preview port.

    A call may be retried a few times: a smoke check asks "does this release work at all";
    how often it fails is for the metric analysis to judge.
    """
    tokens = Tokens(views["auth"].live_url, backend.credentials())
    async with httpx.AsyncClient() as client:
        results = {}
        for name in services:
            for attempt in range(1, SMOKE_ATTEMPTS + 1):
                try:
                    proved = await smoke(name, views[name].preview_url, client, tokens)
                except (httpx.HTTPError, KeyError, ValueError, CheckFailed) as exc:
                    if attempt == SMOKE_ATTEMPTS:
                        raise CheckFailed(f"{name}, {attempt} attempts: {exc}") from None
                    await asyncio.sleep(SMOKE_RETRY_SECONDS)
                    continue
                results[name] = proved + (f" (attempt {attempt})" if attempt > 1 else "")
                break
        return results


def promote(
    backend: Backend,
    services: Sequence[str],
    analysis: AnalysisConfig,
    console: Console,
    *,
    skip_analysis: bool = False,
) -> Timings:
    backend.ensure_up()
    started = time.perf_counter()
    views = backend.status()
    targets = {}
    for name in services:
        view = views[name]
        idle = view.colors[view.idle]
        if not idle.pending:
            raise PreconditionError(
                f"nothing to promote for {name}: {view.live} ({view.colors[view.live].version}) "
                f"is live and {view.idle} holds no new deploy; run `platformctl deploy` first"
            )
        if idle.ready < idle.instances or idle.instances == 0:
            raise PreconditionError(f"cannot promote {name}: {view.idle} is not ready")
        targets[name] = view.idle
    old = {name: views[name].live for name in services}

    if skip_analysis:
        console.print("[yellow]skipping pre-promotion analysis (--skip-analysis)[/]")
    else:
        preview = {name: views[name].preview_url for name in services}
        result = _analyse(
            backend, views, targets, analysis, analysis.pre_promotion, "pre-promotion",
            preview, console,
        )  # fmt: skip
        if result.verdict is not Verdict.successful:
            raise RunbookError(
                f"promotion refused: pre-promotion analysis {result.verdict.value.lower()} "
                f"for {output.failing(result)}; live traffic stays on {output.targets(old)}"
            )

    switch_seconds = backend.switch(targets, rollback=False)
    console.print(
        f"switched live traffic to {output.targets(targets)} in {switch_seconds * 1000:.0f} ms"
    )

    if not skip_analysis:
        live = {name: views[name].live_url for name in services}
        result = _analyse(
            backend, views, targets, analysis, analysis.post_promotion, "post-promotion",
            live, console,
        )  # fmt: skip
        if result.verdict is not Verdict.successful:
            back = backend.switch(old, rollback=True)
            raise RunbookError(
                f"post-promotion analysis {result.verdict.value.lower()} for "
                f"{output.failing(result)}; rolled back automatically to {output.targets(old)} "
                f"in {back * 1000:.0f} ms"
            )

    delay = backend.schedule_scale_down(old)
    kept = "kept running" if delay is None else f"scaled down in {delay:g}s"
    total = time.perf_counter() - started
    console.print(
        f"promoted {output.targets(targets)} in {total:.1f}s; "
        f"old colors {output.targets(old)} {kept} (instant rollback until then)"
    )
    return Timings(switch_seconds, total)


def _analyse(
    backend: Backend,
    views: Mapping[str, ServiceView],
    targets: Mapping[str, str],
    analysis: AnalysisConfig,
    phase: Phase,
    phase_name: str,
    load_urls: Mapping[str, str],
    console: Console,
) -> AnalysisResult:
    analysis_targets = [
        Target(name, color, views[name].colors[color].version, backend.selector(name, color))
        for name, color in targets.items()
    ]
    tokens = Tokens(views["auth"].live_url, backend.credentials())

    async def load(stop: asyncio.Event) -> dict[str, dict[str, int]]:
        return await drive_load(load_urls, phase.load_rate, stop, tokens)

    console.print(
        f"{phase_name} analysis of {output.targets(targets)}: {phase.count} measurements "
        f"every {phase.interval:g}s after {phase.initial_delay:g}s, "
        f"failureLimit {phase.failure_limit}, load {phase.load_rate:g} req/s per service "
        f"({analysis.source})"
    )
    result = asyncio.run(
        run_analysis(
            analysis,
            phase,
            phase_name,
            analysis_targets,
            PrometheusClient(backend.prometheus_url()),
            load=load if phase.load_rate > 0 else None,
        )
    )
    console.print(output.analysis_table(result, analysis))
    return result


def rollback(
    backend: Backend, services: Sequence[str], console: Console, ready_timeout: float
) -> Timings:
    backend.ensure_up()
    started = time.perf_counter()
    views = backend.status()
    targets = {}
    for name in services:
        view = views[name]
        if view.previous is None:
            raise PreconditionError(
                f"nothing to roll back to for {name}: {view.live} "
                f"({view.colors[view.live].version}) is live and there is no previous color"
            )
        targets[name] = view.previous
    restarted = backend.start(targets)
    if restarted:
        console.print(f"restarting the scaled-down colors of {', '.join(restarted)}")
    try:
        backend.wait_ready(targets, ready_timeout)
    except BackendError as exc:
        raise RunbookError(f"rollback failed: {exc}") from None
    switch_seconds = backend.switch(targets, rollback=True)
    total = time.perf_counter() - started
    console.print(
        f"rolled back {output.targets(targets)}: switch {switch_seconds * 1000:.0f} ms, "
        f"total {total:.2f}s"
    )
    return Timings(switch_seconds, total)


def abort(backend: Backend, services: Sequence[str], console: Console) -> float:
    """Discard the idle colors' pending deploys; live traffic never moves. Returns seconds."""
    backend.ensure_up()
    started = time.perf_counter()
    views = backend.status()
    for name in services:
        view = views[name]
        if not view.colors[view.idle].pending:
            raise PreconditionError(
                f"nothing to abort for {name}: {view.idle} holds no deploy awaiting promotion "
                f"({view.live} {view.colors[view.live].version} is live)"
            )
    try:
        outcome = backend.abort(services)
    except BackendError as exc:
        raise RunbookError(str(exc)) from None  # it says "abort failed" and what was restored
    took = time.perf_counter() - started
    discarded = ", ".join(
        f"{name} {views[name].idle} {views[name].colors[views[name].idle].version} "
        f"({outcome[name]})"
        for name in services
    )
    live = output.targets({name: views[name].live for name in services})
    console.print(f"aborted {discarded} in {took:.1f}s; live traffic stays on {live}")
    return took
