"""Charts of the handoff pages: response times, rates and counts by group.

Bars are horizontal so that group names stay whole, and each bar is labelled
with its value in the words the tables use. The style and the rendering are
the core's (`bowtie.charts`), so every chart of the portal looks the same.
"""

import copy

import pygal

from bowtie.charts import (
    ALERT_COLOUR,
    CHART_PADDING,
    CHART_WIDTH,
    MEDIAN_COLOUR,
    RATE_COLOUR,
    ROW_HEIGHT,
    STYLE,
    render,
)
from bowtie.templatetags.bowtie_format import format_duration

__all__ = ["ALERT_COLOUR", "CHART_WIDTH", "STYLE", "render", "UNWORKED_ALERT_RATE"]

# Leading indicator: more than this share of leads unworked raises the alarm
# (DESIGN.md §7).
UNWORKED_ALERT_RATE = 0.10


def chart_height(row_count: int) -> int:
    return CHART_PADDING + ROW_HEIGHT * max(row_count, 1)


# Units for the time axis, the first that keeps the longest bar under 120.
TIME_UNITS = [("minutes", 60), ("hours", 3600), ("days", 86400)]
TICK_STEPS = [0.5, 1, 2, 5, 10, 15, 20, 30, 60, 120, 240, 600, 1200]


def time_unit(longest_seconds: float) -> tuple[str, int]:
    for name, seconds in TIME_UNITS:
        if longest_seconds / seconds < 120:
            return name, seconds
    return TIME_UNITS[-1]


def axis_ticks(longest: float, most: int = 6) -> list[float]:
    """Round ticks from 0 past `longest`, at most `most` of them plus 0."""
    step = next(
        (step for step in TICK_STEPS if longest / step <= most - 1), TICK_STEPS[-1]
    )
    count = int(longest // step) + 2
    return [step * index for index in range(count)]


def response_chart(rows) -> str:
    """Median and p90 time to first response, one pair of bars per group.

    Groups without a response have no bar to draw; the page lists them.
    """
    rows = [row for row in rows if row.median_seconds is not None]
    longest = max((row.p90_seconds for row in rows), default=60)
    unit, unit_seconds = time_unit(longest)
    chart = pygal.HorizontalBar(
        style=STYLE,
        width=CHART_WIDTH,
        height=chart_height(2 * len(rows)),
        js=[],
        legend_at_bottom=True,
        legend_at_bottom_columns=2,
        print_values=True,
        print_values_position="top",
        truncate_label=-1,
        truncate_legend=-1,
        # The axis counts in `unit`; each bar says its own span in words.
        value_formatter=lambda value: f"{value:g}",
        formatter=lambda value: format_duration(value * unit_seconds),
        y_labels=axis_ticks(longest / unit_seconds),
        x_title=unit,
        no_data_text="No responses yet",
        margin_right=80,
    )
    # pygal draws the first label at the bottom; reverse to read top-down.
    rows = rows[::-1]
    chart.x_labels = [row.label for row in rows]
    chart.add("median", [row.median_seconds / unit_seconds for row in rows])
    chart.add("p90", [row.p90_seconds / unit_seconds for row in rows])
    return render(chart)


def rate_chart(rows, rate: str, alert_above: float | None = None) -> str:
    """One bar per group for a share (`unworked_rate` or `conversion_rate`).

    Bars above `alert_above` are drawn in the alert colour. Groups where the
    share is undefined (nothing to divide by) are left out.
    """
    rows = [row for row in rows if getattr(row, rate) is not None][::-1]
    chart = pygal.HorizontalBar(
        style=STYLE,
        width=CHART_WIDTH,
        height=chart_height(len(rows)),
        js=[],
        range=(0, 100),
        show_legend=False,
        print_values=True,
        print_values_position="top",
        truncate_label=-1,
        value_formatter=lambda percent: f"{percent:g}",
        formatter=lambda percent: f"{percent:g} %",
        y_labels=[0, 25, 50, 75, 100],
        x_title="%",
        no_data_text="Nothing to show yet",
        margin_right=50,
    )
    chart.x_labels = [row.label for row in rows]
    values = []
    for row in rows:
        share = getattr(row, rate)
        is_alert = alert_above is not None and share > alert_above
        values.append(
            {
                "value": round(share * 100, 1),
                "color": ALERT_COLOUR if is_alert else RATE_COLOUR,
            }
        )
    chart.add(rate.replace("_", " "), values)
    return render(chart)


def count_chart(rows, count: str, *, alert_above_zero: bool = False) -> str:
    """One bar per group for a count (breaches, reassignments, ...)."""
    rows = rows[::-1]
    longest = max((getattr(row, count) for row in rows), default=0)
    chart = pygal.HorizontalBar(
        style=STYLE,
        width=CHART_WIDTH,
        height=chart_height(len(rows)),
        js=[],
        range=(0, max(longest, 1)),
        show_legend=False,
        print_values=True,
        print_values_position="top",
        truncate_label=-1,
        value_formatter=lambda value: f"{value:g}",
        y_labels=axis_ticks(max(longest, 1)),
        no_data_text="Nothing to show yet",
        margin_right=50,
    )
    chart.x_labels = [row.label for row in rows]
    values = []
    for row in rows:
        value = getattr(row, count)
        is_alert = alert_above_zero and value > 0
        values.append(
            {"value": value, "color": ALERT_COLOUR if is_alert else MEDIAN_COLOUR}
        )
    chart.add(count.replace("_", " "), values)
    return render(chart)


IDLE_COLOUR = "#bcccdc"


def target_chart(rows) -> str:
    """One stacked bar per group: metrics on target, off it, counting nothing.

    `rows` carry a `label` and `on_count`, `off_count` and `idle_count`.
    """
    rows = rows[::-1]
    longest = max(
        (row.on_count + row.off_count + row.idle_count for row in rows), default=1
    )
    style = copy.copy(STYLE)
    # The legend takes each series' colour from the style, in order.
    style.colors = (RATE_COLOUR, ALERT_COLOUR, IDLE_COLOUR)
    chart = pygal.HorizontalStackedBar(
        style=style,
        width=CHART_WIDTH,
        height=chart_height(len(rows)) + 30,
        js=[],
        legend_at_bottom=True,
        legend_at_bottom_columns=3,
        truncate_label=-1,
        truncate_legend=-1,
        value_formatter=lambda value: f"{value:g}",
        # Whole metrics only: a tick at 0.5 would count half of one.
        y_labels=[tick for tick in axis_ticks(longest) if tick == int(tick)],
        range=(0, longest),
        no_data_text="No metric is registered",
        margin_right=30,
    )
    chart.x_labels = [row.label for row in rows]
    for title, count in (
        ("on target", "on_count"),
        ("off target", "off_count"),
        ("no records", "idle_count"),
    ):
        chart.add(title, [getattr(row, count) or None for row in rows])
    return render(chart)
