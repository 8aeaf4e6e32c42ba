"""The blue/green runbook: deploy, promote (with analysis and automatic rollback), rollback,
and abort (discard a deploy before it is promoted).

Backend-neutral: every runtime step goes through :class:`platformctl.backend.Backend`, so the
local processes and a Kubernetes cluster run the same promotion logic and the same analysis.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

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
SCALE_DOWN_PROGRESS_SECONDS = 10.0


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
    scale_up_seconds: float | None = None  # promote from a preview size: until full and ready


def deploy(
    backend: Backend,
    services: Sequence[str],
    version: str,
    faults: Mapping[str, str],
    console: Console,
    ready_timeout: float,
    preview_replicas: int | None = None,
) -> None:
    backend.ensure_up()
    views = backend.status()
    targets = {name: views[name].idle for name in services}
    in_canary = [name for name in services if views[name].canary_weight is not None]
    if in_canary:
        raise PreconditionError(
            f"a canary step is under way for {', '.join(in_canary)}: its idle color takes live "
            "traffic; `platformctl promote` or `platformctl abort` it first"
        )
    console.print(
        f"deploying {version} to the idle color of {', '.join(services)}"
        + (f" with faults {output.faults(faults)}" if faults else "")
        + (f", {preview_replicas} preview replicas" if preview_replicas else "")
    )
    started = time.perf_counter()
    backend.deploy(services, version, faults, preview_replicas)
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
    analysed: bool = False,
    scale_down_delay: float | None = None,
    ready_timeout: float = 600.0,
) -> Timings:
    """Analyse the idle colors, bring them to full size, switch, analyse again; then the old
    colors scale down after the delay (``scale_down_delay`` overrides the runtime's; negative
    keeps them). Where nothing else would scale them down (Kubernetes) this waits out the delay.
    ``analysed``: the idle colors have just passed the pre-promotion analysis (auto-promotion).
    """
    backend.ensure_up()
    started = time.perf_counter()
    views = backend.status()
    targets = _promotable(views, services)
    old = {name: views[name].live for name in services}

    if skip_analysis:
        console.print("[yellow]skipping pre-promotion analysis (--skip-analysis)[/]")
    elif not analysed:
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

    scaled_up = _full_size(backend, targets, ready_timeout, console)
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

    delay = backend.scale_down_delay() if scale_down_delay is None else scale_down_delay
    delay = None if delay is None or delay < 0 else delay
    by_itself = delay is None or backend.schedule_scale_down(old, delay)
    kept = "kept running" if delay is None else f"scaled down in {delay:g}s"
    total = time.perf_counter() - started
    console.print(
        f"promoted {output.targets(targets)} in {total:.1f}s"
        + (f" (full size after {scaled_up:.1f}s)" if scaled_up is not None else "")
        + f"; old colors {output.targets(old)} {kept} (instant rollback until then)"
    )
    if not by_itself:
        assert delay is not None
        _scale_down_after(backend, old, delay, console)
    return Timings(switch_seconds, total, scaled_up)


def _promotable(views: Mapping[str, ServiceView], services: Sequence[str]) -> dict[str, str]:
    """Each service's idle color, which must hold a ready deploy not promoted yet."""
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
    return targets


def canary(
    backend: Backend,
    services: Sequence[str],
    steps: Sequence[int],
    analysis: AnalysisConfig,
    console: Console,
    **promotion: Any,
) -> Timings:
    """Shift live traffic to the idle colors step by step (percent, the last one 100). At each
    step the pre-promotion analysis measures the canary's own series: its share of live traffic,
    plus the phase's load through its preview port, so it has enough requests to judge at any
    weight (and a port-forward, pinned to one pod, never carries a split). A failing step sends
    all traffic back to the stable colors and stops. The last step is an ordinary promotion
    (full size, switch, post-promotion analysis, scale-down)."""
    backend.ensure_up()
    views = backend.status()
    targets = _promotable(views, services)
    stable = output.targets({name: views[name].live for name in services})
    preview = {name: views[name].preview_url for name in services}
    backend.set_weight(targets, 0)  # from nothing; a runtime that cannot split refuses here
    try:
        for step in steps:
            if step >= 100:
                break
            _canary_step(backend, views, targets, step, analysis, preview, stable, console)
    except RunbookError:
        raise  # a failed step: the traffic is back already
    except (Exception, KeyboardInterrupt) as exc:
        # An error or Ctrl-C mid-step must not leave the canary taking live traffic.
        try:
            backend.set_weight(targets, 0)
            back = f"all live traffic is back on {stable}"
        except (Exception, KeyboardInterrupt) as again:
            back = f"sending the traffic back failed too ({again}): check `platformctl status`"
        raise RunbookError(f"canary stopped: {exc or type(exc).__name__}; {back}") from None
    console.print(f"canary passed every step: promoting {output.targets(targets)}")
    return promote(backend, services, analysis, console, analysed=True, **promotion)


def _canary_step(
    backend: Backend,
    views: Mapping[str, ServiceView],
    targets: Mapping[str, str],
    step: int,
    analysis: AnalysisConfig,
    preview: Mapping[str, str],
    stable: str,
    console: Console,
) -> None:
    """One step: the split, then the analysis; a failed one sends all traffic back and stops."""
    split = backend.set_weight(targets, step)
    taken = ", ".join(f"{name} {targets[name]} takes {split.percents[name]}%" for name in targets)
    routes = f"; by HTTPRoute weights: {', '.join(sorted(split.routed))}" if split.routed else ""
    console.print(
        f"canary step {step}%: {taken} of live traffic "
        f"(routed in {split.seconds * 1000:.0f} ms{routes})"
    )
    result = _analyse(
        backend, views, targets, analysis, analysis.pre_promotion, f"canary {step}%",
        preview, console,
    )  # fmt: skip
    if result.verdict is not Verdict.successful:
        back = backend.set_weight(targets, 0)
        raise RunbookError(
            f"canary stopped at step {step}%: analysis {result.verdict.value.lower()} for "
            f"{output.failing(result)}; all live traffic is back on {stable} "
            f"(in {back.seconds * 1000:.0f} ms), and {output.targets(targets)} stays pending"
        )


def auto_promote(
    backend: Backend,
    services: Sequence[str],
    analysis: AnalysisConfig,
    console: Console,
    after: float,
    **promotion: Any,
) -> Timings:
    """``deploy --auto-promote-after``: run the pre-promotion analysis round after round until
    the idle colors have passed it for ``after`` seconds, then promote them (the switch, the
    post-promotion analysis and its automatic rollback as `promote` does them). A round that
    fails or is inconclusive stops it: nothing switches, the idle colors stay pending for a
    person to promote or abort."""
    backend.ensure_up()
    views = backend.status()
    targets = {name: views[name].idle for name in services}
    preview = {name: views[name].preview_url for name in services}
    live = output.targets({name: views[name].live for name in services})
    console.print(
        f"auto-promotion of {output.targets(targets)} once it has passed its analysis for "
        f"{after:g}s"
    )
    started = time.monotonic()
    # Each round lasts the phase's length; a few more cover the time between rounds.
    rounds = math.ceil(after / max(analysis.pre_promotion.duration, 1.0)) + 2
    for round_number in range(1, rounds + 1):
        result = _analyse(
            backend, views, targets, analysis, analysis.pre_promotion,
            f"pre-promotion (round {round_number})", preview, console,
        )  # fmt: skip
        if result.verdict is not Verdict.successful:
            raise RunbookError(
                f"not promoted: pre-promotion analysis round {round_number} "
                f"{result.verdict.value.lower()} for {output.failing(result)}; live traffic "
                f"stays on {live}, and {output.targets(targets)} stays pending "
                "(`platformctl promote` or `platformctl abort`)"
            )
        passed = time.monotonic() - started
        if passed >= after:
            console.print(f"passed its analysis for {passed:.0f}s: promoting")
            return promote(backend, services, analysis, console, analysed=True, **promotion)
        console.print(f"passed its analysis for {passed:.0f}s of {after:g}s")
    raise RunbookError(f"not promoted: {rounds} analysis rounds did not add up to {after:g}s")


def _full_size(
    backend: Backend, targets: Mapping[str, str], timeout: float, console: Console
) -> float | None:
    """Scale colors running a preview size (or none) to full size and wait for them; returns
    the seconds it took, None when they were full already."""
    started = time.perf_counter()
    scaled = backend.start(targets)
    if not scaled:
        return None
    console.print(f"scaling {output.targets({n: targets[n] for n in scaled})} to full size")
    try:
        backend.wait_ready(targets, timeout)
    except BackendError as exc:
        raise RunbookError(f"promotion stopped before the switch: {exc}") from None
    return time.perf_counter() - started


def _scale_down_after(
    backend: Backend, old: Mapping[str, str], delay: float, console: Console
) -> None:
    """Wait out the scale-down delay in the foreground, then scale the old colors down. An
    interrupt leaves them at full size (and says so); a rollback in between keeps them."""
    console.print(
        f"waiting {delay:g}s before scaling {output.targets(old)} to zero "
        "(Ctrl-C keeps them at full size)"
    )
    deadline = time.monotonic() + delay
    try:
        while (left := deadline - time.monotonic()) > 0:
            time.sleep(min(left, SCALE_DOWN_PROGRESS_SECONDS))
            if left > SCALE_DOWN_PROGRESS_SECONDS:
                console.print(f"  scale-down in {deadline - time.monotonic():.0f}s")
    except KeyboardInterrupt:
        raise RunbookError(
            f"interrupted: {output.targets(old)} stay at full size; "
            "`platformctl rollback` is still instant"
        ) from None
    try:
        scaled = backend.scale_down(old)
    except BackendError as exc:
        raise RunbookError(
            f"promoted; the old colors {output.targets(old)} still run at full size: {exc}"
        ) from None
    kept = sorted(set(old) - set(scaled))
    console.print(
        f"scaled {output.targets({n: old[n] for n in scaled}) or 'nothing'} to zero"
        + (f"; kept {', '.join(kept)} (live again)" if kept else "")
    )


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
