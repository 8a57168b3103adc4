"""Credit breaches recorded before 0012 to the handoff's current receiver.

The best that is known of them: a lead reassigned after its breach is
credited to its new owner.
"""

from django.db import migrations
from django.db.models import OuterRef, Subquery


def backfill(apps, schema_editor):
    Milestone = apps.get_model("handoffs", "Milestone")
    Handoff = apps.get_model("handoffs", "Handoff")
    Milestone.objects.filter(
        breached_at__isnull=False, owner_at_breach__isnull=True
    ).update(
        owner_at_breach=Subquery(
            Handoff.objects.filter(pk=OuterRef("handoff_id")).values("receiver_id")[:1]
        )
    )


class Migration(migrations.Migration):
    dependencies = [
        ("handoffs", "0012_milestone_owner_at_breach"),
    ]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
