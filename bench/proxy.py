"""A real caddy reverse proxy in front of replicas, standing in for a Kubernetes Service.

Active health checks on ``/readyz`` every 250 ms play the endpoints controller (a pod that
reports not-ready leaves the rotation); ``try_duration`` retries a replica that refuses a
connection on another one, as kube-proxy plus a client retry would.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import httpx

from bench.stack import free_port

CADDY = Path(sys.executable).parent / "caddy"


def config(port: int, upstream_ports: Sequence[int]) -> dict:
    return {
        "admin": {"disabled": True},
        "logging": {"logs": {"default": {"level": "ERROR"}}},
        "apps": {
            "http": {
                "servers": {
                    "bench": {
                        "listen": [f"127.0.0.1:{port}"],
                        "automatic_https": {"disable": True},
                        "routes": [{"handle": [_reverse_proxy(upstream_ports)]}],
                    }
                }
            }
        },
    }


def _reverse_proxy(upstream_ports: Sequence[int]) -> dict:
    return {
        "handler": "reverse_proxy",
        "upstreams": [{"dial": f"127.0.0.1:{p}"} for p in upstream_ports],
        "load_balancing": {
            "selection_policy": {"policy": "round_robin"},
            "try_duration": "5s",
            "try_interval": "100ms",
        },
        "health_checks": {
            "active": {"uri": "/readyz", "interval": "250ms", "timeout": "1s"},
            "passive": {"fail_duration": "1s", "max_fails": 1},
        },
    }


class Proxy:
    def __init__(self, workdir: Path, upstream_ports: Sequence[int]) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        path = workdir / "caddy.json"
        path.write_text(json.dumps(config(self.port, upstream_ports), indent=2))
        log = (workdir / "caddy.log").open("ab")
        self.process = subprocess.Popen(
            [str(CADDY), "run", "--config", str(path)], stdout=log, stderr=subprocess.STDOUT
        )
        log.close()

    def wait_until_serving(self, path: str, timeout: float = 30) -> None:
        import time

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + path, timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise TimeoutError(f"caddy at {self.url} did not serve {path}")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)
