"""The HPAs on the real cluster, reading real CPU from metrics-server: CPU-bound load on one
color scales it out with no failed request, and back in once the scale-down window has passed
(tests/cluster/hpa_experiment.py runs the experiment)."""

from __future__ import annotations

import pytest

from tests.cluster.hpa_experiment import MIN_REPLICAS, Experiment

pytestmark = pytest.mark.timeout(600)  # the experiment takes minutes


def test_cpu_load_scales_one_color_out(cpu_load_experiment: Experiment) -> None:
    run = cpu_load_experiment
    assert run.k6_exit_code == 0, run.k6_output[-3000:]
    assert run.failed_rate == 0 and run.requests > 0
    load_started, load_ended = run.load
    assert load_started < run.scaled_out_at < load_ended
    during_load = [s for s in run.samples if load_started <= s["t"] <= load_ended]
    assert max(s["current"] for s in during_load) > MIN_REPLICAS
    # What the controller saw: over its 70 % target while it scaled out.
    assert max(s["utilization"] or 0 for s in during_load) > 70


def test_the_color_scales_back_in_after_the_window(cpu_load_experiment: Experiment) -> None:
    run = cpu_load_experiment
    _, load_ended = run.load
    # The controller keeps the highest recommendation of its window: once the load is gone it
    # holds the replicas while the utilization alone would ask for fewer (below the 70 % target
    # by more than the 10 % tolerance)...
    held = [
        s
        for s in run.samples
        if load_ended < s["t"] < run.scaled_in_at
        and s["desired"] == s["current"] > MIN_REPLICAS
        and (s["utilization"] or 100) < 63
    ]
    assert held, run.samples
    # ...and scales in about the window after the load (metrics lag it; samples are 2 s apart).
    assert run.scaled_in_at - load_ended >= run.scale_down_window - 5
    assert run.samples[-1]["desired"] == MIN_REPLICAS
