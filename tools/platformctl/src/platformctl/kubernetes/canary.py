"""Canary steps, in the environment's `canaryRouting.mode`.

By replica ratio (``replicas``), as Argo Rollouts does without a mesh or gateway.

During a step the live Service selects the pods of both colors (the chart's ``canaryWeight``),
and kube-proxy spreads connections over the ready endpoints: each color takes its share of the
pods. The stable color keeps its full size, so live capacity never drops; the canary gets
``round(stable * w / (100 - w))`` pods, at least one and at most as many as the stable color.

That costs precision at small sizes. Next to 2 stable pods the canary can only take 33 % (1 pod)
or 50 % (2 pods): a 10 % step takes 33 %. Next to 10 stable pods, 10 % is 1 pod (9 %). Above
50 % the stable color would have to shrink; the step stays at 50 % and the last step, an
ordinary promotion, moves the rest.

By HTTPRoute weights (``gateway``), as Argo Rollouts does with a traffic router: the chart's
route for the service weights the live Service (stable) and the preview Service (the canary)
``100 - w : w``, and the gateway applies that per request, so the step is exact at any size. The
canary then needs only its share of the capacity: ``ceil(stable * w / 100)`` pods, at least one
(Argo's canary scale under traffic routing).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from platformctl.kubernetes.cluster import Endpoint, pod_color


def canary_pods(stable_pods: int, percent: int) -> int:
    """The canary's pods for a step of ``percent`` next to ``stable_pods``."""
    if not 0 < percent < 100:
        raise ValueError(f"a canary step is a percent between 1 and 99, not {percent}")
    wanted = round(stable_pods * percent / (100 - percent))
    return min(max(wanted, 1), max(stable_pods, 1))


def routed_canary_pods(stable_pods: int, percent: int) -> int:
    """The canary's pods for a step of ``percent`` routed by a gateway: its share of the
    stable color's capacity, rounded up, at least one."""
    if not 0 < percent < 100:
        raise ValueError(f"a canary step is a percent between 1 and 99, not {percent}")
    return max(math.ceil(stable_pods * percent / 100), 1)


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


def route_weight(route: Mapping[str, Any], preview: str) -> int:
    """The percent of an HTTPRoute's weight that goes to the ``preview`` Service."""
    refs = [ref for rule in (route.get("spec") or {}).get("rules") or [] for ref in
            rule.get("backendRefs") or []]  # fmt: skip
    total = sum(int(ref.get("weight", 1)) for ref in refs)
    mine = sum(int(ref.get("weight", 1)) for ref in refs if ref.get("name") == preview)
    return round(100 * mine / total) if total else 0


def route_problem(
    route: Mapping[str, Any] | None,
    preview: str,
    percent: int,
    gateway: tuple[str, str] | None = None,
) -> str | None:
    """Why the service's HTTPRoute does not yet send ``percent`` to ``preview``: its weights,
    or ``gateway`` (name, namespace; None: any) not having accepted its current generation with
    every backend resolved. None when it does. Accepted means the gateway took the route; its
    proxy applies it a moment later (Traefik: well under a second here)."""
    if route is None:
        return "no HTTPRoute (is canaryRouting.mode gateway applied?)"
    if (weight := route_weight(route, preview)) != percent:
        return f"the HTTPRoute gives {preview} {weight}%, not {percent}%"
    metadata = route.get("metadata") or {}
    generation = metadata.get("generation")
    for parent in (route.get("status") or {}).get("parents") or []:
        ref = parent.get("parentRef") or {}
        parent_gateway = (ref.get("name"), ref.get("namespace", metadata.get("namespace")))
        if gateway and parent_gateway != gateway:
            continue
        conditions = {
            c.get("type"): c for c in parent.get("conditions") or []
            if c.get("observedGeneration") == generation
        }  # fmt: skip
        if all(
            (conditions.get(kind) or {}).get("status") == "True"
            for kind in ("Accepted", "ResolvedRefs")
        ):
            return None
    if gateway:
        return (
            f"Gateway {gateway[1]}/{gateway[0]} has not accepted generation {generation} of "
            "the HTTPRoute yet"
        )
    return f"no gateway has accepted generation {generation} of the HTTPRoute yet"


def ready_canary_problem(found: Iterable[Endpoint], canary_wanted: int) -> str | None:
    """Why the preview Service's endpoints ``found`` are not ``canary_wanted`` ready pods."""
    found = list(found)
    starting = sorted(e.pod for e in found if not e.ready)
    if starting:
        return f"not ready: {', '.join(starting)}"
    if len(found) != canary_wanted:
        return f"{len(found)} preview endpoints, not {canary_wanted}"
    return None
