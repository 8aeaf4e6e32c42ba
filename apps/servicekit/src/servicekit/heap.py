"""Short garbage-collector pauses for a long-running service.

A started service holds tens of thousands of objects (86,000 in notifications) that live as
long as the process: FastAPI, pydantic and aiohttp, the routes, the settings. CPython's
oldest-generation collection walks every one of them. In orders at 1,200 orders/s offered,
that stopped the event loop for up to 46 ms, five times in 15 s, and every request that arrived
meanwhile waited: it was most of the tail of the refusals past the admission limit
(docs/performance.md, section 7).

Once started, the service collects what start-up left behind and freezes the rest
(``gc.freeze``, as Instagram did for its Django fleet): those objects move to a permanent
generation that no collection walks. Objects made afterwards are collected as before.
"""

from __future__ import annotations

import gc
import threading


def freeze_startup_heap() -> int:
    """Freeze what the process holds now; returns how many objects. Only in a server's main
    thread: an app started in a test client's thread shares the process with the test run."""
    if threading.current_thread() is not threading.main_thread():
        return 0
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()
