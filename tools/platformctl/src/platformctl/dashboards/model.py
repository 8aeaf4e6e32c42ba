"""Dashboards as plain data: the panels, their queries, units and fixed series colors."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Target:
    ref_id: str
    expr: str
    legend: str
    instant: bool


@dataclass(frozen=True)
class ColorRule:
    """A Grafana ``byRegexp`` override that fixes the color of matching series names."""

    pattern: re.Pattern[str]
    color: str

    @classmethod
    def from_regexp(cls, option: str, color: str) -> ColorRule:
        # Grafana's stringToJsRegex: "/re/" searches, a bare string must match the whole name.
        if len(option) > 1 and option.startswith("/") and option.endswith("/"):
            return cls(re.compile(option[1:-1]), color)
        return cls(re.compile(f"^(?:{option})$"), color)

    def matches(self, series_name: str) -> bool:
        return bool(self.pattern.search(series_name))


@dataclass(frozen=True)
class Panel:
    id: int
    title: str
    type: str
    unit: str
    targets: tuple[Target, ...]
    color_rules: tuple[ColorRule, ...] = ()
    # Stat panels: "name" shows the series names (e.g. the live color), not their values.
    text_mode: str = ""

    def fixed_color(self, series_name: str) -> str | None:
        for rule in self.color_rules:
            if rule.matches(series_name):
                return rule.color
        return None


@dataclass(frozen=True)
class Dashboard:
    uid: str
    title: str
    path: Path
    panels: tuple[Panel, ...]
    raw: dict[str, Any] = field(repr=False, compare=False)

    @property
    def queries(self) -> list[tuple[Panel, Target]]:
        return [(panel, target) for panel in self.panels for target in panel.targets]


def load_dashboard(path: Path) -> Dashboard:
    raw = json.loads(path.read_text())
    panels = tuple(_panel(p) for p in _flatten(raw.get("panels", [])) if p.get("type") != "row")
    return Dashboard(uid=raw["uid"], title=raw["title"], path=path, panels=panels, raw=raw)


def load_dashboards(directory: Path) -> list[Dashboard]:
    return [load_dashboard(path) for path in sorted(directory.glob("*.json"))]


def _flatten(panels: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Panels in order, including those nested inside collapsed rows."""
    out = []
    for panel in panels:
        out.append(panel)
        out.extend(_flatten(panel.get("panels", [])))
    return out


def _panel(raw: dict[str, Any]) -> Panel:
    field_config = raw.get("fieldConfig", {})
    targets = tuple(
        Target(
            ref_id=t.get("refId", ""),
            expr=t["expr"],
            legend=t.get("legendFormat", ""),
            instant=bool(t.get("instant")) and not t.get("range"),
        )
        for t in raw.get("targets", [])
        if t.get("expr")
    )
    return Panel(
        id=raw["id"],
        title=raw["title"],
        type=raw["type"],
        unit=field_config.get("defaults", {}).get("unit", ""),
        targets=targets,
        color_rules=tuple(_color_rules(field_config.get("overrides", []))),
        text_mode=raw.get("options", {}).get("textMode", ""),
    )


def _color_rules(overrides: list[dict[str, Any]]) -> list[ColorRule]:
    rules = []
    for override in overrides:
        matcher = override.get("matcher", {})
        if matcher.get("id") != "byRegexp":
            continue
        for prop in override.get("properties", []):
            value = prop.get("value")
            if prop.get("id") == "color" and isinstance(value, dict) and value.get("fixedColor"):
                rules.append(ColorRule.from_regexp(matcher["options"], value["fixedColor"]))
    return rules
