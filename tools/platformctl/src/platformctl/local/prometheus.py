"""Prometheus for the local runtime: its config, its scrape targets, and rule files.

Targets go through ``file_sd``: the supervisor rewrites one JSON file whenever an instance
starts or stops, and Prometheus picks it up without a reload. Each target carries the
``service``, ``color`` and ``version`` labels the analysis and the dashboards select on.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from platformctl.catalog import SERVICES
from platformctl.local import loopback
from platformctl.local.state import PlatformState
from platformctl.paths import Home, repo_root

JOB_NAME = "platform"


def rule_files(rules_dir: Path | None = None) -> tuple[list[Path], list[str]]:
    """Rule files that promtool accepts, and one warning per file it rejects.

    A broken rule file must not keep Prometheus (and so the whole platform) from starting.
    """
    rules_dir = rules_dir or repo_root() / "prometheus" / "rules"
    files = sorted(rules_dir.glob("*.yaml")) + sorted(rules_dir.glob("*.yml"))
    promtool = shutil.which("promtool")
    if not files or promtool is None:
        return files, []
    accepted, warnings = [], []
    for path in files:
        result = subprocess.run(
            [promtool, "check", "rules", str(path)], capture_output=True, text=True, check=False
        )
        if result.returncode == 0:
            accepted.append(path)
        else:
            warnings.append(f"skipped rule file {path}: promtool check rules failed")
    return accepted, warnings


def live_color_file(home: Home) -> Path:
    return home.prometheus_dir / "live-color.yaml"


def write_live_color(
    live: Mapping[str, str], canary_weights: Mapping[str, int], home: Home
) -> Path:
    """``platform_live_color{service,color}`` (1 for the live color) and
    ``platform_traffic_weight``, as the chart records them."""
    from platformctl.dashboards.live_color import render_live_color_rules

    path = live_color_file(home)
    _atomic_write(path, render_live_color_rules(live, canary_weights=canary_weights))
    return path


def reload(port: int) -> None:
    """Ask Prometheus to re-read its config and rule files (``--web.enable-lifecycle``)."""
    loopback.client().post(f"http://127.0.0.1:{port}/-/reload", timeout=5).raise_for_status()


def render_config(state: PlatformState, home: Home, rules: list[Path]) -> dict[str, Any]:
    interval = state.runtime.scrape_interval
    return {
        "global": {
            "scrape_interval": interval,
            "scrape_timeout": interval,
            "evaluation_interval": interval,
        },
        # A glob: the supervisor writes the live-color file once Prometheus runs.
        "rule_files": [str(path) for path in rules] + [str(live_color_file(home)) + "*"],
        "scrape_configs": [
            {
                "job_name": JOB_NAME,
                "file_sd_configs": [{"files": [str(targets_file(home))], "refresh_interval": "5s"}],
            }
        ],
    }


def targets_file(home: Home) -> Path:
    return home.prometheus_dir / "targets.json"


def render_targets(state: PlatformState) -> list[dict[str, Any]]:
    groups = []
    for name in SERVICES:
        for color, color_state in state.services[name].colors.items():
            instances = [i for i in color_state.current_instances() if i.pid]
            if not color_state.running or not instances:
                continue
            groups.append(
                {
                    "targets": [f"127.0.0.1:{i.port}" for i in instances],
                    "labels": {"service": name, "color": color, "version": color_state.version},
                }
            )
    return groups


def write_config(state: PlatformState, home: Home, rules: list[Path]) -> Path:
    path = home.prometheus_dir / "prometheus.yml"
    _atomic_write(path, yaml.safe_dump(render_config(state, home, rules), sort_keys=False))
    write_targets(state, home)
    return path


def write_targets(state: PlatformState, home: Home) -> None:
    _atomic_write(targets_file(home), json.dumps(render_targets(state), indent=2))


def command(config: Path, home: Home, port: int) -> list[str]:
    binary = shutil.which("prometheus")
    if binary is None:
        raise FileNotFoundError(
            "prometheus is not installed; run `make system-deps` "
            "(or: sudo apt-get install -y prometheus)"
        )
    return [
        binary,
        f"--config.file={config}",
        f"--storage.tsdb.path={home.prometheus_dir / 'data'}",
        "--storage.tsdb.retention.time=1d",
        f"--web.listen-address=127.0.0.1:{port}",
        "--web.enable-lifecycle",
        "--log.level=warn",
    ]


def _atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)
