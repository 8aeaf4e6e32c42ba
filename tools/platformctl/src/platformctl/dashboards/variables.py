"""Grafana template variables in PromQL: substitute them the way Grafana would."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import timedelta

# Dashboard variables select everything by default: the dashboards use `label=~"$var"` and an
# "All" value of `.*`, which also matches a missing label (no `namespace` outside a cluster).
ALL = ".*"
DEFAULT_VARIABLES: Mapping[str, str] = {"namespace": ALL, "service": ALL, "color": ALL}

_VARIABLE = re.compile(r"\$\{(\w+)(?::\w+)?\}|\[\[(\w+)\]\]|\$(\w+)")


def prometheus_duration(delta: timedelta) -> str:
    seconds = max(1, round(delta.total_seconds()))
    return f"{seconds}s"


def rate_interval(step: timedelta, scrape_interval: timedelta) -> timedelta:
    """Grafana's ``$__rate_interval``: max(step + scrape interval, 4 x scrape interval)."""
    return max(step + scrape_interval, 4 * scrape_interval)


def builtin_variables(
    step: timedelta, scrape_interval: timedelta, range_: timedelta
) -> dict[str, str]:
    return {
        "__rate_interval": prometheus_duration(rate_interval(step, scrape_interval)),
        "__interval": prometheus_duration(step),
        "__range": prometheus_duration(range_),
    }


def substitute(expr: str, values: Mapping[str, str]) -> str:
    """Replace ``$var``, ``${var}``, ``${var:fmt}`` and ``[[var]]``; unknown names stay."""

    def replace(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2) or match.group(3)
        return values.get(name, match.group(0))

    return _VARIABLE.sub(replace, expr)
