"""``platformctl rollback all --to-revision N``: ``helm rollback <release> N``, explicitly.

The revision always comes from the operator and is checked against ``helm history``; there is
no "previous revision" default, because after one rollback the previous revision is the bad
release again. Afterwards the environment file is made to say what revision N ran, so the
next ``helmfile apply`` keeps the rollback instead of undoing it.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from rich.console import Console

from platformctl.backend import BackendError
from platformctl.catalog import COLORS, SERVICES
from platformctl.kubernetes.backend import KubernetesBackend
from platformctl.kubernetes.commands import CommandError
from platformctl.kubernetes.envfile import (
    KeyPath,
    active_color_path,
    canary_weight_path,
    replicas_path,
    version_path,
)
from platformctl.kubernetes.release import APPLIED, service_releases
from platformctl.runbook import PreconditionError, RunbookError


@dataclass(frozen=True)
class RevisionRollback:
    revision: int  # the revision rolled back to
    replaced: int  # the newest revision before (deployed, or a failed upgrade)
    live: dict[str, str]  # service -> live color now
    file_changes: dict[KeyPath, str]  # environment file path -> new value
    seconds: float


def rollback_to_revision(
    backend: KubernetesBackend,
    services: Sequence[str],
    revision: int,
    console: Console,
    ready_timeout: float = 600.0,
) -> RevisionRollback:
    if set(services) != set(SERVICES):
        raise PreconditionError(
            "--to-revision rolls back the whole release, every service: "
            f"run `platformctl rollback all --to-revision {revision} -e "
            f"{backend.environment.name}`"
        )
    # No `ensure_up`: a release whose last upgrade failed is exactly what this must repair.
    started = time.perf_counter()
    history = backend.history()
    by_number = {r.number: r for r in history}
    current = next((r for r in history if r.status == "deployed"), None)
    target = by_number.get(revision)
    if target is None:
        known = ", ".join(str(r.number) for r in sorted(history, key=lambda r: r.number))
        raise PreconditionError(
            f"revision {revision} is not in the history of {backend.environment.release} ({known})"
        )
    if current is not None and current.number == revision:
        raise PreconditionError(f"revision {revision} is the deployed revision already")
    if target.status not in APPLIED:
        raise PreconditionError(
            f"revision {revision} is {target.status}; roll back to a deployed or superseded one"
        )
    values = backend.values(revision)
    releases = service_releases(values, SERVICES)
    live = {name: r.live for name, r in releases.items()}
    in_step = sorted(name for name, r in releases.items() if r.canary_weight)
    if in_step:
        raise PreconditionError(
            f"revision {revision} was taken during a canary step of {', '.join(in_step)}: "
            "roll back to the revision before that canary, or after it"
        )
    if current is not None:
        _scale_up_first(backend, current.number, live, ready_timeout, console)
    console.print(
        f"rolling back {backend.environment.release} to revision {revision} "
        f"({target.updated}, {target.description or 'no description'}): "
        + ", ".join(f"{name} {r.live} {r.versions[r.live]}" for name, r in releases.items())
    )
    try:
        argv = backend.helm("rollback", backend.environment.release, str(revision), "--wait")
        backend.commands.run([*argv, f"--timeout={round(ready_timeout)}s"]).check()
    except CommandError as exc:
        raise RunbookError(f"helm rollback to revision {revision} failed: {exc}") from None
    backend.forget_running()
    try:
        backend.wait_ready(live, ready_timeout)
        backend.await_live(live)
    except BackendError as exc:
        raise RunbookError(f"rolled back to revision {revision}, but: {exc}") from None
    # Make git say what runs now; only the values that differ are touched.
    own = {name: (values.get(name) or {}).get("activeColor") or "" for name in SERVICES}
    wanted: dict[KeyPath, str] = {
        active_color_path(): (values.get("global") or {}).get("activeColor") or "blue",
        **{active_color_path(name): own[name] for name in SERVICES},
        **{
            version_path(name, color): releases[name].versions[color]
            for name in SERVICES
            for color in COLORS
        },
        **{canary_weight_path(name): "" for name in SERVICES},  # no step at revision N
        # The size each color runs at revision N: "" (the environment's), a preview size, "0".
        **{
            replicas_path(name, color): backend.environment.size.entry(
                releases[name].replicas.get(color)
            )
            for name in SERVICES
            for color in COLORS
        },
    }
    old = backend.file.set(wanted)
    seconds = time.perf_counter() - started
    changed = {path: wanted[path] for path in old}
    console.print(
        f"rolled back to revision {revision} in {seconds:.1f}s; "
        + (
            f"{backend.file.path.name} now says so ({len(changed)} values): commit it"
            if changed
            else f"{backend.file.path.name} already said so"
        )
    )
    return RevisionRollback(
        revision=revision,
        replaced=history[0].number,
        live=live,
        file_changes=changed,
        seconds=seconds,
    )


def _scale_up_first(
    backend: KubernetesBackend,
    deployed: int,
    live: dict[str, str],
    timeout: float,
    console: Console,
) -> None:
    """Revision N makes colors live that may run below full size now (scaled to zero after
    their promotion, or a preview size): helm would flip the selectors while their pods start.
    Bring them to full size first, so the rollback itself is only the switch."""
    running = service_releases(backend.values(deployed), SERVICES)
    size = backend.environment.size
    cold = {
        name: color
        for name, color in live.items()
        if size.entry(running[name].replicas.get(color)) != ""
    }
    if not cold:
        return
    console.print(f"scaling {', '.join(f'{n} {c}' for n, c in cold.items())} up first")
    try:
        backend.start(cold)
        backend.wait_ready(cold, timeout)
    except BackendError as exc:
        raise RunbookError(f"not rolling back: scaling the colors up failed: {exc}") from None
