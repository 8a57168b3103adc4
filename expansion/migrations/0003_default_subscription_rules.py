"""The default rules over subscriptions: headcount growth and budget cycles.

Headcount growth: paid seats of open subscriptions up 10 % or more over 30
days, or a subscription started as an upgrade. Budget cycle: an annual
subscription renewing within the next 90 days, when next year's budget is set.
"""

from django.db import migrations

RULES = [
    ("commercial.headcount_growth", 10, 30),
    ("commercial.new_budget_cycle", 1, 90),
]


def create_rules(apps, schema_editor):
    SignalRule = apps.get_model("expansion", "SignalRule")
    for kind, threshold, window_days in RULES:
        SignalRule.objects.get_or_create(
            kind=kind, defaults={"threshold": threshold, "window_days": window_days}
        )


def remove_rules(apps, schema_editor):
    apps.get_model("expansion", "SignalRule").objects.filter(
        kind__in=[kind for kind, *_ in RULES]
    ).delete()


class Migration(migrations.Migration):
    dependencies = [("expansion", "0002_default_signal_rules")]
    operations = [migrations.RunPython(create_rules, remove_rules)]
