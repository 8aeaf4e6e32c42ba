"""Canary steps by replica ratio, as Argo Rollouts does without a mesh or gateway.

During a step the live Service selects the pods of both colors (the chart's ``canaryWeight``),
and kube-proxy spreads connections over the ready endpoints: each color takes its share of the
pods. The stable color keeps its full size, so live capacity never drops; the canary gets
``round(stable * w / (100 - w))`` pods, at least one and at most as many as the stable color.

That costs precision at small sizes. Next to 2 stable pods the canary can only take 33 % (1 pod)
or 50 % (2 pods): a 10 % step takes 33 %. Next to 10 stable pods, 10 % is 1 pod (9 %). Above
50 % the stable color would have to shrink; the step stays at 50 % and the last step, an
ordinary promotion, moves the rest.
"""

from __future__ import annotations

from collections.abc import Iterable

from platformctl.kubernetes.cluster import Endpoint, pod_color


def canary_pods(stable_pods: int, percent: int) -> int:
    """The canary's pods for a step of ``percent`` next to ``stable_pods``."""
    if not 0 < percent < 100:
        raise ValueError(f"a canary step is a percent between 1 and 99, not {percent}")
    wanted = round(stable_pods * percent / (100 - percent))
    return min(max(wanted, 1), max(stable_pods, 1))


def share(canary: int, stable: int) -> int:
    """The percent of live traffic ``canary`` pods take next to ``stable`` ones, rounded half
    up in whole numbers (the chart records the value platformctl writes from this)."""
    total = canary + stable
    return (200 * canary + total) // (2 * total) if total else 0


def split_problem(
    service: str, stable: str, canary: str, canary_wanted: int, found: Iterable[Endpoint]
) -> str | None:
    """Why the live Service's endpoints ``found`` are not a step's split: ``canary_wanted``
    canary pods, all ready, beside ready stable ones; None when they are. A stable pod that is
    not ready (an HPA's new one, a restart) takes no traffic and does not hold the step up."""
    found = list(found)
    mine = [e for e in found if pod_color(service, e.pod) == canary]
    starting = sorted(e.pod for e in mine if not e.ready)
    if starting:
        return f"not ready: {', '.join(starting)}"
    if len(mine) != canary_wanted:
        return f"{len(mine)} {canary} endpoints, not {canary_wanted}"
    if not any(e.ready and pod_color(service, e.pod) == stable for e in found):
        return f"no ready {stable} endpoints"
    return None


def measured_share(service: str, canary: str, found: Iterable[Endpoint]) -> int:
    """The percent of the live Service's ready endpoints that are the canary's."""
    colors = [pod_color(service, e.pod) for e in found if e.ready]
    return share(colors.count(canary), len(colors) - colors.count(canary))
