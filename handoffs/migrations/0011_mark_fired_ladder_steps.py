"""Mark the rungs the sweeper already fired; closed ones said they were not."""

from django.db import migrations
from django.db.models import Q

UNFIRED = Q(outcome__startswith="Not needed") | Q(outcome__startswith="Not taken")


def mark_fired(apps, schema_editor):
    LadderStep = apps.get_model("handoffs", "LadderStep")
    LadderStep.objects.filter(taken_at__isnull=False).exclude(UNFIRED).update(
        fired=True
    )


def unmark(apps, schema_editor):
    apps.get_model("handoffs", "LadderStep").objects.update(fired=False)


class Migration(migrations.Migration):
    dependencies = [
        ("handoffs", "0010_ladder_step_fired"),
    ]

    operations = [migrations.RunPython(mark_fired, unmark)]
