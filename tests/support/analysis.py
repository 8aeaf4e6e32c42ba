"""platformctl's shipped analysis config, varied for a test and written where it can read it."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import yaml


def shipped_analysis(
    folder: Path,
    name: str,
    *,
    sections: Mapping[str, Any] | None = None,
    p95_max: float | None = None,
) -> Path:
    """``folder/<name>.yaml``: the shipped config with whole top-level ``sections`` replaced (the
    phases' timings, say) and, when given, another p95-latency bar."""
    text = resources.files("platformctl").joinpath("analysis.yaml").read_text()
    config = {**yaml.safe_load(text), **copy.deepcopy(dict(sections or {}))}
    if p95_max is not None:
        for metric in config["metrics"]:
            if metric["name"] == "p95-latency":
                metric["max"] = p95_max
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(config))
    return path
