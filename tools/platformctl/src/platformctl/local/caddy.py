"""The proxy: caddy's JSON config rendered from the state, loaded atomically via its admin API.

``POST /load`` swaps the whole config in one step. Caddy keeps the listening sockets, starts
the new routes and lets in-flight requests on the old ones finish (``grace_period``), so a
switch never refuses a connection. ``try_duration`` makes caddy retry an upstream that refuses
connections (a restarting instance) instead of failing the request.
"""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any

import httpx

from platformctl.catalog import SERVICES
from platformctl.local.state import ColorState, PlatformState

GRACE_PERIOD = "15s"
TRY_DURATION = "5s"
TRY_INTERVAL = "50ms"
COLOR_HEADER = "X-Platform-Color"
VERSION_HEADER = "X-Platform-Version"


class ProxyError(RuntimeError):
    pass


def render_config(state: PlatformState) -> dict[str, Any]:
    servers: dict[str, Any] = {}
    for name in SERVICES:
        service = state.services[name]
        servers[name] = _server(
            state.ports.stable[name], service.active, service.colors[service.active]
        )
        servers[f"{name}-preview"] = _server(
            state.ports.preview[name], service.idle, service.colors[service.idle]
        )
    return {
        "admin": {"listen": f"127.0.0.1:{state.ports.caddy_admin}", "config": {"persist": False}},
        "logging": {"logs": {"default": {"level": "WARN"}}},
        "apps": {"http": {"grace_period": GRACE_PERIOD, "servers": servers}},
    }


def _server(port: int, color: str, color_state: ColorState) -> dict[str, Any]:
    upstreams = [
        {"dial": f"127.0.0.1:{instance.port}"} for instance in color_state.current_instances()
    ]
    if color_state.running and upstreams:
        handler: dict[str, Any] = {
            "handler": "reverse_proxy",
            "upstreams": upstreams,
            "load_balancing": {
                "selection_policy": {"policy": "round_robin"},
                "try_duration": TRY_DURATION,
                "try_interval": TRY_INTERVAL,
            },
            # No passive health checks on purpose: a client that gives up on a slow request
            # counts as an upstream failure, and with max_fails the only replica of a color
            # would be marked down, stalling every request behind it (a spiral under load).
            # A dead replica refuses connections at once, and try_duration retries those.
            "headers": {
                "response": {"set": {COLOR_HEADER: [color], VERSION_HEADER: [color_state.version]}}
            },
        }
    else:
        handler = {
            "handler": "static_response",
            "status_code": 503,
            "headers": {"Retry-After": ["5"], COLOR_HEADER: [color]},
            "body": f"no {color} instance is running\n",
        }
    return {
        "listen": [f"127.0.0.1:{port}"],
        "routes": [{"handle": [handler]}],
        "automatic_https": {"disable": True},
        # Access logs: with the WARN level above, only failed (5xx) requests are written.
        "logs": {},
    }


def apply(state: PlatformState, *, force: bool = False) -> float | None:
    """Load the config the state implies, unless caddy already runs it; call under the lock."""
    config = render_config(state)
    digest = hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()
    if digest == state.proxy_config_digest and not force:
        return None
    seconds = CaddyAdmin(state.ports.caddy_admin).load(config)
    state.proxy_config_digest = digest
    return seconds


class CaddyAdmin:
    def __init__(self, admin_port: int) -> None:
        self.base_url = f"http://127.0.0.1:{admin_port}"

    def load(self, config: dict[str, Any]) -> float:
        """Apply a whole config; returns the seconds caddy took."""
        started = time.perf_counter()
        try:
            response = httpx.post(f"{self.base_url}/load", json=config, timeout=20)
        except httpx.HTTPError as exc:
            raise ProxyError(f"caddy admin API at {self.base_url} is unreachable: {exc}") from exc
        if response.status_code != 200:
            raise ProxyError(f"caddy refused the config: {response.text.strip()}")
        return time.perf_counter() - started

    def is_up(self) -> bool:
        try:
            return httpx.get(f"{self.base_url}/config/", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False
