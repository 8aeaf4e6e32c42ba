"""The access line servicekit renders itself is the line the structlog chain renders for the
same event: the same keys in the same order, the same values (the timestamp aside); and it
writes once per turn of the event loop."""

from __future__ import annotations

import asyncio
import io
import json

from payments_service.core.config import PaymentsSettings
from servicekit.context import request_id_var
from servicekit.logging import AccessLog, UtcTimestamp, access_log, configure_logging, get_logger


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


async def test_requests_that_finish_in_one_turn_of_the_loop_share_one_write():
    out = Out()
    log = AccessLog({"service": "orders"}, enabled=True, stamp=UtcTimestamp(), out=out)
    for status in (200, 201, 503):
        log.request("GET", "/v1/catalog", status, 0.1)
    assert out.getvalue() == b""  # not yet: the turn is not over
    await asyncio.sleep(0)
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [line["status"] for line in lines] == [200, 201, 503] and out.writes == 1
    log.request("GET", "/v1/catalog", 200, 0.1)
    await asyncio.sleep(0)
    assert len(out.getvalue().splitlines()) == 4 and out.writes == 2
