"""The access line servicekit renders itself is the line the structlog chain renders for the
same event: the same keys in the same order, the same values (the timestamp aside); and writes
are rate-limited: a quiet line goes out at the end of its turn, busy ones share a write."""

from __future__ import annotations

import asyncio
import io
import json

import servicekit.logging
from fastapi.testclient import TestClient
from orders_service.core.config import OrdersSettings
from payments_service.core.config import PaymentsSettings
from servicekit.app import create_service_app
from servicekit.context import request_id_var
from servicekit.logging import (
    MAX_PENDING_LINES,
    AccessLog,
    UtcTimestamp,
    access_log,
    configure_logging,
    get_logger,
)


def logged(capsysbinary) -> list[dict]:
    out = capsysbinary.readouterr().out.decode()
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def without_timestamp(line: dict) -> list[tuple[str, object]]:
    assert line.pop("timestamp").endswith("Z")
    return list(line.items())  # in order


def test_the_access_line_is_what_structlog_would_write(capsysbinary):
    configure_logging(PaymentsSettings())
    token = request_id_var.set("req-123")
    try:
        fields = {"method": "POST", "route": "/v1/charges", "status": 201, "duration_ms": 1.25}
        get_logger("servicekit.access").info("request", **fields)
        access_log().request(**fields)
    finally:
        request_id_var.reset(token)
    by_structlog, ours = logged(capsysbinary)
    assert without_timestamp(ours) == without_timestamp(by_structlog)
    identity = {"service": "payments", "version": ours["version"], "color": "blue"}
    assert ours == {
        **fields,
        "event": "request",
        "level": "info",
        **identity,
        "request_id": "req-123",
    }


def test_above_info_the_access_line_is_not_written(capsysbinary):
    configure_logging(PaymentsSettings(SERVICE_LOG_LEVEL="warning"))
    access_log().request("GET", "/v1/charges", 200, 0.5)
    assert logged(capsysbinary) == []


class Out(io.BytesIO):
    def __init__(self) -> None:
        super().__init__()
        self.writes = 0

    def write(self, data: bytes) -> int:  # type: ignore[override]
        self.writes += 1
        return super().write(data)


def statuses(out: Out) -> list[int]:
    return [json.loads(line)["status"] for line in out.getvalue().splitlines()]


async def test_a_quiet_line_goes_out_at_the_end_of_its_turn_and_busy_ones_share_a_write():
    out = Out()
    log = AccessLog(
        {"service": "orders"}, enabled=True, stamp=UtcTimestamp(), out=out, flush_seconds=0.2
    )

    log.request("GET", "/v1/catalog", 200, 0.1)
    assert statuses(out) == []  # not inside the turn that served it
    await asyncio.sleep(0)  # the turn ends: no later wake-up of the loop just to write it
    assert statuses(out) == [200] and out.writes == 1
    for status in (201, 503):  # within the interval of that write: they wait and share one
        log.request("GET", "/v1/catalog", status, 0.1)
        await asyncio.sleep(0.01)
    assert statuses(out) == [200]
    await asyncio.sleep(0.2)
    assert statuses(out) == [200, 201, 503] and out.writes == 2
    await asyncio.sleep(0.21)  # quiet again for longer than the interval
    log.request("GET", "/v1/catalog", 202, 0.1)
    await asyncio.sleep(0)
    assert statuses(out) == [200, 201, 503, 202] and out.writes == 3


def test_lines_left_by_an_ended_loop_go_out_first_and_in_order():
    out = Out()
    log = AccessLog({}, enabled=True, stamp=UtcTimestamp(), out=out, flush_seconds=60)

    async def answered(status: int) -> None:
        log.request("GET", "/v1/catalog", status, 0.1)

    log.request("GET", "/v1/catalog", 100, 0.1)  # outside a loop: at once; the interval starts
    asyncio.run(answered(200))  # the loop ends long before its timer would fire
    assert statuses(out) == [100]
    asyncio.run(answered(201))  # a new loop writes what the last one left
    assert statuses(out) == [100, 200]
    log.request("GET", "/v1/catalog", 202, 0.1)  # outside a loop: at once, after those waiting
    assert statuses(out) == [100, 200, 201, 202]


async def test_a_full_buffer_is_written_at_once():
    out = Out()
    log = AccessLog({}, enabled=True, stamp=UtcTimestamp(), out=out, flush_seconds=60)
    for _ in range(MAX_PENDING_LINES):
        log.request("GET", "/v1/catalog", 200, 0.1)
    assert out.writes == 1 and len(out.getvalue().splitlines()) == MAX_PENDING_LINES
    assert json.loads(out.getvalue().splitlines()[0])["route"] == "/v1/catalog"


def test_the_app_writes_its_last_lines_when_it_stops(capsysbinary, monkeypatch):
    monkeypatch.setattr(servicekit.logging, "FLUSH_SECONDS", 60)  # the interval never ends
    app = create_service_app(OrdersSettings(), routers=[])
    with TestClient(app) as http:
        http.get("/v1/catalog-is-not-here", headers={"X-Request-ID": "first-line"})
        http.get("/v1/catalog-is-not-here", headers={"X-Request-ID": "last-line"})
        # The first went out at once (nothing written before it); the second waits.
        written = [line for line in logged(capsysbinary) if line["event"] == "request"]
        assert [line["request_id"] for line in written] == ["first-line"]
    [line] = [line for line in logged(capsysbinary) if line["event"] == "request"]
    assert line["request_id"] == "last-line" and line["status"] == 404
