"""The real HPA beside the model, on one time axis, for docs/autoscaling.md.

    .venv/bin/python -m bench.autoscaling_cluster [TIMELINE] [--out PNG]

Reads the timeline tests/cluster/hpa_experiment.py records on the local cluster
(.local/cluster/autoscaling-timeline.json: the HPA's current and desired replicas and the CPU
utilization it saw, every 2 s) and replays that utilization through `platformctl capacity`'s
port of the controller (platformctl.capacity.hpa), one sync every 15 s, with the chart's
behavior. The picture shows where the two part: the port acts on the utilization as soon as it
is sampled, the real controller on metrics-server's 15 s windows and its own sync phase, and
new pods count only once they start.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import yaml
from platformctl.capacity.chart import parse_cpu_millicores
from platformctl.capacity.hpa import (
    DEFAULT_SYNC_PERIOD_SECONDS,
    Behavior,
    HorizontalPodAutoscaler,
    HPASpec,
)

from bench.stack import REPO_ROOT

TIMELINE = REPO_ROOT / ".local" / "cluster" / "autoscaling-timeline.json"
OUT = REPO_ROOT / "docs" / "images" / "autoscaling-cluster-timeline.png"
CHART_VALUES = REPO_ROOT / "charts" / "platform" / "charts" / "orders" / "values.yaml"
# The local environment's sizing, which the experiment turns into HPAs.
_LOCAL_SIZE = yaml.safe_load((REPO_ROOT / "environments" / "local.yaml").read_text())["size"]
REQUEST_MILLICORES = parse_cpu_millicores(_LOCAL_SIZE["resources"]["requests"]["cpu"])
MIN_REPLICAS = _LOCAL_SIZE["autoscaling"]["minReplicas"]
MAX_REPLICAS = _LOCAL_SIZE["autoscaling"]["maxReplicas"]
TARGET = _LOCAL_SIZE["autoscaling"]["targetCPUUtilizationPercentage"]


def replay(timeline: dict[str, Any]) -> list[tuple[float, int]]:
    """The port's desired replicas at each sync, fed the utilization the controller reported."""
    behavior = yaml.safe_load(CHART_VALUES.read_text())["autoscalingBehavior"]
    behavior["scaleDown"]["stabilizationWindowSeconds"] = timeline["scale_down_window"]
    hpa = HorizontalPodAutoscaler(
        HPASpec(MIN_REPLICAS, MAX_REPLICAS, TARGET, Behavior.from_manifest(behavior))
    )
    samples = [s for s in timeline["samples"] if s["utilization"] is not None]
    decisions, replicas, next_sync = [], MIN_REPLICAS, samples[0]["t"]
    for sample in samples:
        if sample["t"] < next_sync:
            continue
        usage = sample["utilization"] * REQUEST_MILLICORES * (sample["current"] or replicas) // 100
        replicas = hpa.reconcile(sample["t"], replicas, usage, REQUEST_MILLICORES).desired
        decisions.append((sample["t"], replicas))
        next_sync = sample["t"] + DEFAULT_SYNC_PERIOD_SECONDS
    return decisions


def plot(timeline: dict[str, Any], path: Path) -> None:
    samples = [s for s in timeline["samples"] if s["current"]]
    times = [s["t"] for s in samples]
    fig, replicas_axis = plt.subplots(figsize=(10, 4.8))
    load_start, load_end = timeline["load"]
    replicas_axis.axvspan(load_start, load_end, color="#f2f2f2", label=f"k6: {timeline['rate']}/s")
    replicas_axis.step(times, [s["current"] for s in samples], where="post", color="#4c72b0",
                       linewidth=2.5, label="current replicas (controller)")  # fmt: skip
    replicas_axis.step(times, [s["desired"] for s in samples], where="post", color="#4c72b0",
                       linestyle="--", label="desired replicas (controller)")  # fmt: skip
    port = replay(timeline)
    replicas_axis.step([t for t, _ in port], [r for _, r in port], where="post", color="#dd8452",
                       linestyle=":", linewidth=2, label="desired (the model's port)")  # fmt: skip
    replicas_axis.set_ylim(0, MAX_REPLICAS + 1)
    replicas_axis.set_ylabel("replicas")
    replicas_axis.set_xlabel("seconds since the HPAs were switched on")
    utilization_axis = replicas_axis.twinx()
    utilization_axis.plot(times, [s["utilization"] for s in samples], color="#55a868",
                          label="CPU utilization the HPA saw (%)")  # fmt: skip
    utilization_axis.axhline(TARGET, color="#55a868", linestyle="--", linewidth=0.8)
    utilization_axis.set_ylabel("CPU utilization of requests (%)")
    utilization_axis.set_ylim(0, max(150, max(s["utilization"] or 0 for s in samples) + 10))
    handles = replicas_axis.get_legend_handles_labels()
    more = utilization_axis.get_legend_handles_labels()
    replicas_axis.legend(handles[0] + more[0], handles[1] + more[1], loc="upper left", fontsize=8)
    replicas_axis.set_title(
        f"{timeline['hpa']} on the local cluster: CPU load, scale-out, then scale-in after a "
        f"{timeline['scale_down_window']} s window"
    )
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("timeline", nargs="?", type=Path, default=TIMELINE)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    if not args.timeline.exists():
        print(f"error: no timeline at {args.timeline}: run the cluster tier first "
              "(pytest tests/cluster/test_autoscaling.py)", file=sys.stderr)  # fmt: skip
        return 1
    plot(json.loads(args.timeline.read_text()), args.out)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
