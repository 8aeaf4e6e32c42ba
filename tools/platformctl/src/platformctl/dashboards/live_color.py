"""The ``platform_live_color`` series: which color each service's stable Service selects.

Alerts page only for the live color and dashboards show it, so whatever flips the live color
also publishes it, as a recording rule with constant labels:

- in a cluster the chart renders this group from ``activeColor`` (per service, with the
  release namespace), into the bundled Prometheus and the PrometheusRule;
- locally ``platformctl`` writes it next to its Prometheus config and reloads Prometheus.

The value is 1 for the live color and 0 for the idle one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import yaml

COLORS = ("blue", "green")
GROUP_NAME = "platform-live-color"


def live_color_rule_group(
    live_colors: Mapping[str, str], namespace: str | None = None
) -> dict[str, Any]:
    """A rule group recording ``platform_live_color{service, color[, namespace]}``."""
    rules = []
    for service, live in sorted(live_colors.items()):
        if live not in COLORS:
            raise ValueError(f"{service}: live color must be one of {COLORS}, not {live!r}")
        for color in COLORS:
            labels = {"service": service, "color": color}
            if namespace:
                labels["namespace"] = namespace
            rules.append(
                {
                    "record": "platform_live_color",
                    "expr": "vector(1)" if color == live else "vector(0)",
                    "labels": labels,
                }
            )
    return {"name": GROUP_NAME, "rules": rules}


def render_live_color_rules(live_colors: Mapping[str, str], namespace: str | None = None) -> str:
    """A complete rule file (YAML) for ``rule_files`` or a PrometheusRule's ``spec``."""
    group = live_color_rule_group(live_colors, namespace)
    return yaml.safe_dump({"groups": [group]}, sort_keys=False)
