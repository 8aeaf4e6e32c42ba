"""Dashboard review without a Grafana server.

Every panel query of every dashboard in ``grafana-dashboards/`` is evaluated against a
Prometheus over a time range, each dashboard is drawn as one PNG (one subplot per panel, blue and
green in the colors the dashboard fixes), and panels that returned no data are reported.

    report = review_dashboards("http://127.0.0.1:9090", Path("grafana-dashboards"),
                               Path("docs/images"), start, end)
"""

from platformctl.dashboards.model import Dashboard, Panel, Target, load_dashboards
from platformctl.dashboards.review import PanelReview, Report, review_dashboards
from platformctl.dashboards.table import panels_without_data_table

__all__ = [
    "Dashboard",
    "Panel",
    "PanelReview",
    "Report",
    "Target",
    "load_dashboards",
    "panels_without_data_table",
    "review_dashboards",
]
