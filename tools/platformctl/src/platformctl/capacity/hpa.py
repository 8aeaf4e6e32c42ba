"""The Kubernetes HorizontalPodAutoscaler algorithm for a CPU ``Utilization`` target.

A faithful port of the parts of ``pkg/controller/podautoscaler`` that decide a replica count:

- ``replica_calculator.go``: ``desired = ceil(ready * utilization / target)``, skipped while the
  ratio is within the tolerance (``(1 - down) <= ratio <= (1 + up)``, 0.1 each by default);
  utilization is an *integer* percent, ``(Σ usage * 100) // Σ requests`` over the ready pods.
- ``horizontal.go``: the stabilization windows (the lowest recent recommendation of the
  scale-up window is a floor, the highest of the scale-down window a ceiling), the ``behavior``
  policies (``Pods``/``Percent`` per ``periodSeconds`` from the count at the period's start,
  ``selectPolicy`` ``Max``/``Min``/``Disabled``) and the min/max clamp.
  Without ``behavior`` the legacy rules apply: a 300 s downscale window and at most
  ``max(2 * current, 4)`` replicas per sync.
- ``apis/autoscaling/v2/defaults.go``: a partial ``behavior`` is merged with the defaults.

Time is explicit (seconds, any origin), so a simulation can step the controller without sleeping.
What is left out on purpose: pods that are not ready yet or miss metrics (the predictions assume
every pod reports), and metrics other than CPU.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

DEFAULT_TOLERANCE = 0.1
"""``--horizontal-pod-autoscaler-tolerance``."""
DEFAULT_DOWNSCALE_STABILIZATION_SECONDS = 300
"""``--horizontal-pod-autoscaler-downscale-stabilization`` (5 minutes)."""
DEFAULT_SYNC_PERIOD_SECONDS = 15
"""``--horizontal-pod-autoscaler-sync-period``."""
MAX_PERIOD_SECONDS = 1800
LEGACY_SCALE_UP_FACTOR = 2.0
LEGACY_SCALE_UP_MINIMUM = 4


class PolicyType(StrEnum):
    pods = "Pods"
    percent = "Percent"


class SelectPolicy(StrEnum):
    max = "Max"
    min = "Min"
    disabled = "Disabled"


@dataclass(frozen=True)
class ScalingPolicy:
    """One ``behavior.scaleUp.policies[]`` (or ``scaleDown``) entry."""

    type: PolicyType
    value: int
    period_seconds: int

    def __post_init__(self) -> None:
        if self.value <= 0:
            raise ValueError(f"policy value must be > 0, got {self.value}")
        if not 0 < self.period_seconds <= MAX_PERIOD_SECONDS:
            raise ValueError(f"periodSeconds must be in 1..{MAX_PERIOD_SECONDS}")


@dataclass(frozen=True)
class ScalingRules:
    """``HPAScalingRules``: one direction of ``behavior``.

    ``stabilization_window_seconds=None`` on scale down means "the controller flag" (300 s).
    """

    policies: tuple[ScalingPolicy, ...]
    select_policy: SelectPolicy = SelectPolicy.max
    stabilization_window_seconds: int | None = None
    tolerance: float | None = None

    @property
    def longest_period_seconds(self) -> int:
        return max((p.period_seconds for p in self.policies), default=0)


DEFAULT_SCALE_UP = ScalingRules(
    policies=(
        ScalingPolicy(PolicyType.pods, 4, 15),
        ScalingPolicy(PolicyType.percent, 100, 15),
    ),
    stabilization_window_seconds=0,
)
DEFAULT_SCALE_DOWN = ScalingRules(policies=(ScalingPolicy(PolicyType.percent, 100, 15),))


@dataclass(frozen=True)
class Behavior:
    """``spec.behavior``, already merged with the API defaults."""

    scale_up: ScalingRules = DEFAULT_SCALE_UP
    scale_down: ScalingRules = DEFAULT_SCALE_DOWN

    @classmethod
    def from_manifest(cls, behavior: Mapping[str, Any] | None) -> Behavior | None:
        """Parse ``spec.behavior`` as written in a manifest or values file (camelCase keys).

        Unset fields take the defaults field by field, as the API server's defaulting does.
        ``None`` (no ``behavior``) stays ``None``: the controller then uses the legacy rules.
        """
        if behavior is None:
            return None
        return cls(
            scale_up=_rules_from_manifest(behavior.get("scaleUp"), DEFAULT_SCALE_UP),
            scale_down=_rules_from_manifest(behavior.get("scaleDown"), DEFAULT_SCALE_DOWN),
        )


def _rules_from_manifest(rules: Mapping[str, Any] | None, default: ScalingRules) -> ScalingRules:
    if not rules:
        return default
    merged = default
    if "policies" in rules and rules["policies"] is not None:
        policies = tuple(
            ScalingPolicy(PolicyType(p["type"]), int(p["value"]), int(p["periodSeconds"]))
            for p in rules["policies"]
        )
        merged = replace(merged, policies=policies)
    if rules.get("selectPolicy") is not None:
        merged = replace(merged, select_policy=SelectPolicy(rules["selectPolicy"]))
    if rules.get("stabilizationWindowSeconds") is not None:
        window = int(rules["stabilizationWindowSeconds"])
        merged = replace(merged, stabilization_window_seconds=window)
    if rules.get("tolerance") is not None:
        merged = replace(merged, tolerance=float(rules["tolerance"]))
    return merged


@dataclass(frozen=True)
class HPASpec:
    """The parts of ``HorizontalPodAutoscalerSpec`` a CPU-utilization HPA uses."""

    min_replicas: int
    max_replicas: int
    target_utilization: int
    """``metrics[].resource.target.averageUtilization`` for ``cpu``, in percent of requests."""
    behavior: Behavior | None = None

    def __post_init__(self) -> None:
        if not 0 < self.min_replicas <= self.max_replicas:
            raise ValueError(f"need 0 < minReplicas <= maxReplicas, got {self}")
        if self.target_utilization <= 0:
            raise ValueError("averageUtilization must be > 0")


@dataclass(frozen=True)
class Tolerance:
    """Scale-up and scale-down tolerances around a usage ratio of 1.0."""

    scale_up: float = DEFAULT_TOLERANCE
    scale_down: float = DEFAULT_TOLERANCE

    def is_within(self, usage_ratio: float) -> bool:
        return (1.0 - self.scale_down) <= usage_ratio <= (1.0 + self.scale_up)


def utilization_percent(usage_millicores: int, request_millicores: int) -> int:
    """Average utilization as the metrics client computes it: a ratio of sums, truncated."""
    if request_millicores <= 0:
        raise ValueError("CPU utilization is undefined without a CPU request")
    return (usage_millicores * 100) // request_millicores


def replicas_for_utilization(
    ready_replicas: int, utilization: int, target_utilization: int, tolerance: Tolerance
) -> int:
    """``GetResourceReplicas`` when every pod is ready and has metrics.

    Returns ``ready_replicas`` unchanged when the usage ratio is within the tolerance.
    """
    usage_ratio = utilization / target_utilization
    if tolerance.is_within(usage_ratio):
        return ready_replicas
    return math.ceil(usage_ratio * ready_replicas)


@dataclass(frozen=True)
class Decision:
    """One sync of the controller."""

    time: float
    current_replicas: int
    utilization: int
    recommended: int
    """What the metric alone asks for (``ceil(current * usage/target)`` or unchanged)."""
    desired: int
    """The new scale after stabilization, policies and min/max."""
    reason: str
    """The ``ScalingLimited``/``AbleToScale`` reason that shaped ``desired``, as the HPA says."""


@dataclass
class _Event:
    time: float
    value: int
    outdated: bool = False


@dataclass
class ScaleEvents:
    """Recent scale-ups and scale-downs: how many replicas each added or removed, and when."""

    up: list[_Event] = field(default_factory=list)
    down: list[_Event] = field(default_factory=list)

    def period_start(self, current: int, period_seconds: int, now: float) -> int:
        """The replica count at the start of the period (``getReplicasChangePerPeriod``)."""
        cutoff = now - period_seconds
        added = sum(e.value for e in self.up if e.time > cutoff)
        removed = sum(e.value for e in self.down if e.time > cutoff)
        return current - added + removed

    def store(self, events: list[_Event], now: float, change: int, longest_period: int) -> None:
        """``storeScaleEvent``: events older than the direction's longest policy period are
        marked outdated and one of them is reused; the rest stay (and still count for a longer
        period of the other direction)."""
        for event in events:
            if event.time < now - longest_period:
                event.outdated = True
        outdated = [i for i, e in enumerate(events) if e.outdated]
        if outdated:
            events[outdated[-1]] = _Event(now, change)
        else:
            events.append(_Event(now, change))


@dataclass
class HorizontalPodAutoscaler:
    """The controller's state for one HPA: recent recommendations and scale events.

    Call :meth:`reconcile` once per sync period with the observed CPU usage.
    """

    spec: HPASpec
    downscale_stabilization_seconds: int = DEFAULT_DOWNSCALE_STABILIZATION_SECONDS
    tolerance: float = DEFAULT_TOLERANCE
    _recommendations: list[_Event] = field(default_factory=list, repr=False)
    _events: ScaleEvents = field(default_factory=ScaleEvents, repr=False)

    @property
    def tolerances(self) -> Tolerance:
        behavior = self.spec.behavior
        up = behavior.scale_up.tolerance if behavior else None
        down = behavior.scale_down.tolerance if behavior else None
        return Tolerance(
            scale_up=self.tolerance if up is None else up,
            scale_down=self.tolerance if down is None else down,
        )

    def reconcile(
        self,
        now: float,
        current_replicas: int,
        usage_millicores: int,
        request_millicores_per_pod: int,
    ) -> Decision:
        """One sync: ``usage_millicores`` is the total CPU use of the ``current_replicas`` pods."""
        spec = self.spec
        utilization = 0
        recommended = current_replicas
        if current_replicas == 0:
            # Replicas set to 0 by hand: the HPA is deactivated until someone scales it up.
            return Decision(now, 0, 0, 0, 0, "ScalingDisabled")
        if current_replicas > spec.max_replicas:
            desired, reason = spec.max_replicas, "TooManyReplicas"
        elif current_replicas < spec.min_replicas:
            desired, reason = spec.min_replicas, "TooFewReplicas"
        else:
            utilization = utilization_percent(
                usage_millicores, request_millicores_per_pod * current_replicas
            )
            recommended = replicas_for_utilization(
                current_replicas, utilization, spec.target_utilization, self.tolerances
            )
            if spec.behavior is None:
                desired, reason = self._normalize_legacy(now, current_replicas, recommended)
            else:
                desired, reason = self._normalize_with_behavior(
                    now, current_replicas, recommended, spec.behavior
                )
        if desired != current_replicas:
            self._store_scale_event(now, current_replicas, desired)
        return Decision(now, current_replicas, utilization, recommended, desired, reason)

    # -- without behavior: stabilizeRecommendation + convertDesiredReplicasWithRules ----------

    def _normalize_legacy(self, now: float, current: int, recommended: int) -> tuple[int, str]:
        cutoff = now - self.downscale_stabilization_seconds
        window = [r.value for r in self._recommendations if r.time >= cutoff]
        self._remember(now, recommended, cutoff)
        stabilized = max([recommended, *window])
        scale_up_limit = int(max(LEGACY_SCALE_UP_FACTOR * current, LEGACY_SCALE_UP_MINIMUM))
        if self.spec.max_replicas > scale_up_limit:
            maximum, limited_reason = scale_up_limit, "ScaleUpLimit"
        else:
            maximum, limited_reason = self.spec.max_replicas, "TooManyReplicas"
        if stabilized < self.spec.min_replicas:
            return self.spec.min_replicas, "TooFewReplicas"
        if stabilized > maximum:
            return maximum, limited_reason
        if stabilized != recommended:
            return stabilized, "ScaleDownStabilized"
        return stabilized, "DesiredWithinRange"

    # -- with behavior: stabilizeRecommendationWithBehaviors, convertDesiredReplicasWithBehaviorRate

    def _normalize_with_behavior(
        self, now: float, current: int, recommended: int, behavior: Behavior
    ) -> tuple[int, str]:
        up_window = behavior.scale_up.stabilization_window_seconds or 0
        down_window = behavior.scale_down.stabilization_window_seconds
        if down_window is None:
            down_window = self.downscale_stabilization_seconds
        # The lowest recommendation of the scale-up window is a floor, the highest of the
        # scale-down window a ceiling; the current count moves only as far as they allow.
        up_recent = [r.value for r in self._recommendations if r.time > now - up_window]
        down_recent = [r.value for r in self._recommendations if r.time > now - down_window]
        floor, ceiling = min([recommended, *up_recent]), max([recommended, *down_recent])
        stabilized = min(max(current, floor), ceiling)
        self._remember(now, recommended, now - max(up_window, down_window))
        stabilized_reason = "ScaleUpStabilized" if recommended >= current else "ScaleDownStabilized"

        spec = self.spec
        if stabilized > current:
            limit = scale_up_limit(current, self._events, behavior.scale_up, now)
            limit = max(limit, current)  # a used-up budget holds, it never scales down
            if spec.max_replicas > limit:
                maximum, reason = limit, "ScaleUpLimit"
            else:
                maximum, reason = spec.max_replicas, "TooManyReplicas"
            if stabilized > maximum:
                return maximum, reason
        elif stabilized < current:
            limit = scale_down_limit(current, self._events, behavior.scale_down, now)
            limit = min(limit, current)
            if spec.min_replicas < limit:
                minimum, reason = limit, "ScaleDownLimit"
            else:
                minimum, reason = spec.min_replicas, "TooFewReplicas"
            if stabilized < minimum:
                return minimum, reason
        if stabilized != recommended:
            return stabilized, stabilized_reason
        return stabilized, "DesiredWithinRange"

    def _remember(self, now: float, recommended: int, obsolete_before: float) -> None:
        # The controller reuses one obsolete slot rather than growing the list; same effect.
        self._recommendations = [r for r in self._recommendations if r.time >= obsolete_before]
        self._recommendations.append(_Event(now, recommended))

    def _store_scale_event(self, now: float, previous: int, new: int) -> None:
        behavior = self.spec.behavior
        if behavior is None:
            return  # the legacy rules keep no scale events
        if new > previous:
            longest = behavior.scale_up.longest_period_seconds
            self._events.store(self._events.up, now, new - previous, longest)
        else:
            longest = behavior.scale_down.longest_period_seconds
            self._events.store(self._events.down, now, previous - new, longest)


def scale_up_limit(current: int, events: ScaleEvents, rules: ScalingRules, now: float) -> int:
    """``calculateScaleUpLimitWithScalingRules``: the most replicas the policies allow now."""
    if rules.select_policy is SelectPolicy.disabled:
        return current
    pick = min if rules.select_policy is SelectPolicy.min else max
    result: int | None = None
    for policy in rules.policies:
        period_start = events.period_start(current, policy.period_seconds, now)
        if policy.type is PolicyType.pods:
            proposed = period_start + policy.value
        else:
            # Rounded up so that a small Percent still adds a pod.
            proposed = math.ceil(period_start * (1 + policy.value / 100))
        result = proposed if result is None else pick(result, proposed)
    return current if result is None else result


def scale_down_limit(current: int, events: ScaleEvents, rules: ScalingRules, now: float) -> int:
    """``calculateScaleDownLimitWithBehaviors``: the fewest replicas the policies allow now."""
    if rules.select_policy is SelectPolicy.disabled:
        return current
    # The policy allowing the biggest change gives the *lowest* floor.
    pick = max if rules.select_policy is SelectPolicy.min else min
    result: int | None = None
    for policy in rules.policies:
        period_start = events.period_start(current, policy.period_seconds, now)
        if policy.type is PolicyType.pods:
            proposed = period_start - policy.value
        else:
            proposed = int(period_start * (1 - policy.value / 100))  # Go's int32() truncates
        result = proposed if result is None else pick(result, proposed)
    return current if result is None else result
