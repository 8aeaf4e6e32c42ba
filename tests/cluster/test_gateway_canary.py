"""Canary steps routed by the Gateway API on the local cluster (canaryRouting.mode: gateway).

`localcluster gateway` runs Traefik serving a Gateway; the environment file switches the mode
as a person would, and helmfile gives every service an HTTPRoute. Under k6 through the gateway
on kept-alive connections (which a replica-ratio step never moves: kube-proxy balances
connections), a faulty canary's 10 % step takes about 10 % of the orders, its analysis fails,
and the route sends everything back to blue. A healthy canary then steps 10/50/100 with 0 failed
requests. The figures go to .local/cluster/gateway-canary.json.
"""

from __future__ import annotations

import json
import re
import subprocess
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime
from itertools import pairwise
from pathlib import Path

import pytest
import yaml
from localcluster import access, gateway

from tests.cluster.kube import (
    ENV_FILE,
    NAMESPACE,
    REPO_ROOT,
    helmfile_apply,
    platformctl,
    platformctl_argv,
    run,
    selectors,
)
from tests.cluster.test_platformctl import ORDER_ROUTE, with_faults
from tests.support.analysis import shipped_analysis
from tests.support.k6load import BOUND, STOPPED, covered, run_seconds, stop
from tests.support.progress import say
from tests.support.tools import tool

FIGURES = REPO_ROOT / ".local" / "cluster" / "gateway-canary.json"
DOMAIN = "platform-local.test"  # environments/local.yaml canaryRouting.gateway.domain
# Enough orders in a step of 10-20 s (150-250) that a split measured on them is within a few
# points of its weight: the bounds below are 2.5 standard deviations or more.
ORDERS_PER_SECOND = 25
# The faulty canary's load runs to its end, past its canary run (asserted): k6 must count every
# failure the gateway logged, and a stopped k6 was seen to count one fewer (9 of 10, twice).
FAULTY_LOAD = "55s"


@pytest.fixture(scope="module")
def routed(release) -> dict[str, str]:
    """The gateway running and the local environment in gateway mode, applied; the release
    fixture puts the file back and applies it when the module ends."""
    env = release
    installed = run(env, tool("localcluster"), "gateway")
    assert installed.returncode == 0, installed.stdout + installed.stderr
    assert f"serving HTTPRoutes at http://{gateway.ADDRESS}" in installed.stdout
    ENV_FILE.write_text(ENV_FILE.read_text().replace("  mode: replicas", "  mode: gateway", 1))
    applied = helmfile_apply(env)
    assert applied.returncode == 0, applied.stderr[-3000:]
    return env


def _routes(env: dict[str, str]) -> dict[str, dict]:
    found = run(env, "kubectl", "-n", NAMESPACE, "get", "httproutes", "-o", "json")
    return {r["metadata"]["name"]: r for r in json.loads(found.stdout)["items"]}


def _k6(env: dict[str, str], tmp_path: Path, rate: int, duration: str = BOUND) -> subprocess.Popen:
    """Orders through the gateway by host name, k6 keeping its connections alive."""
    password = (access.SECRETS_DIR / "dev_alice_password").read_text().strip()
    config = tmp_path / "hosts.json"
    config.write_text(json.dumps({"hosts": {
        f"{name}.{DOMAIN}": gateway.ADDRESS for name in ("auth", "orders")
    }}))  # fmt: skip
    return subprocess.Popen(
        [
            tool("k6"), "run", "--quiet", "--no-usage-report", "--config", str(config),
            "-e", f"AUTH_URL=http://auth.{DOMAIN}", "-e", f"ORDERS_URL=http://orders.{DOMAIN}",
            "-e", f"RATE={rate}", "-e", f"DURATION={duration}", "-e", f"PASSWORD={password}",
            "-e", f"SUMMARY_FILE={tmp_path / 'full.json'}",
            "--summary-export", str(tmp_path / "summary.json"),
            str(REPO_ROOT / "bench" / "k6" / "orders-rate.js"),
        ],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
    )  # fmt: skip


def _orders(tmp_path: Path) -> tuple[int, int]:
    """(order requests, failed ones) from the k6 summary."""
    summary = json.loads((tmp_path / "summary.json").read_text())
    failed = summary["metrics"][f"http_req_failed{{name:{ORDER_ROUTE}}}"]
    return failed["passes"] + failed["fails"], failed["passes"]  # a "pass" is a failure


@dataclass(frozen=True)
class Order:
    at: float  # when the gateway received it (epoch seconds)
    to_canary: bool
    status: int


def _gateway_orders(since: int) -> list[Order]:
    """The orders the gateway logged after byte ``since`` of its access log."""
    with gateway.ACCESS_LOG.open() as log:
        log.seek(since)
        entries = [json.loads(line) for line in log if line.strip()]
    return [
        Order(
            datetime.fromisoformat(e["StartUTC"].replace("Z", "+00:00")).timestamp(),
            "orders-preview" in e.get("ServiceName", ""),
            int(e.get("DownstreamStatus", 0)),
        )
        for e in entries
        if e.get("RequestHost") == f"orders.{DOMAIN}" and e.get("RequestMethod") == "POST"
    ]


def _canary_share(orders: list[Order], start: float, end: float) -> tuple[int, int]:
    """(orders to the canary, all orders) the gateway received between ``start`` and ``end``."""
    during = [o for o in orders if start <= o.at <= end]
    return sum(o.to_canary for o in during), len(during)


def _canary_run(env: dict[str, str], *args: str) -> tuple[int, str, str, list[tuple[float, str]]]:
    """`platformctl canary`, each line of its output stamped with when it was printed."""
    with tempfile.TemporaryFile("w+") as errors:
        process = subprocess.Popen(
            platformctl_argv("canary", *args), cwd=REPO_ROOT, text=True,
            env={**env, "PYTHONUNBUFFERED": "1"}, stdout=subprocess.PIPE, stderr=errors,
        )  # fmt: skip
        assert process.stdout is not None
        stamped = [(time.time(), line.rstrip()) for line in process.stdout]
        process.wait(timeout=60)
        errors.seek(0)
        stderr = errors.read()
    stdout = "\n".join(line for _, line in stamped)
    print(f"$ platformctl canary {' '.join(args)} -> {process.returncode}\n{stdout}\n{stderr}")
    return process.returncode, stdout, stderr, stamped


def _step_windows(stamped: list[tuple[float, str]]) -> dict[int, tuple[float, float]]:
    """Step percent -> the seconds it stood: from its routing (printed once the route was
    accepted, plus 1 s for the gateway to apply it) to the next change's start."""
    events = []
    for at, line in stamped:
        if step := re.match(r"canary step (\d+)%: .* \(routed in (\d+) ms", line):
            events.append((int(step.group(1)), at, int(step.group(2)) / 1000))
        elif line.startswith("canary passed every step"):
            events.append((100, at, 0.0))
    return {
        percent: (at + 1, following_at - following_routing - 1)
        for (percent, at, _), (_, following_at, following_routing) in pairwise(events)
    }


@pytest.mark.timeout(900)
def test_gateway_weights_split_requests_and_catch_a_faulty_canary(
    routed, green_images, tmp_path: Path
) -> None:
    env = routed
    routes = _routes(env)
    assert set(routes) == {"auth", "orders"}  # the services users call (route.enabled)
    assert routes["orders"]["spec"]["hostnames"] == [f"orders.{DOMAIN}"]
    assert selectors(env)["orders"] == "blue"
    figures: dict[str, object] = {}

    # A faulty canary: green answers 30 % of requests with errors.
    colors = yaml.safe_load(ENV_FILE.read_text())["services"]["orders"]
    version = green_images if colors["green"]["version"] != green_images else "dev"
    ENV_FILE.write_text(with_faults(ENV_FILE.read_text(), "orders", "green", "{errorRate: 0.3}"))
    deployed = platformctl(env, "deploy", "orders", "--version", version)
    assert deployed.returncode == 0, deployed.stderr
    relaxed = shipped_analysis(tmp_path, "relaxed-analysis", p95_max=2.0)
    log_start = gateway.ACCESS_LOG.stat().st_size
    faulty_dir = tmp_path / "faulty"
    faulty_dir.mkdir()
    # The canary fails at its first step's first measurement: routing, Prometheus's first
    # scrape of green (waited for up to 20 s), the 4 s initial delay, then back on blue: 15-33 s.
    load = _k6(env, faulty_dir, ORDERS_PER_SECOND, FAULTY_LOAD)
    try:
        time.sleep(10)  # a baseline on blue alone
        started = time.monotonic()
        code, stdout, stderr, _ = _canary_run(env, "orders", "--steps", "10,50,100",
                                              f"--analysis={relaxed}")  # fmt: skip
        canary_seconds = covered(load, started)
    finally:
        output, _ = load.communicate(timeout=180)
    assert load.returncode == 0, output[-3000:]
    assert code == 1, stdout + stderr
    assert "canary step 10%: orders green takes 10% of live traffic" in stdout
    assert "by HTTPRoute weights: orders" in stdout
    assert "canary stopped at step 10%: analysis failed for orders green" in stderr
    assert "canary step 50%" not in stdout
    after = yaml.safe_load(ENV_FILE.read_text())["services"]["orders"]
    assert after["canaryWeight"] == ""
    orders_route = _routes(env)["orders"]
    assert orders_route["spec"]["rules"][0]["backendRefs"] == [
        {"group": "", "kind": "Service", "name": "orders", "port": 80, "weight": 100}
    ]
    requests, failed = _orders(faulty_dir)
    orders = _gateway_orders(log_start)
    canary_times = [o.at for o in orders if o.to_canary]
    to_canary, during = _canary_share(orders, min(canary_times), max(canary_times))
    failures = [o for o in orders if o.status >= 400]
    back = re.search(r"all live traffic is back on .* \(in (\d+) ms\)", stderr)
    figures["faulty"] = {
        "caught_at_step_percent": 10,
        "order_requests": requests,
        "failed_order_requests": failed,
        "orders_while_stepped": during,
        "of_them_to_the_canary": to_canary,
        "back_on_stable_ms": int(back.group(1)) if back else None,
        "canary_seconds": canary_seconds,
    }
    say(f"  gateway, faulty canary: {figures['faulty']}")
    # Kept-alive connections and all, about a tenth of the orders went to the canary while
    # the step stood (counted from its first to its last order, which leans a little high),
    # and every order that failed was one the gateway had sent to the canary.
    assert 0.04 <= to_canary / during <= 0.2, figures
    assert failed == len(failures) > 0, figures
    assert all(o.to_canary for o in failures), failures
    aborted = platformctl(env, "abort", "orders")
    assert aborted.returncode == 0, aborted.stderr

    # A healthy canary: 10 %, 50 %, then the promotion, with no failed request.
    ENV_FILE.write_text(ENV_FILE.read_text().replace(", faults: {errorRate: 0.3}", ""))
    deployed = platformctl(env, "deploy", "orders", "--version", version)
    assert deployed.returncode == 0, deployed.stderr
    healthy_dir = tmp_path / "healthy"
    healthy_dir.mkdir()
    log_start = gateway.ACCESS_LOG.stat().st_size
    # Two steps of routing, first scrape (up to 20 s) and three measurements each, then the
    # promotion and its five measurements: 50-90 s.
    load = _k6(env, healthy_dir, ORDERS_PER_SECOND)
    try:
        time.sleep(5)
        started = time.monotonic()
        code, stdout, stderr, stamped = _canary_run(
            env, "orders", "--steps", "10,50,100", f"--analysis={relaxed}",
            "--scale-down-delay=-1",
        )  # fmt: skip
        canary_seconds = covered(load, started)
    finally:
        output = stop(load)
    assert load.returncode == STOPPED, output[-3000:]
    assert code == 0, stdout + stderr
    assert selectors(env)["orders"] == "green"
    requests, failed = _orders(healthy_dir)
    orders = _gateway_orders(log_start)
    shares = {}
    for percent, (start, end) in _step_windows(stamped).items():
        to_canary, during = _canary_share(orders, start, end)
        shares[percent] = (to_canary, during)
    routed_in = [int(ms) for ms in re.findall(r"takes \d+% of live traffic \(routed in (\d+) ms",
                                               stdout)]  # fmt: skip
    figures["healthy"] = {
        "order_requests": requests,
        "failed": failed,
        "routed_ms": routed_in,
        "orders_to_the_canary_of_all_by_step": shares,
        "canary_seconds": canary_seconds,
    }
    say(f"  gateway, healthy canary: {figures['healthy']}")
    FIGURES.write_text(json.dumps(figures, indent=1))
    # The whole load was offered (k6's constant arrival rate, less a tenth for its start).
    offered_for = run_seconds(json.loads((healthy_dir / "full.json").read_text()))
    assert requests > 0.9 * ORDERS_PER_SECOND * offered_for and failed == 0, figures
    # Each step took its weight of the orders placed while it stood, per request.
    assert set(shares) == {10, 50}, figures
    assert 0.04 <= shares[10][0] / shares[10][1] <= 0.2, figures
    assert 0.38 <= shares[50][0] / shares[50][1] <= 0.62, figures
