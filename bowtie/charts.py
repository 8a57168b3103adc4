"""Charts of the portal, drawn on the server as inline SVG.

pygal needs no JavaScript in the page and nothing from another site. The page
gives each chart its heading, so the SVG carries none. The dashboard draws a
metric's weeks as a line with its target beside it, and groups as bars.
"""

import re

import pygal
from django.utils.safestring import mark_safe
from pygal.style import Style

MEDIAN_COLOUR = "#3b6fd4"
P90_COLOUR = "#e0863a"
RATE_COLOUR = "#3f9d6b"
ALERT_COLOUR = "#c2423f"

STYLE = Style(
    background="transparent",
    plot_background="transparent",
    foreground="#1f2933",
    foreground_strong="#1f2933",
    foreground_subtle="#d9e2ec",
    colors=(MEDIAN_COLOUR, P90_COLOUR, RATE_COLOUR, ALERT_COLOUR),
    font_family="system-ui, sans-serif",
    guide_stroke_color="#d9e2ec",
    major_guide_stroke_color="#d9e2ec",
    guide_stroke_dasharray="0",
    major_guide_stroke_dasharray="0",
    opacity=".85",
    opacity_hover=".95",
    label_font_size=13,
    major_label_font_size=13,
    legend_font_size=13,
    value_font_size=12,
    tooltip_font_size=13,
    no_data_font_size=15,
)

# Drawn at about the width they get on the page, so text keeps its size.
CHART_WIDTH = 560
ROW_HEIGHT = 52
CHART_PADDING = 90


# pygal writes its configuration into a <script> even when told to load no
# JavaScript; the charts need none of it.
SCRIPT = re.compile(r"<script\b[^>]*>.*?</script>", re.DOTALL)


def render(chart) -> str:
    svg = chart.render(is_unicode=True, disable_xml_declaration=True)
    return mark_safe(SCRIPT.sub("", svg))


TARGET_COLOUR = "#7b8794"


def point_values(points, *, higher_is_better: bool, target) -> list:
    """Values for pygal, off-target ones in the alert colour."""
    values = []
    for point in points:
        if point.value is None:
            values.append(None)
            continue
        colour = RATE_COLOUR if target.holds(point.value) is not False else ALERT_COLOUR
        values.append({"value": round(point.value, 2), "color": colour})
    return values


def target_lines(chart, target, count: int) -> None:
    for name, bound in (("least", target.minimum), ("most", target.maximum)):
        if bound is not None:
            chart.add(
                f"target, {name}",
                [float(bound)] * count,
                stroke_style={"width": 2, "dasharray": "6,4"},
                show_dots=False,
                color=TARGET_COLOUR,
            )


def trend_chart(points, *, unit_suffix: str, target, higher_is_better=True) -> str:
    """A metric's value week by week, the target's bounds as dashed lines."""
    chart = pygal.Line(
        style=STYLE,
        width=CHART_WIDTH,
        height=260,
        js=[],
        show_legend=False,
        allow_interruptions=True,
        x_label_rotation=0,
        show_minor_x_labels=False,
        x_labels_major_every=max(1, len(points) // 6),
        truncate_label=-1,
        dots_size=4,
        value_formatter=lambda value: f"{value:g}{unit_suffix}",
        no_data_text="Nothing to show yet",
        include_x_axis=True,
    )
    chart.x_labels = [point.label for point in points]
    chart.add(
        "value",
        point_values(points, higher_is_better=higher_is_better, target=target),
    )
    target_lines(chart, target, len(points))
    return render(chart)


def group_chart(points, *, unit_suffix: str, target, higher_is_better=True) -> str:
    """One bar per group (an expansion type, a team), off-target bars in red."""
    shown = [point for point in points if point.value is not None][::-1]
    chart = pygal.HorizontalBar(
        style=STYLE,
        width=CHART_WIDTH,
        height=CHART_PADDING + ROW_HEIGHT * max(len(shown), 1),
        js=[],
        show_legend=False,
        print_values=True,
        print_values_position="top",
        truncate_label=-1,
        value_formatter=lambda value: f"{value:g}{unit_suffix}",
        no_data_text="Nothing to show yet",
        include_x_axis=True,
        margin_right=60,
    )
    chart.x_labels = [point.label for point in shown]
    chart.add(
        "value", point_values(shown, higher_is_better=higher_is_better, target=target)
    )
    return render(chart)


# Pixels of the tallest bar of a chart drawn for e-mail.
MAIL_BAR_HEIGHT = 80


def mail_bars(points, *, unit_suffix: str, target) -> list[dict]:
    """A bar per point for an e-mail, off-target ones in the alert colour.

    Mail clients drop SVG and scripts but keep table cells with inline
    styles, so a chart in an e-mail is a row of cells whose heights are in
    pixels here. A point without a value gets no bar.
    """
    tallest = max((abs(p.value) for p in points if p.value is not None), default=0)
    bars = []
    for point in points:
        if point.value is None:
            bars.append({"label": point.label, "text": "–", "height": 0})
            continue
        off = target.holds(point.value) is False
        height = round(MAIL_BAR_HEIGHT * abs(point.value) / tallest) if tallest else 0
        bars.append(
            {
                "label": point.label,
                "text": f"{round(point.value, 1):g}{unit_suffix}",
                "height": max(height, 1),
                "colour": ALERT_COLOUR if off else RATE_COLOUR,
            }
        )
    return bars
