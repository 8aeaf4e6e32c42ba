"""A slow dependency on the real cluster, with the HPAs on: the same order rate is offered with
payments healthy, then with payments promoted to a release that adds 300 ms to every request
(its own fault switch). orders' CPU, and with it the utilization its HPA sees, stays where it
was, while every order takes the added delay longer: orders' CPU HPA does not scale, and rightly
so (more orders pods would only queue more calls at payments). docs/autoscaling.md §7.

Slow (about 4 minutes): `make test-slow`. The short real HPA run in `make test` is
tests/cluster/test_autoscaling.py.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import time
from pathlib import Path

import pytest
from localcluster import access
from platformctl.kubernetes.envfile import replace_scalar

from tests.cluster.hpa_experiment import MIN_REPLICAS, autoscaled, hpa_status
from tests.cluster.kube import ENV_FILE, REPO_ROOT, helmfile_apply, service_address
from tests.support.progress import say
from tests.support.tools import tool

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]

ORDERS_HPA = "orders-blue"  # orders stays live on blue; only payments changes
# 1 order/s keeps orders' utilization near 50 % of its 25m request (about 15 ms of CPU per order
# in the container, 5m idle per pod): under the 70 % target with payments healthy.
RATE, PHASE_SECONDS, ADDED_MS = 1, 60, 300
RESULTS = REPO_ROOT / ".local" / "cluster" / "slow-dependency.json"


def with_slow_payments(text: str) -> str:
    """payments' green release with ADDED_MS on every request, and payments live on green."""
    start = text.index("\n  payments:\n")
    line = '    green: {version: "dev", replicas: ""}'
    green = text.index(line, start)
    text = (
        text[:green]
        + f'    green: {{version: "dev", replicas: "", faults: {{latencyMs: {ADDED_MS}}}}}'
        + text[green + len(line) :]
    )
    return replace_scalar(text, ["services", "payments", "activeColor"], "green")


def offer_orders(env: dict[str, str], workdir: Path, name: str) -> dict:
    """RATE orders/s for PHASE_SECONDS through the live Services; the HPA sampled meanwhile."""
    urls = []
    for service in ("auth", "orders"):
        urls += ["-e", f"{service.upper()}_URL=http://{service_address(env, service)}"]
    summary = workdir / f"{name}.json"
    password = (access.SECRETS_DIR / "dev_alice_password").read_text().strip()
    load = subprocess.Popen(
        [
            tool("k6"), "run", "--quiet", "--no-usage-report", *urls,
            "-e", f"RATE={RATE}", "-e", f"DURATION={PHASE_SECONDS}s", "-e", f"PASSWORD={password}",
            "-e", f"SUMMARY_FILE={workdir / f'{name}-full.json'}", "--summary-export", str(summary),
            str(REPO_ROOT / "bench" / "k6" / "orders-rate.js"),
        ],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    started, samples = time.monotonic(), []
    while load.poll() is None and time.monotonic() - started < PHASE_SECONDS + 60:
        samples.append({"t": round(time.monotonic() - started, 1), **hpa_status(env, ORDERS_HPA)})
        time.sleep(2)
    output, _ = load.communicate(timeout=60)
    assert load.returncode == 0, output[-3000:]
    order = json.loads(summary.read_text())["metrics"]["http_req_duration{name:POST /v1/orders}"]
    # The HPA's utilization lags the load by a metrics window and a sync: read the second half.
    settled = [s for s in samples if s["t"] >= PHASE_SECONDS / 2 and s["utilization"] is not None]
    result = {
        "p50_ms": round(order["med"], 1),
        "p95_ms": round(order["p(95)"], 1),
        "utilization": statistics.fmean(s["utilization"] for s in settled),
        "max_desired": max(s["desired"] for s in samples),
        "samples": samples,
    }
    shown = {k: v for k, v in result.items() if k != "samples"}
    say(f"  slow dependency, {name}: {shown}")
    return result


def test_a_slow_payments_release_slows_orders_but_does_not_scale_it(cluster, tmp_path) -> None:
    with autoscaled(cluster):
        # A first metrics window and sync, so the HPA has a utilization before the load.
        deadline = time.monotonic() + 90
        while hpa_status(cluster, ORDERS_HPA)["utilization"] is None:
            assert time.monotonic() < deadline, "orders' HPA never got a utilization"
            time.sleep(2)
        healthy = offer_orders(cluster, tmp_path, "payments-healthy")
        ENV_FILE.write_text(with_slow_payments(ENV_FILE.read_text()))
        applied = helmfile_apply(cluster)
        assert applied.returncode == 0, applied.stderr[-3000:]
        slow = offer_orders(cluster, tmp_path, "payments-slow")
    RESULTS.write_text(json.dumps({"healthy": healthy, "slow": slow}, indent=1))

    # Every order waits the added delay at payments...
    assert slow["p50_ms"] - healthy["p50_ms"] >= ADDED_MS * 0.8, (healthy, slow)
    # ...while orders' CPU, as its HPA sees it, stays under the target and about where it was,
    # and the HPA keeps its minimum throughout.
    assert healthy["utilization"] < 70 and slow["utilization"] < 70
    assert slow["utilization"] <= healthy["utilization"] * 1.5 + 5
    assert healthy["max_desired"] == slow["max_desired"] == MIN_REPLICAS
