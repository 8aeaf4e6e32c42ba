"""The one place that says which metrics exist only in a Kubernetes cluster, and why.

A panel is cluster-only when one of its queries reads such a metric. Outside a cluster it has
no data by design; the review reports it apart and the real-data tests skip it with this reason.
"""

from __future__ import annotations

from datetime import timedelta

import promql_parser

from platformctl.dashboards.model import Panel
from platformctl.dashboards.variables import DEFAULT_VARIABLES, builtin_variables, substitute

CLUSTER_ONLY_SOURCES: dict[str, str] = {
    "kube_": "kube-state-metrics (Deployments, Pods, HPAs) runs only in a cluster",
    "container_": "cAdvisor container metrics come from the kubelet, only in a cluster",
}


def metric_names(expr: str) -> set[str]:
    names: set[str] = set()

    def visit(node: promql_parser.Expr) -> None:
        # walk() also descends into the vector selector of every range selector.
        if isinstance(node, promql_parser.VectorSelector) and node.name:
            names.add(node.name)

    promql_parser.walk(promql_parser.parse(expr), visit)
    return names


def cluster_only_reason(panel: Panel, substituted_exprs: list[str]) -> str | None:
    """Why ``panel`` can only show data in a cluster, or None if it works anywhere."""
    for expr in substituted_exprs:
        for name in sorted(metric_names(expr)):
            for prefix, reason in CLUSTER_ONLY_SOURCES.items():
                if name.startswith(prefix):
                    return f"{name}: {reason}"
    return None


def panel_cluster_only_reason(panel: Panel) -> str | None:
    """``cluster_only_reason`` for a panel as written, before any review: its queries with the
    default variables (any step will do; only the metric names matter)."""
    minute = timedelta(minutes=1)
    values = {**DEFAULT_VARIABLES, **builtin_variables(minute, minute, minute)}
    return cluster_only_reason(panel, [substitute(t.expr, values) for t in panel.targets])
