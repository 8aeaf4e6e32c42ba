"""Graceful shutdown: readiness turns 503 on SIGTERM before uvicorn stops accepting.

Uvicorn installs its own SIGTERM/SIGINT handlers before the lifespan starts. We wrap them:
on SIGTERM the service reports not-ready at once, keeps serving for
``SERVICE_SHUTDOWN_DELAY_SECONDS`` (so a proxy or endpoint controller can stop routing to it),
then hands over to uvicorn, which drains in-flight requests for up to
``--timeout-graceful-shutdown``. In Kubernetes the preStop sleep plays the delay's part.
"""

from __future__ import annotations

import asyncio
import signal
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any

from servicekit.health import Readiness
from servicekit.logging import get_logger

Handler = Callable[[int, FrameType | None], Any] | int | None


def install_shutdown_hook(readiness: Readiness, delay_seconds: float) -> Callable[[], None]:
    """Wrap uvicorn's signal handlers; returns a function that restores them."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    loop = asyncio.get_running_loop()
    log = get_logger("servicekit.lifecycle")
    originals: dict[int, Handler] = {}

    def hand_over(sig: int, frame: FrameType | None) -> None:
        original = originals.get(sig)
        if callable(original):
            original(sig, frame)

    def on_signal(sig: int, frame: FrameType | None) -> None:
        if readiness.draining or sig != signal.SIGTERM or delay_seconds <= 0:
            readiness.draining = True
            log.info("shutdown", signal=signal.Signals(sig).name, delay_seconds=0)
            hand_over(sig, frame)
            return
        readiness.draining = True
        log.info("shutdown", signal=signal.Signals(sig).name, delay_seconds=delay_seconds)
        loop.call_soon_threadsafe(loop.call_later, delay_seconds, hand_over, sig, frame)

    for sig in (signal.SIGTERM, signal.SIGINT):
        originals[sig] = signal.getsignal(sig)
        signal.signal(sig, on_signal)

    def restore() -> None:
        for sig, handler in originals.items():
            if signal.getsignal(sig) is on_signal:
                signal.signal(sig, handler)

    return restore
