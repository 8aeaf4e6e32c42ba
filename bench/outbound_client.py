"""The client side of a call between services: CPU per call, httpx against servicekit's client.

    .venv/bin/python -m bench.outbound_client                # 3 rounds of 2,000 calls each
    .venv/bin/python -m bench --only outbound                # the same, as part of make bench

orders makes two calls per order (payments, notifications), and py-spy put half of its CPU
under httpx. This measures what one call costs the caller: a fresh process on one core makes
sequential ``POST`` calls with a JSON body and headers, as ``Checkout`` does, to a raw ASGI app
on the other core, reads each answer's JSON, and reports its own CPU per call. The clients
alternate round by round; the baseline is httpx.AsyncClient, what servicekit used before.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

from bench.plan import LOADGEN_CPU, SERVER_CPU, Plan
from bench.stack import REPO_ROOT, Stack, free_port, pinned, stop, uvicorn_command, wait_until_ready

CLIENTS = ("httpx", "servicekit")  # the baseline first
WARMUP_CALLS = 100
BODY = {"amount": 1299, "currency": "EUR", "card_token": "tok_visa"}
HEADERS = {"Authorization": "Bearer " + "x" * 200, "Idempotency-Key": "ord_1.charge"}


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def _calls_with_httpx(url: str, calls: int) -> float:
    import httpx

    async with httpx.AsyncClient() as http:
        for number in range(WARMUP_CALLS + calls):
            if number == WARMUP_CALLS:
                started = _cpu()
            response = await http.post(url, json=BODY, headers=HEADERS)
            response.json()
    return _cpu() - started


async def _calls_with_servicekit(url: str, calls: int) -> float:
    from orders_service.core.config import OrdersSettings
    from servicekit.client import create_http_client, fetch

    http = create_http_client(OrdersSettings(SERVICE_VERSION="bench"))  # as orders has it
    try:
        for number in range(WARMUP_CALLS + calls):
            if number == WARMUP_CALLS:
                started = _cpu()
            response = await fetch(http, "POST", url, json=BODY, headers=HEADERS)
            response.json()
    finally:
        await http.close()
    return _cpu() - started


def measure_client(client: str, url: str, calls: int) -> float:
    """Microseconds of CPU per call, from a fresh process pinned to the load generator's core."""
    command = [sys.executable, "-m", "bench.outbound_client", "--client", client]
    command += ["--url", url, "--calls", str(calls)]
    output = subprocess.run(
        pinned(command, LOADGEN_CPU),
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
        cwd=REPO_ROOT,
    ).stdout
    return float(json.loads(output)["cpu_us_per_call"])


def measure(calls: int, rounds: int, workdir: Path) -> dict[str, Any]:
    port = free_port()
    log = (workdir / "server.log").open("ab")
    server = subprocess.Popen(
        pinned(uvicorn_command("bench.apps:create_app", port), SERVER_CPU),
        env={**os.environ, "BENCH_VARIANT": "raw-asgi"},
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=REPO_ROOT,
    )
    log.close()
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_ready(url + "/readyz", server, timeout=60)
        runs: dict[str, list[float]] = {client: [] for client in CLIENTS}
        for round_number in range(rounds):
            for client in CLIENTS if round_number % 2 == 0 else reversed(CLIENTS):
                runs[client].append(measure_client(client, url + "/v1/charges", calls))
                print(f"  round {round_number + 1}: {client} {runs[client][-1]:.0f} us/call")
    finally:
        stop(server)
    medians = {client: statistics.median(values) for client, values in runs.items()}
    baseline = medians[CLIENTS[0]]
    return {
        "calls": calls,
        "rounds": rounds,
        "runs_us_per_call": runs,
        "median_us_per_call": {client: round(value, 1) for client, value in medians.items()},
        "ratio_to_baseline": {client: round(v / baseline, 3) for client, v in medians.items()},
    }


def run(plan: Plan, _stack: Stack, workdir: Path) -> dict[str, Any]:
    return measure(plan.outbound_calls, plan.outbound_rounds, workdir)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--client", choices=CLIENTS, help="one client's run (what a round runs)")
    parser.add_argument("--url", help="with --client: the server to call")
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if args.calls < 1 or args.rounds < 1:
        parser.error("--calls and --rounds must be at least 1")
    if args.client:
        if not args.url:
            parser.error("--client needs --url")
        calls = {"httpx": _calls_with_httpx, "servicekit": _calls_with_servicekit}[args.client]
        seconds = asyncio.run(calls(args.url, args.calls))
        print(json.dumps({"cpu_us_per_call": 1e6 * seconds / args.calls}))
        return
    workdir = REPO_ROOT / ".local" / "bench" / "outbound"
    workdir.mkdir(parents=True, exist_ok=True)
    result = measure(args.calls, args.rounds, workdir)
    print(json.dumps(result["median_us_per_call"]), json.dumps(result["ratio_to_baseline"]))


if __name__ == "__main__":
    main()
