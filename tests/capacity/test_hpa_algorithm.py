"""The HPA module against the worked examples of the Kubernetes documentation.

Sources (kubernetes/website, content/en/docs/...):
- HPA concept page, concepts/workloads/autoscaling/horizontal-pod-autoscale.md
  (https://kubernetes.io/docs/concepts/workloads/autoscaling/horizontal-pod-autoscale/)
- HPA walkthrough, tasks/run-application/horizontal-pod-autoscale-walkthrough.md
  (https://kubernetes.io/docs/tasks/run-application/horizontal-pod-autoscale-walkthrough/)
Where the docs leave an edge open, the expected values follow the controller source
(pkg/controller/podautoscaler/horizontal.go and replica_calculator.go).
"""

from __future__ import annotations

import itertools

import pytest
from platformctl.capacity.hpa import (
    DEFAULT_SCALE_DOWN,
    DEFAULT_SCALE_UP,
    Behavior,
    HorizontalPodAutoscaler,
    HPASpec,
    PolicyType,
    ScalingPolicy,
    SelectPolicy,
    Tolerance,
    replicas_for_utilization,
    utilization_percent,
)

SYNC = 15  # --horizontal-pod-autoscaler-sync-period


def run(hpa: HorizontalPodAutoscaler, replicas: int, usage: int, request: int, seconds: int):
    """Sync every 15 s for ``seconds`` at a constant total usage; return the replica history."""
    history = [replicas]
    for now in range(0, seconds, SYNC):
        replicas = hpa.reconcile(now, replicas, usage, request).desired
        history.append(replicas)
    return history


def steps(history: list[int]) -> list[int]:
    """The distinct replica counts in order (drops the syncs that changed nothing)."""
    out = [history[0]]
    for n in history[1:]:
        if n != out[-1]:
            out.append(n)
    return out


# -- Algorithm details -------------------------------------------------------------------------


def test_ratio_doubles_and_halves_replicas():
    """Docs, "Algorithm details": "if the current metric value is `200m`, and the desired value
    is `100m`, the number of replicas will be doubled ... If the current value is instead `50m`,
    you'll halve the number of replicas"."""
    assert replicas_for_utilization(4, 200, 100, Tolerance()) == 8
    assert replicas_for_utilization(4, 50, 100, Tolerance()) == 2


def test_utilization_is_a_truncated_ratio_of_sums():
    """The controller averages as Σusage*100 // Σrequests (metrics/utilization.go), so 100m used
    of 300m requested is 33 %, not 33.3 %."""
    assert utilization_percent(100, 300) == 33
    assert utilization_percent(610, 800) == 76
    with pytest.raises(ValueError):
        utilization_percent(100, 0)


# -- Tolerance ---------------------------------------------------------------------------------


def test_default_tolerance_skips_ratios_within_ten_percent():
    """Docs: "The control plane skips any scaling action if the ratio is sufficiently close to
    1.0 (within a configurable tolerance, 0.1 by default)." Target 50 %: 45..55 % keep 10 pods."""
    tol = Tolerance()
    for utilization in (45, 50, 55):
        assert replicas_for_utilization(10, utilization, 50, tol) == 10
    assert replicas_for_utilization(10, 56, 50, tol) == 12  # ceil(10 * 1.12)
    assert replicas_for_utilization(10, 44, 50, tol) == 9  # ceil(10 * 0.88)


def test_scale_up_tolerance_from_behavior():
    """Docs, "Tolerance": a target of 100MiB "and a scale-up tolerance of 5%" (behavior.scaleUp
    .tolerance: 0.05) "will only consider scaling up if the memory consumption is higher than
    105MiB". The scale-down side keeps the 10 % default."""
    behavior = Behavior.from_manifest({"scaleUp": {"tolerance": 0.05}})
    hpa = HorizontalPodAutoscaler(HPASpec(1, 10, 100, behavior))
    assert hpa.tolerances == Tolerance(scale_up=0.05, scale_down=0.1)
    request = 1000
    assert hpa.reconcile(0, 2, 2 * 1050, request).desired == 2  # 105 %: not above
    assert hpa.reconcile(15, 2, 2 * 1060, request).desired == 3  # 106 %: ceil(2 * 1.06)
    assert replicas_for_utilization(2, 91, 100, hpa.tolerances) == 2  # 91 %: within 10 %


# -- Walkthrough: php-apache, 305 % of a 50 % target --------------------------------------------


def test_walkthrough_reaches_seven_replicas_capped_per_sync():
    """Walkthrough, "Increase load": `php-apache 305% / 50% 1 10 1` then "CPU consumption has
    increased to 305% of the request. As a result, the deployment was resized to 7 replicas".
    The pod requests `cpu: 200m`, so one pod uses 610m. The metric alone asks for
    ceil(1 * 305/50) = 7, but `kubectl autoscale` creates no `behavior`, so one sync may add at
    most max(2 * current, 4): 1 → 4, then the same 610m over 4 pods is 76 % → ceil(4 * 1.52) = 7.
    """
    hpa = HorizontalPodAutoscaler(HPASpec(min_replicas=1, max_replicas=10, target_utilization=50))
    first = hpa.reconcile(0, 1, 610, 200)
    assert (first.utilization, first.recommended, first.desired) == (305, 7, 4)
    assert first.reason == "ScaleUpLimit"
    second = hpa.reconcile(15, 4, 610, 200)
    assert (second.utilization, second.desired) == (76, 7)
    assert run(hpa, 7, 610, 200, 120)[-1] == 7  # 43 % of 7 pods is within tolerance


def test_walkthrough_with_default_behavior_is_capped_by_the_pods_policy():
    """Docs, "Default behavior": "There are 2 policies where 4 pods or a 100% of the currently
    running replicas may at most be added every 15 seconds". From 1 pod: max(1 + 4, 2) = 5, then
    610m over 5 pods is 61 % → ceil(5 * 1.22) = 7, the walkthrough's count."""
    hpa = HorizontalPodAutoscaler(HPASpec(1, 10, 50, Behavior()))
    first = hpa.reconcile(0, 1, 610, 200)
    assert (first.desired, first.reason) == (5, "ScaleUpLimit")
    assert hpa.reconcile(15, 5, 610, 200).desired == 7


def test_default_behavior_matches_the_documented_yaml():
    """Docs, "Default behavior" YAML: scaleDown window 300 s with Percent 100/15 s; scaleUp
    window 0 with Percent 100/15 s and Pods 4/15 s, selectPolicy Max."""
    assert Behavior.from_manifest({}) == Behavior(DEFAULT_SCALE_UP, DEFAULT_SCALE_DOWN)
    assert DEFAULT_SCALE_UP.stabilization_window_seconds == 0
    assert DEFAULT_SCALE_UP.select_policy is SelectPolicy.max
    assert set(DEFAULT_SCALE_UP.policies) == {
        ScalingPolicy(PolicyType.percent, 100, 15),
        ScalingPolicy(PolicyType.pods, 4, 15),
    }
    assert DEFAULT_SCALE_DOWN.policies == (ScalingPolicy(PolicyType.percent, 100, 15),)
    assert HorizontalPodAutoscaler(HPASpec(1, 5, 50)).downscale_stabilization_seconds == 300


def test_scale_up_capped_by_policy_period():
    """Docs, "Scaling policies": "`periodSeconds` indicates the length of time in the past for
    which the policy must hold true." With Pods 4 per 60 s, a burst that wants 20 pods gets
    4 more per minute, not per sync."""
    behavior = Behavior.from_manifest(
        {"scaleUp": {"policies": [{"type": "Pods", "value": 4, "periodSeconds": 60}]}}
    )
    hpa = HorizontalPodAutoscaler(HPASpec(2, 20, 50, behavior))
    usage = 20 * 500  # 20 pods' worth at the 50 % target of a 1000m request
    history = run(hpa, 2, usage, 1000, 300)
    # One step per minute: the step at t=0 still counts at t=45 and drops out at t=60.
    assert history[:6] == [2, 6, 6, 6, 6, 10]
    # At 18 pods the 10 cores are 55 % of requests: within the tolerance, so it stops short of 20.
    assert steps(history) == [2, 6, 10, 14, 18]


# -- Scale-down policies and selectPolicy -------------------------------------------------------


def test_scale_down_policies_example_80_to_10():
    """Docs, "Scaling policies" (Pods 4/60 s, Percent 10/60 s): "if there are 80 replicas and the
    target has to be scaled down to 10 replicas then during the first step 8 replicas will be
    reduced. In the next iteration when the number of replicas is 72, 10% of the pods is 7.2 but
    the number is rounded up to 8. ... When the number of replicas falls below 40 the first policy
    (Pods) is applied and 4 replicas will be reduced at a time." The window is set to 0 here to
    show the policies alone."""
    behavior = Behavior.from_manifest(
        {
            "scaleDown": {
                "stabilizationWindowSeconds": 0,
                "policies": [
                    {"type": "Pods", "value": 4, "periodSeconds": 60},
                    {"type": "Percent", "value": 10, "periodSeconds": 60},
                ],
            }
        }
    )
    hpa = HorizontalPodAutoscaler(HPASpec(1, 100, 50, behavior))
    usage = 10 * 500  # load for 10 pods at target
    history = steps(run(hpa, 80, usage, 1000, 60 * 30))
    assert history[:3] == [80, 72, 64]
    below_40 = [(a, a - b) for a, b in itertools.pairwise(history) if a <= 40 and b > 10]
    assert below_40 and all(removed == 4 for _, removed in below_40)
    assert history[-1] == 10


def test_select_policy_min_limits_scale_down_to_five_pods_per_minute():
    """Docs, "Example: limit scale down rate": Percent 10/60 s and Pods 5/60 s with
    `selectPolicy: Min` so "that no more than 5 Pods are removed per minute"."""
    behavior = Behavior.from_manifest(
        {
            "scaleDown": {
                "stabilizationWindowSeconds": 0,
                "policies": [
                    {"type": "Percent", "value": 10, "periodSeconds": 60},
                    {"type": "Pods", "value": 5, "periodSeconds": 60},
                ],
                "selectPolicy": "Min",
            }
        }
    )
    hpa = HorizontalPodAutoscaler(HPASpec(1, 100, 50, behavior))
    history = steps(run(hpa, 100, 10 * 500, 1000, 60 * 4))
    # Min picks the smaller change: 5 pods (Percent would allow 10) ... and below 50 pods, 10 %.
    assert history == [100, 95, 90, 85, 80]
    assert steps(run(HorizontalPodAutoscaler(hpa.spec), 40, 10 * 500, 1000, 60))[:2] == [40, 36]


def test_select_policy_disabled_never_scales_down():
    """Docs, "Example: disable scale down": "The `selectPolicy` value of `Disabled` turns off
    scaling the given direction"."""
    behavior = Behavior.from_manifest({"scaleDown": {"selectPolicy": "Disabled"}})
    hpa = HorizontalPodAutoscaler(HPASpec(1, 10, 50, behavior))
    assert set(run(hpa, 8, 100, 1000, 900)) == {8}
    assert hpa.reconcile(900, 8, 8 * 1000, 1000).desired == 10  # scaling up still works, to max


# -- Stabilization window ----------------------------------------------------------------------


def test_default_stabilization_window_holds_the_highest_recommendation_for_300_s():
    """Docs, "Stabilization window": "When the metrics indicate that the target should be scaled
    down the algorithm looks into previously computed desired states, and uses the highest value
    from the specified interval. In the above example, all desired states from the past 5 minutes
    will be considered." Load drops at t=0 after a recommendation of 6: nothing moves until the
    6 is older than 300 s, then the default 100 % policy goes straight to the recommendation."""
    hpa = HorizontalPodAutoscaler(HPASpec(1, 10, 50, Behavior()))
    assert hpa.reconcile(-15, 6, 6 * 500, 1000).desired == 6
    replicas = 6
    for now in range(0, 285, SYNC):
        decision = hpa.reconcile(now, replicas, 1 * 500, 1000)
        assert decision.recommended == 1
        assert (decision.desired, decision.reason) == (6, "ScaleDownStabilized"), now
    # At t=285 the t=-15 recommendation is 300 s old, no longer inside the window.
    assert hpa.reconcile(285, 6, 500, 1000).desired == 1


def test_stabilization_window_smooths_a_flapping_metric():
    """Docs: the window "approximates a rolling maximum, and avoids having the scaling algorithm
    frequently remove Pods only to trigger recreating an equivalent Pod just moments later". A
    load alternating between 4 and 2 pods' worth every sync keeps 4 pods, without the window it
    flaps."""
    flapping = [4 * 500, 2 * 500] * 20

    def trace(behavior: Behavior) -> list[int]:
        hpa = HorizontalPodAutoscaler(HPASpec(1, 10, 50, behavior))
        replicas, out = 4, []
        for i, usage in enumerate(flapping):
            replicas = hpa.reconcile(i * SYNC, replicas, usage, 1000).desired
            out.append(replicas)
        return out

    assert set(trace(Behavior())) == {4}
    no_window = Behavior.from_manifest({"scaleDown": {"stabilizationWindowSeconds": 0}})
    assert len(set(trace(no_window))) > 1


def test_custom_downscale_window_of_one_minute():
    """Docs, "Example: change downscale stabilization window": `stabilizationWindowSeconds: 60`."""
    behavior = Behavior.from_manifest({"scaleDown": {"stabilizationWindowSeconds": 60}})
    hpa = HorizontalPodAutoscaler(HPASpec(1, 10, 50, behavior))
    hpa.reconcile(0, 6, 6 * 500, 1000)
    assert hpa.reconcile(45, 6, 500, 1000).desired == 6
    assert hpa.reconcile(60, 6, 500, 1000).desired == 1  # t=0 is no longer *after* now - 60


def test_legacy_downscale_stabilization_without_behavior():
    """Algorithm details: "The controller considers all recommendations within a configurable
    window choosing the highest recommendation from within that window ...
    `--horizontal-pod-autoscaler-downscale-stabilization` ... defaults to 5 minutes"."""
    hpa = HorizontalPodAutoscaler(HPASpec(1, 10, 50))
    hpa.reconcile(0, 6, 6 * 500, 1000)
    assert hpa.reconcile(300, 6, 500, 1000).desired == 6  # still inside: Before(cutoff) is false
    assert hpa.reconcile(315, 6, 500, 1000).desired == 1


# -- min / max ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("current", "usage", "expected", "reason"),
    [
        (3, 3 * 2000, 5, "TooManyReplicas"),  # wants 12, max 5
        (3, 10, 2, "TooFewReplicas"),  # wants 1, min 2
        (7, 7 * 500, 5, "TooManyReplicas"),  # above max: back to max whatever the metric
        (1, 0, 2, "TooFewReplicas"),  # below min: up to min whatever the metric
    ],
)
def test_min_max_clamp(current, usage, expected, reason):
    """`kubectl autoscale ... --min=2 --max=5` keeps the count between 2 and 5 (docs, "Support
    for HorizontalPodAutoscaler in kubectl"); the reasons are the HPA's ScalingLimited reasons."""
    behavior = Behavior.from_manifest({"scaleDown": {"stabilizationWindowSeconds": 0}})
    hpa = HorizontalPodAutoscaler(HPASpec(2, 5, 50, behavior))
    decision = hpa.reconcile(0, current, usage, 1000)
    assert (decision.desired, decision.reason) == (expected, reason)


def test_zero_replicas_deactivates_the_hpa():
    """Docs, "Implicit maintenance-mode deactivation": with the target at 0 replicas and
    minReplicas > 0 "the HPA stops adjusting the target"."""
    hpa = HorizontalPodAutoscaler(HPASpec(2, 5, 50, Behavior()))
    assert hpa.reconcile(0, 0, 0, 1000).desired == 0


def test_invalid_specs_are_refused():
    with pytest.raises(ValueError):
        HPASpec(0, 5, 50)
    with pytest.raises(ValueError):
        HPASpec(3, 2, 50)
    with pytest.raises(ValueError):
        ScalingPolicy(PolicyType.pods, 4, 1801)  # "The maximum value ... is 1800"


# -- Details the docs leave to the controller source (horizontal.go) -------------------------


def test_scale_up_window_takes_the_lowest_recent_recommendation():
    """`stabilizeRecommendationWithBehaviors`: the lowest recommendation of the scale-up window is
    a floor for the new count, so a one-sync spike does not add pods with a 60 s up window."""
    behavior = Behavior.from_manifest({"scaleUp": {"stabilizationWindowSeconds": 60}})
    hpa = HorizontalPodAutoscaler(HPASpec(1, 20, 50, behavior))
    assert hpa.reconcile(0, 4, 4 * 500, 1000).desired == 4
    spike = hpa.reconcile(15, 4, 8 * 500, 1000)
    assert (spike.recommended, spike.desired, spike.reason) == (8, 4, "ScaleUpStabilized")
    for now in (30, 45):
        assert hpa.reconcile(now, 4, 8 * 500, 1000).desired == 4
    # At t=60 the t=0 recommendation (4) has left the window: every recent one says 8.
    assert hpa.reconcile(60, 4, 8 * 500, 1000).desired == 8


def test_stabilization_never_moves_against_the_metric():
    """The window's highest recommendation only caps a scale-down: with a recent 8 in the window
    (held back by a Pods 1/60 s policy) and the load gone, the count stays, it does not climb."""
    behavior = Behavior.from_manifest(
        {"scaleUp": {"policies": [{"type": "Pods", "value": 1, "periodSeconds": 60}]}}
    )
    hpa = HorizontalPodAutoscaler(HPASpec(1, 10, 50, behavior))
    assert hpa.reconcile(0, 2, 8 * 500, 1000).desired == 3  # wants 8, policy allows +1
    quiet = hpa.reconcile(15, 3, 100, 1000)
    assert (quiet.recommended, quiet.desired, quiet.reason) == (1, 3, "ScaleDownStabilized")


def test_policy_periods_count_both_directions():
    """`calculateScaleDownLimitWithBehaviors`: the period starts at
    current - added + removed, so pods added inside the period can be removed again at once."""
    behavior = Behavior.from_manifest(
        {
            "scaleUp": {"policies": [{"type": "Pods", "value": 4, "periodSeconds": 60}]},
            "scaleDown": {
                "stabilizationWindowSeconds": 0,
                "policies": [{"type": "Pods", "value": 2, "periodSeconds": 60}],
            },
        }
    )
    hpa = HorizontalPodAutoscaler(HPASpec(1, 20, 50, behavior))
    assert hpa.reconcile(0, 6, 20 * 500, 1000).desired == 10  # +4
    # The period started at 6 (10 - 4 added), and 2 may go: down to 4, not 8.
    assert hpa.reconcile(15, 10, 500, 1000).desired == 4
