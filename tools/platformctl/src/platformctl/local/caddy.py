"""The proxy: a static caddy config whose routes read small files, so switching never reloads.

Each live and preview port routes by the content of ``<routes>/<service>.live`` (caddy's
``vars`` matcher on a ``{file.*}`` placeholder, read per request), and each color's upstreams
come from ``<routes>/<service>-<color>.<n>``. A switch is one atomic file rename: in-flight
requests finish where they are, the next request goes to the new color, and no listener or
keep-alive connection is ever restarted (a config reload would close idle client connections,
and a client that sends on one at that instant sees a reset). ``try_duration`` makes caddy retry
an upstream that refuses connections (a restarting instance) instead of failing the request.

A canary step splits a live port between both colors: ``<service>.live`` says ``split``, and
the port round-robins over SPLIT_SLOTS upstreams (``<service>.split.<k>``), as many of them
naming the idle color's instances as the step's percent asks (5 % steps).

Like a Kubernetes Service, the proxy routes only to ready instances: an active health check
asks each upstream's ``/readyz`` every second, so an instance that stops answering it (hung,
draining, lost its JWKS) leaves the rotation after two failed checks and comes back after one
good one. Caddy resolves the ``{file.*}`` dial before each check, so the check follows the
instance a route file names now.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path
from typing import Any

import httpx

from platformctl.catalog import COLORS, SERVICES, other_color
from platformctl.local import loopback
from platformctl.local.state import PlatformState

GRACE_PERIOD = "15s"
TRY_DURATION = "5s"
TRY_INTERVAL = "50ms"
READINESS_CHECK = {"uri": "/readyz", "interval": "1s", "timeout": "1s", "fails": 2, "passes": 1}
COLOR_HEADER = "X-Platform-Color"
VERSION_HEADER = "X-Platform-Version"
# Where a stopped color's upstream points: nothing listens on port 9 (discard) on loopback.
NOWHERE = "127.0.0.1:9"
SPLIT = "split"  # <service>.live during a canary step; also the color header's value then
SPLIT_SLOTS = 20  # a canary step's weight in 5 % units


class ProxyError(RuntimeError):
    pass


def render_config(state: PlatformState, routes: Path) -> dict[str, Any]:
    """The config caddy runs; it depends only on ports and replicas, not on who is live."""
    servers: dict[str, Any] = {}
    for name in SERVICES:
        servers[name] = _server(state.ports.stable[name], name, routes, state, live=True)
        servers[f"{name}-preview"] = _server(
            state.ports.preview[name], name, routes, state, live=False
        )
    return {
        "admin": {"listen": f"127.0.0.1:{state.ports.caddy_admin}", "config": {"persist": False}},
        "logging": {"logs": {"default": {"level": "WARN"}}},
        "apps": {"http": {"grace_period": GRACE_PERIOD, "servers": servers}},
    }


def _file(routes: Path, name: str) -> str:
    return "{file." + str(routes / name) + "}"


def _server(
    port: int, service: str, routes: Path, state: PlatformState, *, live: bool
) -> dict[str, Any]:
    """Routes for both colors; which one serves is whatever ``<service>.live`` says now."""
    selected = []
    if live:
        when_split = {_file(routes, f"{service}.live"): [SPLIT]}
        selected.append(
            {"match": [{"vars": when_split}], "handle": [_split_proxy(service, routes)]}
        )
    for live_color in COLORS:
        color = live_color if live else other_color(live_color)
        # caddy ORs the keys of one vars matcher, so the "is it running" test is nested.
        running = {_file(routes, f"{service}-{color}.running"): ["yes"]}
        serve_color = {
            "handler": "subroute",
            "routes": [
                {"match": [{"vars": running}], "handle": [_proxy(service, color, routes, state)]},
                {"handle": [_stopped(color)]},
            ],
        }
        when_live = {_file(routes, f"{service}.live"): [live_color]}
        selected.append({"match": [{"vars": when_live}], "handle": [serve_color]})
    # Only reached if the route files are missing: never answer an empty 200.
    selected.append({"handle": [_stopped("any")]})
    return {
        "listen": [f"127.0.0.1:{port}"],
        "routes": selected,
        "automatic_https": {"disable": True},
        # Access logs: with the WARN level above, only failed (5xx) requests are written.
        "logs": {},
    }


def _proxy(service: str, color: str, routes: Path, state: PlatformState) -> dict[str, Any]:
    upstreams = [
        {"dial": _file(routes, f"{service}-{color}.{n}")} for n in range(state.runtime.replicas)
    ]
    headers = {COLOR_HEADER: [color], VERSION_HEADER: [_file(routes, f"{service}-{color}.version")]}
    return _reverse_proxy(upstreams, headers)


def _split_proxy(service: str, routes: Path) -> dict[str, Any]:
    upstreams = [{"dial": _file(routes, f"{service}.split.{k}")} for k in range(SPLIT_SLOTS)]
    return _reverse_proxy(upstreams, {COLOR_HEADER: [SPLIT]})


def _reverse_proxy(
    upstreams: list[dict[str, str]], headers: dict[str, list[str]]
) -> dict[str, Any]:
    return {
        "handler": "reverse_proxy",
        "upstreams": upstreams,
        "load_balancing": {
            "selection_policy": {"policy": "round_robin"},
            "try_duration": TRY_DURATION,
            "try_interval": TRY_INTERVAL,
        },
        # Active checks only. No passive ones on purpose: a client that gives up on a slow
        # request counts as an upstream failure, and with max_fails the only replica of a
        # color would be marked down, stalling every request behind it (a spiral under load).
        # A dead replica refuses connections at once, and try_duration retries those.
        "health_checks": {"active": READINESS_CHECK},
        "headers": {"response": {"set": headers}},
    }


def _stopped(color: str) -> dict[str, Any]:
    return {
        "handler": "static_response",
        "status_code": 503,
        "headers": {"Retry-After": ["5"], COLOR_HEADER: [color]},
        "body": f"no {color} instance is running\n" if color != "any" else "no route\n",
    }


def route_files(state: PlatformState) -> dict[str, str]:
    """What each route file should hold for this state."""
    files: dict[str, str] = {}
    for name in SERVICES:
        service = state.services[name]
        files[f"{name}.live"] = SPLIT if service.canary_weight else service.active
        for k, dial in enumerate(split_slots(state, name)):
            files[f"{name}.split.{k}"] = dial
        for color, color_state in service.colors.items():
            ports = [f"127.0.0.1:{i.port}" for i in color_state.current_instances()]
            serving = color_state.running and bool(ports)
            files[f"{name}-{color}.running"] = "yes" if serving else "no"
            files[f"{name}-{color}.version"] = color_state.version
            for n in range(state.runtime.replicas):
                # Fewer instances than replicas (one is starting): repeat the ones there are.
                files[f"{name}-{color}.{n}"] = ports[n % len(ports)] if ports else NOWHERE
    return files


def canary_slots(weight: int | None) -> int:
    """How many of the SPLIT_SLOTS go to the canary for a step's ``weight`` (percent)."""
    if not weight:
        return 0
    # A step is never all or nothing.
    return min(max(round(weight * SPLIT_SLOTS / 100), 1), SPLIT_SLOTS - 1)


def split_percent(weight: int | None) -> int:
    """The percent of live traffic the canary really takes at ``weight``: whole slots."""
    return canary_slots(weight) * 100 // SPLIT_SLOTS


def split_slots(state: PlatformState, name: str) -> list[str]:
    """The SPLIT_SLOTS upstreams of a canary step: round(weight / 5) of them the idle color's
    instances, spread evenly among the active color's (all active when there is no step)."""
    service = state.services[name]
    canary = canary_slots(service.canary_weight)
    pools = {
        color: [f"127.0.0.1:{i.port}" for i in service.colors[color].current_instances()]
        for color in (service.active, service.idle)
    }
    slots, used = [], {color: 0 for color in pools}
    for k in range(SPLIT_SLOTS):
        # Bresenham: slot k is the canary's when the running share crosses a whole slot.
        color = (
            service.idle
            if (k + 1) * canary // SPLIT_SLOTS > k * canary // SPLIT_SLOTS
            else service.active
        )
        pool = pools[color]
        slots.append(pool[used[color] % len(pool)] if pool else NOWHERE)
        used[color] += 1
    return slots


def write_route_files(state: PlatformState, routes: Path) -> bool:
    """Write the files that changed, each by an atomic rename; True if any changed."""
    routes.mkdir(parents=True, exist_ok=True)
    changed = False
    # The upstreams and versions first, the live pointer last, so a switch never points at a
    # color whose files are stale.
    for name, content in sorted(route_files(state).items(), key=lambda kv: kv[0].endswith(".live")):
        path = routes / name
        if path.exists() and path.read_text() == content:
            continue
        scratch = path.with_name(f".{name}.tmp")
        scratch.write_text(content)
        os.replace(scratch, path)
        changed = True
    return changed


def apply(state: PlatformState, routes: Path, *, force: bool = False) -> float | None:
    """Point the routes at what the state implies; reload caddy only if its config changed.

    Call under the state lock. Returns the seconds the change took, or None if nothing changed.
    """
    started = time.perf_counter()
    config = render_config(state, routes)
    digest = hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()
    changed = write_route_files(state, routes)
    if digest != state.proxy_config_digest or (force and not state.proxy_config_digest):
        CaddyAdmin(state.ports.caddy_admin).load(config)
        state.proxy_config_digest = digest
        changed = True
    return time.perf_counter() - started if changed or force else None


class CaddyAdmin:
    def __init__(self, admin_port: int) -> None:
        self.base_url = f"http://127.0.0.1:{admin_port}"

    def load(self, config: dict[str, Any]) -> float:
        """Apply a whole config; returns the seconds caddy took."""
        started = time.perf_counter()
        try:
            response = loopback.client().post(f"{self.base_url}/load", json=config, timeout=20)
        except httpx.HTTPError as exc:
            raise ProxyError(f"caddy admin API at {self.base_url} is unreachable: {exc}") from exc
        if response.status_code != 200:
            raise ProxyError(f"caddy refused the config: {response.text.strip()}")
        return time.perf_counter() - started

    def is_up(self) -> bool:
        try:
            return loopback.client().get(f"{self.base_url}/config/", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False
