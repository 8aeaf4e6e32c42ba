"""Structured JSON logs through structlog, one object per line on stdout.

Every line carries ``service``, ``version``, ``color`` and, inside a request, ``request_id``.
Uvicorn's own loggers are routed through the same renderer so the stream stays parseable.
"""

from __future__ import annotations

import asyncio
import atexit
import functools
import logging
import math
import sys
import time
from typing import Any, BinaryIO

import orjson
import structlog

from servicekit.context import current_request_id
from servicekit.settings import ServiceSettings


def _add_request_id(_: Any, __: str, event: dict[str, Any]) -> dict[str, Any]:
    request_id = current_request_id()
    if request_id is not None:
        event.setdefault("request_id", request_id)
    return event


class UtcTimestamp:
    """``timestamp``: ISO 8601 in UTC with microseconds, as structlog's
    ``TimeStamper(fmt="iso", utc=True)`` writes it, but formatting the date and time once a
    second rather than once a line (a quarter of an access line's cost)."""

    def __init__(self) -> None:
        self._second: tuple[int, str] = (-1, "")

    def __call__(self, _: Any, __: str, event: dict[str, Any]) -> dict[str, Any]:
        event["timestamp"] = self.now()
        return event

    def now(self) -> str:
        second, micros = divmod(time.time_ns() // 1000, 1_000_000)
        if second != self._second[0]:
            self._second = (second, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second)))
        return f"{self._second[1]}.{micros:06d}Z"


# At most one access-log write per FLUSH_SECONDS while lines keep coming, and how many may wait.
FLUSH_SECONDS = 0.02
MAX_PENDING_LINES = 1024


@functools.lru_cache(maxsize=1024)
def _json_string(value: str) -> str:
    """A method or route as a JSON string. Both come from small sets (the methods the HTTP parser
    knows, the app's route templates), so each is escaped once; the bound keeps a client that
    invents methods from growing the cache."""
    return orjson.dumps(value).decode()


class AccessLog:
    """The one line per request, rendered from a template: the keys, their order and the values
    the structlog chain below gives ``log.info("request", **fields)``, for a fifth of its CPU. It
    runs for every request, and the chain's generality (a context copy, five processors, a
    bound-logger dispatch) was a third of servicekit's cost per request. The identity is
    rendered once; the method and route once each (``_json_string``); the request id as it is,
    since servicekit/observation.py lets in only ids of ``[A-Za-z0-9._:-]``.

    Writes are rate-limited rather than per line: one ``write`` per line cost about 5 % of a
    cheap request's throughput end to end (docs/performance.md, "Profiles"). A line that finds
    the last write more than ``FLUSH_SECONDS`` old goes out at the end of this turn of the event
    loop; one that comes sooner waits, with those after it, until that much time has passed,
    as nginx's ``access_log ... buffer= flush=`` and Envoy's flush interval batch theirs. A busy
    service so writes at most once per interval, and a quiet one pays no extra wake-up of its
    loop per line: waking 20 ms later to write one line cost about 4 % of the CPU of an order at
    40 orders/s (docs/performance.md, "Profiles"). Lines still waiting when the process ends are
    written by the app's lifespan (``servicekit/app.py``) or, failing that, at interpreter exit;
    a process killed outright (SIGKILL, a crash in C) loses them, as any buffered log does. So an
    access line may follow log lines written after it: those go out at once.
    """

    def __init__(
        self,
        identity: dict[str, str],
        *,
        enabled: bool,
        stamp: UtcTimestamp,
        out: BinaryIO,
        flush_seconds: float = FLUSH_SECONDS,
    ) -> None:
        self.enabled = enabled
        self.flush_seconds = flush_seconds
        self.stamp = stamp
        self.out = out
        self._pending: list[bytes] = []
        self._loop: asyncio.AbstractEventLoop | None = None  # where the flush timer runs
        self._written_at = -math.inf  # time.monotonic() of the last write
        # '"service":"orders",...' with its leading comma, or nothing
        fields = orjson.dumps(identity).decode()[1:-1]
        self._identity = f",{fields}" if fields else ""

    def _write(self, line: bytes) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # outside an event loop (start-up, tests): at once, in order
            self._pending.append(line)
            self.flush()
            return
        if self._pending and loop is not self._loop:
            self.flush()  # left by a loop that ended before its timer fired
        self._pending.append(line)
        if len(self._pending) == 1:
            self._loop = loop
            wait = self._written_at + self.flush_seconds - time.monotonic()
            if wait > 0:
                loop.call_later(wait, self.flush)
            else:
                loop.call_soon(self.flush)
        elif len(self._pending) >= MAX_PENDING_LINES:
            self.flush()

    def flush(self) -> None:
        if not self._pending:
            return
        lines, self._pending = self._pending, []
        self.out.write(b"".join(lines))
        self.out.flush()
        self._written_at = time.monotonic()

    def request(self, method: str, route: str, status: int, duration_ms: float) -> None:
        if not self.enabled:
            return
        request_id = current_request_id()
        line = (
            f'{{"method":{_json_string(method)},"route":{_json_string(route)},'
            f'"status":{status},"duration_ms":{duration_ms},"event":"request","level":"info",'
            f'"timestamp":"{self.stamp.now()}"{self._identity}'
        )
        if request_id is not None:
            line += f',"request_id":"{request_id}"'
        self._write(f"{line}}}\n".encode())


_access_log = AccessLog({}, enabled=False, stamp=UtcTimestamp(), out=sys.stdout.buffer)


# The last lines of a process that ends without its lifespan's shutdown (``--lifespan off``).
atexit.register(lambda: _access_log.flush())


def access_log() -> AccessLog:
    """The access log ``configure_logging`` set up last (off until then)."""
    return _access_log


def configure_logging(settings: ServiceSettings) -> None:
    global _access_log
    level = logging.getLevelNamesMapping().get(settings.log_level.upper(), logging.INFO)
    identity = {
        "service": settings.service_name,
        "version": settings.version,
        "color": settings.color.value,
    }
    stamp = UtcTimestamp()
    _access_log = AccessLog(
        identity,
        enabled=level <= logging.INFO,
        stamp=stamp,
        out=sys.stdout.buffer,
        flush_seconds=FLUSH_SECONDS,  # read at each call, so a test can stretch it
    )

    def add_identity(_: Any, __: str, event: dict[str, Any]) -> dict[str, Any]:
        for key, value in identity.items():
            event.setdefault(key, value)
        return event

    shared: list[Any] = [
        structlog.processors.add_log_level,
        stamp,
        add_identity,
        _add_request_id,
    ]
    structlog.configure(
        processors=[
            *shared,
            structlog.processors.format_exc_info,
            # orjson renders straight to bytes, several times faster than json.dumps.
            structlog.processors.JSONRenderer(serializer=orjson.dumps),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.BytesLoggerFactory(file=sys.stdout.buffer),
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                structlog.processors.JSONRenderer(),
            ],
        )
    )
    for name in ("", "uvicorn", "uvicorn.error"):
        logger = logging.getLogger(name)
        logger.handlers = [handler]
        logger.propagate = False
        logger.setLevel(level)
    # The access log is ours (one line per request, with the route template).
    logging.getLogger("uvicorn.access").disabled = True


def get_logger(name: str | None = None) -> Any:
    return structlog.get_logger(name)


def resolved_logger(name: str) -> Any:
    """A logger bound now, for hot paths: the lazy proxy ``get_logger`` returns resolves the
    configuration on every call. Call it after ``configure_logging``."""
    return structlog.get_logger(name).bind()
