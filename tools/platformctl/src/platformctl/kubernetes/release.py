"""The Helm release as the record of what ran: its history, and each revision's values.

Kubernetes keeps both colors running, so the release history is what tells an idle color that
holds a new deploy (``pending``: ``promote`` ships it) from one that holds the release that was
live before (``previous``: ``rollback`` returns to it). Per service, the history is reduced to
its distinct states (live color and both versions), newest first:

- the last change wrote a new version into the idle color: the idle color is pending;
- the last change flipped the live color: the old color is previous, unless that flip undid
  the one before it (a rollback), so a second rollback never flips back onto the bad release;
- the last changes put back an earlier state by idle-version changes only, and left the idle
  color at zero replicas (an abort): the state means what it meant then, as if the deploys in
  between never happened, and nothing is pending. The zero is what tells an abort from a
  re-deploy of the same version, whose values look the same otherwise.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from platformctl.catalog import COLORS, other_color

# Revisions whose values reached the cluster; a failed upgrade may have applied only part.
APPLIED = frozenset({"deployed", "superseded"})


@dataclass(frozen=True)
class Revision:
    number: int
    status: str
    updated: str
    description: str

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Revision:
        return cls(
            number=int(raw["revision"]),
            status=str(raw.get("status", "")),
            updated=str(raw.get("updated", "")),
            description=str(raw.get("description", "")),
        )


@dataclass(frozen=True)
class ServiceRelease:
    """One service as a revision's values have it. Sizes and canary steps are not part of its
    state: they change neither what is pending nor what a rollback returns to."""

    live: str
    versions: Mapping[str, str]
    # color -> fixed replicas; None: autoscaled, or not known from these values
    replicas: Mapping[str, int | None] = field(default_factory=dict, compare=False)
    # A canary step: the live Service selects both colors (chart value canaryWeight); 0: none.
    canary_weight: int = field(default=0, compare=False)

    def scaled_down(self, color: str) -> bool:
        return self.replicas.get(color) == 0

    @property
    def idle(self) -> str:
        return other_color(self.live)


def service_releases(
    values: Mapping[str, Any], services: Sequence[str]
) -> dict[str, ServiceRelease]:
    """Live color and versions per service from ``helm get values -o json`` (user values)."""
    default = (values.get("global") or {}).get("activeColor") or "blue"
    releases = {}
    for name in services:
        spec = values.get(name) or {}
        colors = {color: spec.get(color) or {} for color in COLORS}
        releases[name] = ServiceRelease(
            live=spec.get("activeColor") or default,
            versions={
                color: str((own.get("image") or {}).get("tag", "")) for color, own in colors.items()
            },
            replicas={color: _fixed_replicas(own) for color, own in colors.items()},
            canary_weight=int(spec.get("canaryWeight") or 0),
        )
    return releases


def _fixed_replicas(color_values: Mapping[str, Any]) -> int | None:
    if (color_values.get("autoscaling") or {}).get("enabled"):
        return None
    replicas = color_values.get("replicas")
    return None if replicas is None else int(replicas)


@dataclass(frozen=True)
class Lineage:
    pending: bool  # the idle color holds a deploy that was never live
    previous: str | None  # the color a flip-back rollback returns to
    restores: str | None = None  # set when pending: the idle version `abort` puts back


def judge(states: Sequence[ServiceRelease], *, complete: bool) -> Lineage | None:
    """Judge the newest of ``states`` (distinct, newest first) by how it came about; None when
    the judgment needs older states than these (``complete``: there are none)."""
    if len(states) < 2:
        return Lineage(pending=False, previous=None) if complete else None
    now, before = states[0], states[1]
    if now.scaled_down(now.idle):
        # Where `abort` leaves an idle color: at zero, back at an earlier state through
        # idle-version changes only. The deploys in between never happened, and nothing is
        # pending. (A re-deploy of an aborted version runs pods, so it never matches here.)
        for k in range(1, len(states)):
            if states[k].live != now.live:
                break
            if k >= 2 and states[k] == now:
                earlier = judge(states[k:], complete=complete)
                return None if earlier is None else replace(earlier, pending=False, restores=None)
        else:
            if not complete:
                return None  # an older state may be the one an abort went back to
    if now.live == before.live:
        if now.versions[now.idle] != before.versions[now.idle] and not now.scaled_down(now.idle):
            return Lineage(pending=True, previous=None, restores=before.versions[now.idle])
        return Lineage(pending=False, previous=None)
    if len(states) < 3 and not complete:
        return None
    undid_a_flip = len(states) > 2 and states[2] == now
    return Lineage(pending=False, previous=None if undid_a_flip else before.live)


def lineage(states: Sequence[ServiceRelease]) -> Lineage:
    """The judgment of the whole history (``states`` reach back to the first revision)."""
    judged = judge(states, complete=True)
    assert judged is not None  # a complete history always judges
    return judged


def distinct_states(
    revisions: Sequence[Mapping[str, ServiceRelease]], service: str
) -> list[ServiceRelease]:
    """The service's states, newest first, with repeats (applies that changed nothing) merged."""
    states: list[ServiceRelease] = []
    for releases in revisions:
        state = releases[service]
        if not states or states[-1] != state:
            states.append(state)
    return states
