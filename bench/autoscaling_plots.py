"""Plots and tables for docs/autoscaling.md, from the measured profiles and the chart.

    .venv/bin/python -m bench.autoscaling_plots

Reads ``docs/data/autoscaling-measurements.json`` (written by ``bench.cpu_per_request``) and
the environments, runs the HPA predictor, and writes ``docs/images/autoscaling-*.png`` plus
``docs/data/autoscaling-predictions.md`` (the tables the doc quotes). Pure computation: seconds.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from platformctl.capacity.chart import SERVICES, load_environment
from platformctl.capacity.hpa import HorizontalPodAutoscaler
from platformctl.capacity.model import (
    load_profiles,
    pod_usage,
    predict,
    predict_environment,
)

from bench.cpu_per_request import MEASUREMENTS_FILE
from bench.stack import REPO_ROOT

IMAGES = REPO_ROOT / "docs" / "images"
TABLES = REPO_ROOT / "docs" / "data" / "autoscaling-predictions.md"
ENVIRONMENTS = ("dev", "staging", "prod", "kind")
RATES = [0, 10, 25, 50, 75, 100, 150, 200, 300, 400, 500, 750, 1000]
TABLE_RATES = (10, 50, 100, 200, 500)
COLORS = {"auth": "#4c72b0", "orders": "#dd8452", "payments": "#55a868", "notifications": "#8172b3"}


def plot_replicas(path: Path) -> None:
    """Live-color replicas against the edge rate, per service, one panel per environment."""
    profiles = load_profiles()
    fig, axes = plt.subplots(2, 2, figsize=(11, 8), sharex=True)
    for ax, environment in zip(axes.flat, ENVIRONMENTS, strict=True):
        configs = [c for c in load_environment(REPO_ROOT, environment) if c.live]
        for config in configs:
            points = [predict(config, profiles[config.service], rps) for rps in RATES]
            ax.plot(
                RATES,
                [p.replicas for p in points],
                marker="o",
                markersize=3,
                label=config.service,
                color=COLORS[config.service],
            )
            saturated = [(r, p.replicas) for r, p in zip(RATES, points, strict=True) if p.saturated]
            if saturated:
                ax.scatter(*zip(*saturated, strict=True), marker="x", s=60, color="red", zorder=3)
        sample = configs[0]
        mode = (
            f"HPA {sample.hpa.min_replicas}-{sample.hpa.max_replicas} at "
            f"{sample.hpa.target_utilization}% of {sample.cpu_request_millicores}m"
            if sample.hpa
            else f"fixed {sample.replicas} pod(s), {sample.cpu_request_millicores}m requested"
        )
        ax.set_title(f"{environment}: {mode}", fontsize=10)
        ax.set_ylabel("live-color replicas")
        ax.grid(alpha=0.3)
    for ax in axes[1]:
        ax.set_xlabel("requests/s into the orders API (k6 mix)")
    axes[0][0].legend(loc="upper left", fontsize=8)
    fig.suptitle("Predicted replicas per service (red x: CPU-saturated, requests queue)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_orders_cpu_latency(measurements: dict[str, Any], path: Path) -> None:
    """Orders' CPU against its p99, with payments healthy and slowed down."""
    sweep = measurements["orders_sweep"]
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.5))
    for fault, style in ((0, "o-"), (measurements["plan"]["payments_fault_ms"], "s--")):
        points = [p for p in sweep if p["payments_fault_ms"] == fault]
        label = "payments healthy" if fault == 0 else f"payments +{fault} ms"
        cpu = [p["orders_cpu_millicores"] for p in points]
        (line,) = left.plot(cpu, [p["p50_ms"] for p in points], style, label=f"p50, {label}")
        left.plot(
            cpu,
            [p["p99_ms"] for p in points],
            style[0] + ":",
            color=line.get_color(),
            alpha=0.5,
            label=f"p99, {label}",
        )
        for p in points:
            left.annotate(f"{p['rate']}/s", (p["orders_cpu_millicores"], p["p50_ms"]), fontsize=7)
        right.plot([p["achieved_rps"] for p in points], cpu, style, label=f"CPU, {label}")
        twin = right.twinx() if fault == 0 else right.figure.axes[-1]
        twin.plot(
            [p["achieved_rps"] for p in points],
            [p["orders_in_flight"] for p in points],
            style,
            color="gray",
            alpha=0.7,
            label=f"in flight, {label}",
        )
        twin.set_ylabel("orders requests in flight (avg)")
    left.set_yscale("log")
    left.set_xlabel("orders CPU (millicores, whole process)")
    left.set_ylabel("POST /v1/orders latency (ms, log)")
    left.set_title("Same CPU, very different latency")
    left.grid(alpha=0.3)
    left.legend(fontsize=8)
    right.set_xlabel("orders achieved requests/s")
    right.set_ylabel("orders CPU (millicores)")
    right.set_title("CPU follows the rate; in-flight follows latency")
    right.grid(alpha=0.3)
    right.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_hpa_step(path: Path, environment: str = "prod", service: str = "orders") -> None:
    """The controller over time for a load step up and back down: policies and stabilization."""
    profile = load_profiles()[service]
    config = next(
        c for c in load_environment(REPO_ROOT, environment) if c.service == service and c.live
    )
    assert config.hpa is not None
    hpa = HorizontalPodAutoscaler(config.hpa)

    def load_at(t: int) -> float:
        return 600.0 if 60 <= t < 420 else 50.0

    replicas, times, counts, wanted, rates = config.hpa.min_replicas, [], [], [], []
    for t in range(0, 1200, 15):
        usage, _ = pod_usage(
            profile.cpu_millicores(load_at(t)),
            profile.idle_millicores,
            replicas,
            config.pod_cpu_ceiling_millicores,
        )
        decision = hpa.reconcile(t, replicas, usage, config.cpu_request_millicores)
        times.append(t)
        counts.append(decision.desired)
        wanted.append(decision.recommended)
        rates.append(load_at(t))
        replicas = decision.desired
    fig, ax = plt.subplots(figsize=(10, 4))
    ax.step(times, counts, where="post", label="replicas (HPA decision)", linewidth=2)
    ax.step(times, wanted, where="post", label="metric's recommendation", linestyle="--")
    ax.axhline(config.hpa.max_replicas, color="red", linewidth=0.8, label="maxReplicas")
    ax.set_xlabel("seconds (HPA syncs every 15 s)")
    ax.set_ylabel("replicas")
    twin = ax.twinx()
    twin.fill_between(times, rates, step="post", alpha=0.1, color="gray")
    twin.set_ylabel("requests/s into orders")
    ax.set_title(
        f"{service} in {environment}: 50 -> 600 -> 50 requests/s "
        "(scale-up policy paces the climb; 300 s window holds the peak)"
    )
    ax.legend(loc="upper right", fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def prediction_tables() -> str:
    profiles = load_profiles()
    out = []
    for environment in ENVIRONMENTS:
        configs = [c for c in load_environment(REPO_ROOT, environment)]
        header = "| service | " + " | ".join(f"{r}/s" for r in TABLE_RATES) + " | idle color |"
        out += [f"**{environment}**", "", header, "|---" * (len(TABLE_RATES) + 2) + "|"]
        for service in SERVICES:
            cells = []
            for rps in TABLE_RATES:
                live = next(
                    p
                    for p in predict_environment(configs, profiles, rps)
                    if p.service == service and p.live
                )
                mark = " (sat.)" if live.saturated else ""
                cells.append(f"{live.replicas} @ {live.utilization}%{mark}")
            idle = next(
                p
                for p in predict_environment(configs, profiles, 0)
                if p.service == service and not p.live
            )
            out.append(f"| {service} | " + " | ".join(cells) + f" | {idle.replicas} |")
        out.append("")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--measurements", type=Path, default=MEASUREMENTS_FILE)
    args = parser.parse_args(argv)
    measurements = json.loads(args.measurements.read_text())
    IMAGES.mkdir(parents=True, exist_ok=True)
    plot_replicas(IMAGES / "autoscaling-replicas.png")
    plot_orders_cpu_latency(measurements, IMAGES / "autoscaling-orders-cpu-latency.png")
    plot_hpa_step(IMAGES / "autoscaling-hpa-step.png")
    TABLES.parent.mkdir(parents=True, exist_ok=True)
    TABLES.write_text(prediction_tables())
    print(f"wrote {IMAGES}/autoscaling-*.png and {TABLES}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
