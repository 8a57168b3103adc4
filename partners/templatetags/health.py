"""An account's health over time: `{% load health %}{% health_trend account %}`.

Drawn on the server as inline SVG with pygal, in the dashboards' style
(handoffs.charts), then the latest score's components with their weights.
"""

from datetime import timedelta

import pygal
from django import template

from bowtie.models import Account, ProductUsage, Subscription, SupportTicket
from bowtie.usage_import import SOURCE_LABELS
from handoffs.charts import CHART_WIDTH, STYLE, render
from partners.models import HealthComponent, HealthScore

register = template.Library()

# About a year of daily scores: enough to see a trend, few enough to draw.
TREND_LIMIT = 366
CHART_HEIGHT = 260
# More date labels than this overlap at the chart's width.
MOST_DATE_LABELS = 6


def date_labels(first_on, last_on) -> list:
    """Up to MOST_DATE_LABELS days spread evenly from the first to the last."""
    span = (last_on - first_on).days
    if span == 0:
        return [first_on]
    count = min(MOST_DATE_LABELS, span + 1)
    return sorted(
        {first_on + timedelta(days=round(span * i / (count - 1))) for i in range(count)}
    )


def trend_chart(scores: list[HealthScore]) -> str:
    """The score by day, 0-100; a day nothing could be measured is a gap."""
    chart = pygal.DateLine(
        style=STYLE,
        width=CHART_WIDTH,
        height=CHART_HEIGHT,
        js=[],
        range=(0, 100),
        show_legend=False,
        show_dots=len(scores) <= 60,
        y_labels=[0, 25, 50, 75, 100],
        # The caption gives the years; the axis only the days.
        x_value_formatter=lambda day: day.strftime("%-d %b"),
        value_formatter=lambda score: f"{score:g}",
        x_label_rotation=0,
        truncate_label=-1,
        no_data_text="No score measured yet",
        margin_right=30,
    )
    chart.x_labels = date_labels(scores[0].scored_on, scores[-1].scored_on)
    chart.add(
        "health score",
        [
            (health.scored_on, None if health.score is None else float(health.score))
            for health in scores
        ],
    )
    return render(chart)


def source_credits(account: Account) -> list[str]:
    """The credit each imported source of the account's data asks for."""
    sources = set()
    for model in (ProductUsage, SupportTicket, Subscription):
        sources.update(
            model.objects.filter(account=account)
            .values_list("source", flat=True)
            .distinct()
        )
    return [
        SOURCE_LABELS[source] for source in sorted(sources) if source in SOURCE_LABELS
    ]


@register.inclusion_tag("partners/_health_trend.html")
def health_trend(account: Account) -> dict:
    latest_first = list(
        HealthScore.objects.filter(account=account).order_by("-scored_on")[:TREND_LIMIT]
    )
    scores = latest_first[::-1]
    latest = latest_first[0] if latest_first else None
    has_measured_score = any(health.score is not None for health in scores)

    components = []
    if latest is not None:
        for name, label in HealthComponent.choices:
            stored = latest.components.get(name, {})
            components.append(
                {
                    "label": label,
                    "value": stored.get("value"),
                    "weight": stored.get("weight"),
                    "basis": stored.get("basis", ""),
                }
            )
    return {
        "account": account,
        "latest": latest,
        "first": scores[0] if scores else None,
        "day_count": len(scores),
        "chart": trend_chart(scores) if has_measured_score else "",
        "components": components,
        "credits": source_credits(account),
    }
