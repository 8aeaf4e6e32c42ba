"""The ``platform_live_color`` series: which color each service's stable Service selects; and
``platform_traffic_weight``: the percent of live traffic each color takes (100 and 0, or a
canary step's split).

Alerts page only for the live color and dashboards show it, so whatever flips the live color
also publishes it, as a recording rule with constant labels:

- in a cluster the chart renders this group from ``activeColor`` (per service, with the
  release namespace), into the bundled Prometheus and the PrometheusRule;
- locally ``platformctl`` writes it next to its Prometheus config and reloads Prometheus.

The live color's value is 1, the idle one's 0.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import yaml

COLORS = ("blue", "green")
GROUP_NAME = "platform-live-color"


def live_color_rule_group(
    live_colors: Mapping[str, str],
    namespace: str | None = None,
    canary_weights: Mapping[str, int] | None = None,
) -> dict[str, Any]:
    """A rule group recording ``platform_live_color`` and ``platform_traffic_weight``
    ``{service, color[, namespace]}``; ``canary_weights``: service -> the percent of its live
    traffic the idle color takes during a canary step (absent or 0: none)."""
    rules = []
    for service, live in sorted(live_colors.items()):
        if live not in COLORS:
            raise ValueError(f"{service}: live color must be one of {COLORS}, not {live!r}")
        canary = (canary_weights or {}).get(service) or 0
        if not 0 <= canary < 100:
            raise ValueError(f"{service}: a canary weight is a percent below 100, not {canary!r}")
        labels = [{"service": service, "color": color} for color in COLORS]
        if namespace:
            labels = [own | {"namespace": namespace} for own in labels]
        for own in labels:
            live_now = own["color"] == live
            rules.append(
                {
                    "record": "platform_live_color",
                    "expr": "vector(1)" if live_now else "vector(0)",
                    "labels": own,
                }
            )
        for own in labels:
            weight = 100 - canary if own["color"] == live else canary
            rules.append(
                {"record": "platform_traffic_weight", "expr": f"vector({weight})", "labels": own}
            )
    return {"name": GROUP_NAME, "rules": rules}


def render_live_color_rules(
    live_colors: Mapping[str, str],
    namespace: str | None = None,
    canary_weights: Mapping[str, int] | None = None,
) -> str:
    """A complete rule file (YAML) for ``rule_files`` or a PrometheusRule's ``spec``."""
    group = live_color_rule_group(live_colors, namespace, canary_weights)
    return yaml.safe_dump({"groups": [group]}, sort_keys=False)
