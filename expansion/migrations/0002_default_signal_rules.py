"""The default rules over usage data: seats nearly full, new features, actives.

Seats: 80 % or more of the subscribed seats in use. Features: at least one
feature used in the window that was not used in the window before. Actives:
days with use in the window at least 20 % above the window before.
"""

from django.db import migrations

RULES = [
    ("usage.seats_nearly_full", 80, 30),
    ("usage.feature_adoption", 1, 30),
    ("usage.actives_rising", 20, 30),
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
    dependencies = [("expansion", "0001_signals_rules_renewal_actions")]
    operations = [migrations.RunPython(create_rules, remove_rules)]
