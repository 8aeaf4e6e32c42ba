"""The floor under CPU per order with no framework: the order chain as three raw ASGI apps on
uvicorn, the way the services run (uvloop, httptools, aiohttp between them), doing nothing but
the calls: orders reads a JSON order, calls payments, then notifications, and answers.

    .venv/bin/python -m bench.asgi_chain          # 40 orders/s for 30 s

No FastAPI, no validation, tokens, idempotency, access lines or metrics. What the platform's
chain costs above this is theirs; what this costs above bench/loopback.py's floor is uvicorn's,
aiohttp's and the event loop's. Measured like bench/cpu_per_order.py: each process's CPU from
/proc over the steady part of the load, less its idle rate, per order served in that window.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import orjson
from platformctl.ports import free_port

from bench.cpu import MIN_SECONDS, busy_in_steady_window
from bench.k6run import K6Process
from bench.stack import REPO_ROOT, stop, uvicorn_command, wait_until_ready

SCRIPT = REPO_ROOT / "bench" / "k6" / "post-rate.js"
HOPS = ("orders", "payments", "notifications")
PAYMENTS_URL, NOTIFICATIONS_URL = "ASGI_CHAIN_PAYMENTS_URL", "ASGI_CHAIN_NOTIFICATIONS_URL"
JSON = "application/json"

_served = 0  # orders answered by this process
_session: aiohttp.ClientSession | None = None


async def orders_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """POST: charge, then notify, then answer 201. GET: the orders served so far."""
    global _served, _session
    if scope["type"] == "lifespan":
        return await _lifespan(receive, send)
    if scope["method"] == "GET":
        return await _answer(send, 200, {"served": _served})
    if _session is None:  # one pool for the process, opened on its loop
        _session = aiohttp.ClientSession()
    order = orjson.loads(await _body(receive))
    charge = await _post(_session, os.environ[PAYMENTS_URL], {"amount": 1250, "order": order})
    await _post(_session, os.environ[NOTIFICATIONS_URL], {"template": "confirmed", **charge})
    _served += 1
    await _answer(send, 201, {"id": charge["id"], "status": "placed"})


async def leaf_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """payments and notifications alike: read the JSON, answer 201 with an id."""
    if scope["type"] == "lifespan":
        return await _lifespan(receive, send)
    if scope["method"] == "GET":
        return await _answer(send, 200, {"ready": True})
    orjson.loads(await _body(receive))
    await _answer(send, 201, {"id": "pay_0123456789abcdef", "status": "accepted"})


def create_orders_app() -> Any:  # uvicorn runs apps with --factory, as the services
    return orders_app


def create_leaf_app() -> Any:
    return leaf_app


async def _post(session: aiohttp.ClientSession, url: str, payload: dict[str, Any]) -> Any:
    async with session.post(url, data=orjson.dumps(payload), headers={"Content-Type": JSON}) as got:
        got.raise_for_status()
        return orjson.loads(await got.read())


async def _body(receive: Any) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


async def _answer(send: Any, status: int, payload: dict[str, Any]) -> None:
    body = orjson.dumps(payload)
    headers = [(b"content-type", JSON.encode()), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _lifespan(receive: Any, send: Any) -> None:
    while True:
        message = await receive()
        await send({"type": message["type"] + ".complete"})
        if message["type"] == "lifespan.shutdown":
            return


@contextlib.contextmanager
def running_chain(workdir: Path) -> Iterator[dict[str, tuple[int, int]]]:
    """The three apps as uvicorn processes; yields each hop's (port, pid)."""
    ports = {hop: free_port() for hop in HOPS}
    env = os.environ | {
        PAYMENTS_URL: f"http://127.0.0.1:{ports['payments']}/",
        NOTIFICATIONS_URL: f"http://127.0.0.1:{ports['notifications']}/",
    }
    workdir.mkdir(parents=True, exist_ok=True)
    processes: dict[str, subprocess.Popen[bytes]] = {}
    try:
        for hop, port in ports.items():
            app = "bench.asgi_chain:create_" + ("orders" if hop == "orders" else "leaf") + "_app"
            command = [*uvicorn_command(app, port, app_dir=REPO_ROOT), "--log-level", "warning"]
            with (workdir / f"{hop}.log").open("wb") as log:
                processes[hop] = subprocess.Popen(command, env=env, stdout=log, stderr=log)
            wait_until_ready(f"http://127.0.0.1:{port}/", processes[hop])
        yield {hop: (ports[hop], processes[hop].pid) for hop in HOPS}
    finally:
        for process in processes.values():
            stop(process)


def measure(rate: int, seconds: int, workdir: Path) -> dict[str, Any]:
    """CPU per order of each hop and of the chain, over the steady window of one load."""
    with running_chain(workdir) as chain:
        orders_url = f"http://127.0.0.1:{chain['orders'][0]}/"
        env = {"URL": orders_url, "RATE": rate, "DURATION": f"{seconds}s"}
        busy, served, elapsed, k6 = busy_in_steady_window(
            {hop: pid for hop, (_port, pid) in chain.items()},
            lambda: httpx.get(orders_url, timeout=5).json()["served"],
            lambda: K6Process(SCRIPT, env, workdir / "k6.json"),
            seconds,
        )
        result = k6.wait(timeout=seconds + 120)
    orders = int(served)
    failed = int(result.metric("http_req_failed", "passes"))
    if not orders or failed:
        raise RuntimeError(f"{orders} orders, {failed} failed (k6 exit {result.exit_code})")
    per_order = {hop: round(1000 * busy[hop] / orders, 3) for hop in HOPS}
    return {
        "rate": rate,
        "orders": orders,
        "window_seconds": round(elapsed, 2),
        "cpu_ms_per_order": per_order,
        "chain_cpu_ms_per_order": round(sum(per_order.values()), 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=int, default=40, help="orders per second")
    parser.add_argument("--seconds", type=int, default=30, help="how long the load runs")
    args = parser.parse_args()
    if args.rate < 1 or args.seconds < MIN_SECONDS:
        parser.error(f"--rate must be at least 1 and --seconds at least {MIN_SECONDS}")
    with tempfile.TemporaryDirectory(prefix="asgi-chain-") as workdir:
        print(json.dumps(measure(args.rate, args.seconds, Path(workdir))))


if __name__ == "__main__":
    main()
