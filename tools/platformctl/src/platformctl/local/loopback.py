"""One HTTP client per process for calls to this machine's own processes (probes, admin APIs).

A new httpx client builds a new SSL context and loads the CA bundle into it, even for plain
HTTP: 46 ms of CPU per client with this machine's 144-certificate bundle. The supervisor and
`deploy` once built one per readiness probe, several a second, and under load that CPU was
taken from the live colors (p95 from 25 ms to 6-15 s during `deploy all`; profile in
docs/performance.md). Built once, a probe costs well under a millisecond.
"""

from __future__ import annotations

import functools

import httpx


@functools.cache
def client() -> httpx.Client:
    # trust_env=False: a proxy configured in the environment must never sit between us and
    # 127.0.0.1. Each call passes its own timeout.
    return httpx.Client(trust_env=False, timeout=5.0)
