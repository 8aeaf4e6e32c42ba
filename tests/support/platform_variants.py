"""Values variants of the platform chart that the chart tests render: each color, and every
optional flag on and off. Other suites can render the same variants with ``render_variant``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tests.support.helm_render import (
    COLORS,
    MONITORING_API_VERSIONS,
    PLATFORM_CHART,
    SERVICES,
    Object,
    merge_values,
    render,
)

DIGEST = "sha256:" + "ab" * 32


@dataclass(frozen=True)
class Variant:
    name: str
    values: dict[str, Any] = field(default_factory=dict)
    api_versions: tuple[str, ...] = ()


def _per_service_color(settings: dict[str, Any]) -> dict[str, Any]:
    return {service: {color: settings for color in COLORS} for service in SERVICES}


_EXISTING_SECRETS = {
    "auth": {"secret": {"existingSecret": "auth-secrets"}},
    "orders": {"secret": {"existingSecret": "orders-secrets"}},
}

VARIANTS: tuple[Variant, ...] = (
    Variant("blue"),
    Variant("green", {"global": {"activeColor": "green"}}),
    # Every optional resource on: external monitoring (PodMonitor, PrometheusRule), HPAs,
    # pinned digests, fault injection on the idle color, extra ingress peers.
    Variant(
        "all-on",
        merge_values(
            {
                "monitoring": {"external": {"enabled": True}},
                "prometheus": {"enabled": False},
                "grafana": {"enabled": False},
                "orders": {
                    "green": {"faults": {"errorRate": 0.2, "latencyMs": 150}},
                    "networkPolicy": {
                        "extraIngressFrom": [
                            {
                                "namespaceSelector": {
                                    "matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}
                                }
                            }
                        ]
                    },
                },
            },
            _per_service_color({"autoscaling": {"enabled": True}, "image": {"digest": DIGEST}}),
            {"tests": {"image": {"digest": DIGEST}}},
        ),
        MONITORING_API_VERSIONS,
    ),
    # Every optional resource off, and the idle color scaled away entirely.
    Variant(
        "all-off",
        merge_values(
            {
                "global": {"networkPolicy": {"enabled": False}},
                "monitoring": {"rules": {"enabled": False}, "dashboards": {"enabled": False}},
                "tests": {"enabled": False},
                "prometheus": {"enabled": False},
                "grafana": {"enabled": False},
            },
            {service: {"green": {"enabled": False}} for service in SERVICES},
            _per_service_color({"pdb": {"enabled": False}}),
        ),
    ),
    Variant(
        "production",
        merge_values(
            {"global": {"environment": "production", "activeColor": "green"}},
            _EXISTING_SECRETS,
            _per_service_color(
                {"autoscaling": {"enabled": True, "minReplicas": 3, "maxReplicas": 12}}
            ),
        ),
    ),
)


def render_variant(variant: Variant) -> list[Object]:
    return render(PLATFORM_CHART, variant.values, api_versions=variant.api_versions)
