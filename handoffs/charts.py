"""Charts for the dashboards, drawn on the server as inline SVG.

pygal needs no JavaScript in the page and nothing from another site.
"""

import pygal
from django.utils.safestring import mark_safe
from pygal.style import Style

STYLE = Style(
    background="transparent",
    plot_background="transparent",
    foreground="#1f2933",
    foreground_strong="#1f2933",
    foreground_subtle="#9aa5b1",
    colors=("#3b6fd4", "#e0863a", "#3f9d6b", "#c2423f"),
    font_family="system-ui, sans-serif",
)


def minutes(seconds: float | None) -> float | None:
    return round(seconds / 60, 1) if seconds is not None else None


def render(chart) -> str:
    return mark_safe(chart.render(is_unicode=True, disable_xml_declaration=True))


def response_chart(title: str, rows) -> str:
    chart = pygal.Bar(
        style=STYLE, height=320, js=[], legend_at_bottom=True, print_values=True,
        value_formatter=lambda value: f"{value:g} min" if value is not None else "",
        y_title="minutes", title=title,
    )
    chart.x_labels = [row.label for row in rows]
    chart.add("median", [minutes(row.median_seconds) for row in rows])
    chart.add("p90", [minutes(row.p90_seconds) for row in rows])
    return render(chart)


def rate_chart(unworked: float | None, conversion: float | None) -> str:
    chart = pygal.HorizontalBar(
        style=STYLE, height=200, js=[], range=(0, 100), print_values=True,
        value_formatter=lambda value: f"{value:.1f} %" if value is not None else "",
        title="Unworked rate and MQL → SQL conversion",
    )
    chart.add("unworked", [round(unworked * 100, 1) if unworked is not None else None])
    chart.add("MQL → SQL", [round(conversion * 100, 1) if conversion is not None
                            else None])
    return render(chart)
