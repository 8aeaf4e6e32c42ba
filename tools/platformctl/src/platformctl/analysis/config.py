"""The analysis config file (``analysis.yaml``): parsed and checked into plain dataclasses."""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from string import Template
from typing import Any

import yaml

DEFAULT_FILE = "analysis.yaml"
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)(ms|s|m)$")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0}


class AnalysisConfigError(ValueError):
    pass


def parse_duration(value: str | float | int) -> float:
    """``500ms``, ``2s``, ``1m`` or a number of seconds."""
    if isinstance(value, int | float):
        return float(value)
    match = _DURATION.match(str(value).strip())
    if not match:
        raise AnalysisConfigError(f"bad duration {value!r}; use e.g. 500ms, 2s, 1m")
    return float(match.group(1)) * _UNITS[match.group(2)]


@dataclass(frozen=True)
class Metric:
    name: str
    query: str
    max: float | None = None
    min: float | None = None
    description: str = ""

    def promql(self, selector: str, window: str) -> str:
        return Template(self.query).substitute(selector=selector, window=window)

    def condition(self) -> str:
        parts = []
        if self.min is not None:
            parts.append(f">= {self.min:g}")
        if self.max is not None:
            parts.append(f"<= {self.max:g}")
        return " and ".join(parts)


@dataclass(frozen=True)
class Phase:
    initial_delay: float
    interval: float
    count: int
    failure_limit: int
    inconclusive_limit: int
    load_rate: float

    @property
    def duration(self) -> float:
        return self.initial_delay + self.interval * max(self.count - 1, 0)


@dataclass(frozen=True)
class AnalysisConfig:
    window: str
    pre_promotion: Phase
    post_promotion: Phase
    metrics: tuple[Metric, ...]
    source: str


def load_config(path: Path | None = None) -> AnalysisConfig:
    if path is None:
        text = resources.files("platformctl").joinpath(DEFAULT_FILE).read_text()
        source = f"platformctl/{DEFAULT_FILE}"
    else:
        try:
            text = path.read_text()
        except OSError as exc:
            raise AnalysisConfigError(f"cannot read analysis config {path}: {exc}") from None
        source = str(path)
    try:
        raw = yaml.safe_load(text)
        return _parse(raw, source)
    except (KeyError, TypeError, ValueError, yaml.YAMLError) as exc:
        if isinstance(exc, AnalysisConfigError):
            raise
        raise AnalysisConfigError(f"invalid analysis config {source}: {exc!r}") from None


def _parse(raw: dict[str, Any], source: str) -> AnalysisConfig:
    window = str(raw.get("window", "10s"))
    parse_duration(window)
    metrics = tuple(
        Metric(
            name=m["name"],
            query=m["query"],
            max=_optional_float(m.get("max")),
            min=_optional_float(m.get("min")),
            description=m.get("description", ""),
        )
        for m in raw["metrics"]
    )
    if not metrics:
        raise AnalysisConfigError(f"{source}: at least one metric is needed")
    for metric in metrics:
        if metric.max is None and metric.min is None:
            raise AnalysisConfigError(f"{source}: metric {metric.name} needs max or min")
        try:
            metric.promql('service="x"', window)
        except (KeyError, ValueError) as exc:
            raise AnalysisConfigError(
                f"{source}: metric {metric.name}: unknown placeholder {exc}; "
                "use $selector and $window"
            ) from None
    return AnalysisConfig(
        window=window,
        pre_promotion=_phase(raw["prePromotion"]),
        post_promotion=_phase(raw["postPromotion"]),
        metrics=metrics,
        source=source,
    )


def _phase(raw: dict[str, Any]) -> Phase:
    phase = Phase(
        initial_delay=parse_duration(raw.get("initialDelay", 0)),
        interval=parse_duration(raw.get("interval", "2s")),
        count=int(raw.get("count", 3)),
        failure_limit=int(raw.get("failureLimit", 0)),
        inconclusive_limit=int(raw.get("inconclusiveLimit", 0)),
        load_rate=float((raw.get("load") or {}).get("rate", 0)),
    )
    if phase.count < 1:
        raise AnalysisConfigError("count must be at least 1")
    return phase


def _optional_float(value: Any) -> float | None:
    return None if value is None else float(value)
