"""The review's findings as a rich table, for the CLI."""

from __future__ import annotations

from rich.table import Table

from platformctl.dashboards.review import Report


def panels_without_data_table(report: Report) -> Table:
    """One row per panel without data: unexpected ones first, then those needing a cluster."""
    table = Table(title=f"Panels without data ({report.start:%H:%M:%S} to {report.end:%H:%M:%S})")
    table.add_column("dashboard")
    table.add_column("panel")
    table.add_column("why")
    for review in report.panels:
        if review.errors:
            table.add_row(review.dashboard.uid, review.panel.title, "; ".join(review.errors))
    for review in report.without_data:
        if not review.errors:
            table.add_row(review.dashboard.uid, review.panel.title, "[red]no data[/red]")
    for review in report.cluster_only_without_data:
        table.add_row(
            review.dashboard.uid, review.panel.title, f"needs a cluster: {review.cluster_only}"
        )
    table.caption = report.summary
    return table
