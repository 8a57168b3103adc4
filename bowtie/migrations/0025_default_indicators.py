"""The five leading indicators of DESIGN.md §7, at their default thresholds."""

from decimal import Decimal

from django.db import migrations
from django.utils import timezone

# key, label, watched metric, kind, threshold, window days, minimum count
DEFAULT_INDICATORS = [
    (
        "unworked_leads",
        "Unworked leads above 10 %",
        "unworked_rate",
        "above",
        Decimal(10),
        7,
        20,
    ),
    (
        "mql_rejection_rising",
        "MQL rejection rate rising",
        "mql_rejection_rate",
        "rising",
        Decimal(5),
        28,
        20,
    ),
    (
        "time_to_kickoff_slow",
        "Time to kickoff above 14 days",
        "time_to_kickoff",
        "above",
        Decimal(14),
        28,
        3,
    ),
    (
        "onboarding_completion_falling",
        "Onboarding completion falling",
        "go_live_rate",
        "falling",
        Decimal(5),
        28,
        3,
    ),
    (
        "expansion_pipeline_shrinking",
        "Expansion pipeline shrinking",
        "expansion_pipeline_growth",
        "below",
        Decimal(0),
        28,
        1,
    ),
]


def add_default_indicators(apps, schema_editor):
    Indicator = apps.get_model("bowtie", "Indicator")
    now = timezone.now()
    for key, label, metric_key, kind, threshold, window, count in DEFAULT_INDICATORS:
        Indicator.objects.get_or_create(
            key=key,
            defaults={
                "label": label,
                "metric_key": metric_key,
                "kind": kind,
                "threshold": threshold,
                "window_days": window,
                "minimum_count": count,
                "updated_at": now,
            },
        )


def remove_default_indicators(apps, schema_editor):
    Indicator = apps.get_model("bowtie", "Indicator")
    Indicator.objects.filter(key__in=[row[0] for row in DEFAULT_INDICATORS]).delete()


class Migration(migrations.Migration):
    dependencies = [("bowtie", "0024_indicators_and_alerts")]

    operations = [
        migrations.RunPython(add_default_indicators, remove_default_indicators)
    ]
