"""Draw a dashboard as one PNG: one subplot per panel, in dashboard order.

Series colors come from the dashboard's own fixed-color overrides (blue and green), so the
picture shows what Grafana shows; other series take colors that cannot be mistaken for them.
"""

from __future__ import annotations

import math
import re
import textwrap
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib

matplotlib.use("Agg")  # files only, never a display

import matplotlib.dates as mdates
import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.ticker import FuncFormatter

if TYPE_CHECKING:
    from platformctl.dashboards.model import Dashboard, Panel
    from platformctl.dashboards.prometheus import Series
    from platformctl.dashboards.review import PanelReview

COLUMNS = 2
PANEL_SIZE = (9.0, 3.0)  # inches, legend included
DPI = 80
MAX_LEGEND_ENTRIES = 10
# Neither blue nor green: those two mean the colors of a release.
OTHER_COLORS = ("#E0752D", "#8F3BB8", "#C4162A", "#8AB8FF", "#705DA0", "#FF9830", "#96D98D")
LINE_STYLES = ("-", "--", "-.", ":")
_LEGEND_LABEL = re.compile(r"\{\{\s*(\w+)\s*\}\}")


def legend_name(legend: str, labels: dict[str, str]) -> str:
    """Grafana's legend format: ``{{label}}`` placeholders, the label set when empty."""
    if not legend:
        return "{" + ", ".join(f'{k}="{v}"' for k, v in sorted(labels.items())) + "}"
    return _LEGEND_LABEL.sub(lambda m: labels.get(m.group(1), ""), legend).strip()


def _number(v: float) -> str:
    return f"{v:,.0f}" if abs(v) >= 1000 else f"{v:.3g}"


def unit_formatter(unit: str) -> Callable[[float, object], str]:
    def percent(v: float, _: object = None) -> str:
        return f"{_number(v * 100)} %"

    def seconds(v: float, _: object = None) -> str:
        return f"{v * 1000:.3g} ms" if abs(v) < 1 else f"{v:.3g} s"

    def bytes_(v: float, _: object = None) -> str:
        return f"{v / 2**20:.3g} MiB"

    def plain(v: float, _: object = None) -> str:
        return _number(v)

    if unit.startswith("suffix:"):
        suffix = unit.removeprefix("suffix:")
        return lambda v, _=None: f"{_number(v)}{suffix}"
    return {
        "percentunit": percent,
        "s": seconds,
        "bytes": bytes_,
        "reqps": lambda v, _=None: f"{_number(v)} req/s",
    }.get(unit, plain)


def render_snapshot(
    dashboard: Dashboard,
    reviews: Sequence[PanelReview],
    path: Path,
    start: datetime,
    end: datetime,
) -> Path:
    rows = max(1, math.ceil(len(reviews) / COLUMNS))
    fig, axes = plt.subplots(
        rows,
        COLUMNS,
        figsize=(PANEL_SIZE[0] * COLUMNS, PANEL_SIZE[1] * rows + 0.6),
        squeeze=False,
        layout="constrained",
    )
    for ax, review in zip(axes.flat, reviews, strict=False):
        _draw_panel(ax, review)
    for ax in list(axes.flat)[len(reviews) :]:
        ax.set_visible(False)
    fig.suptitle(
        f"{dashboard.title}  ({start:%Y-%m-%d %H:%M:%S} to {end:%H:%M:%S %Z})",
        fontsize=14,
        fontweight="bold",
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    return path


def _draw_panel(ax: Axes, review: PanelReview) -> None:
    panel = review.panel
    ax.set_title(panel.title, fontsize=10, loc="left")
    ax.tick_params(labelsize=7)
    if review.errors:
        _message(ax, "query error:\n" + "\n".join(e[:80] for e in review.errors), "#C4162A")
    elif not review.has_data:
        text = f"needs a cluster\n{review.cluster_only}" if review.cluster_only else "no data"
        _message(ax, text, "#808080")
    elif panel.type == "stat" and panel.text_mode == "name":
        _draw_names(ax, review)
    elif panel.type == "stat":
        _draw_stat(ax, review)
    else:
        _draw_timeseries(ax, review)


def _named_series(review: PanelReview) -> list[tuple[str, Series]]:
    named = []
    for result in review.results:
        for series in result.series:
            if series.has_values:
                named.append((legend_name(result.target.legend, series.labels), series))
    return sorted(named, key=lambda item: item[0])


def _styles(panel: Panel, names: list[str]) -> list[tuple[str, str]]:
    """(color, line style) per series: fixed colors first; repeats of a color vary the style."""
    styles, used, others = [], {}, iter(OTHER_COLORS * (1 + len(names)))
    for name in names:
        color = panel.fixed_color(name) or next(others)
        style = LINE_STYLES[used.get(color, 0) % len(LINE_STYLES)]
        used[color] = used.get(color, 0) + 1
        styles.append((color, style))
    return styles


def _draw_timeseries(ax: Axes, review: PanelReview) -> None:
    named = _named_series(review)
    styles = _styles(review.panel, [name for name, _ in named])
    for (name, series), (color, style) in zip(named, styles, strict=True):
        ax.plot(series.times, series.values, label=name, color=color, linestyle=style, lw=1.4)
    ax.yaxis.set_major_formatter(FuncFormatter(unit_formatter(review.panel.unit)))
    ax.xaxis.set_major_locator(mdates.AutoDateLocator(maxticks=6))
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M:%S"))
    ax.grid(alpha=0.3)
    handles, labels = ax.get_legend_handles_labels()
    extra = len(labels) - MAX_LEGEND_ENTRIES
    if extra > 0:
        handles, labels = handles[:MAX_LEGEND_ENTRIES], labels[:MAX_LEGEND_ENTRIES]
        labels[-1] += f"  (+{extra} more)"
    # Beside the plot, never over the lines.
    ax.legend(handles, labels, fontsize=6, loc="upper left", bbox_to_anchor=(1.01, 1.0))


def _draw_stat(ax: Axes, review: PanelReview) -> None:
    named = _named_series(review)
    styles = _styles(review.panel, [name for name, _ in named])
    fmt = unit_formatter(review.panel.unit)
    names = [name for name, _ in named]
    last = [next(v for v in reversed(s.values) if not math.isnan(v)) for _, s in named]
    positions = range(len(named))
    ax.barh(positions, last, color=[c for c, _ in styles], height=0.6)
    ax.set_yticks(list(positions), names, fontsize=7)
    ax.invert_yaxis()
    ax.xaxis.set_major_formatter(FuncFormatter(fmt))
    for y, value in zip(positions, last, strict=True):
        ax.text(value, y, f" {fmt(value)}", va="center", fontsize=7)
    ax.margins(x=0.25)


def _draw_names(ax: Axes, review: PanelReview) -> None:
    """A stat panel in "name" mode: one colored line of text per series."""
    named = _named_series(review)
    styles = _styles(review.panel, [name for name, _ in named])
    rows = max(len(named), 1)
    for i, ((name, _), (color, _)) in enumerate(zip(named, styles, strict=True)):
        y = 1 - (i + 0.5) / rows
        ax.text(0.5, y, name, ha="center", va="center", fontsize=11, color=color, weight="bold")
    ax.set_xticks([])
    ax.set_yticks([])


def _message(ax: Axes, text: str, color: str) -> None:
    wrapped = "\n".join(textwrap.fill(line, 60) for line in text.splitlines())
    ax.text(0.5, 0.5, wrapped, ha="center", va="center", fontsize=9, color=color)
    ax.set_xticks([])
    ax.set_yticks([])
