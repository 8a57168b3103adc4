"""The default health weights: milestones and people count most at the start."""

from django.db import migrations

WEIGHTS = {
    "milestone_completion": 30,
    "stakeholder_engagement": 20,
    "customer_responsiveness": 20,
    "admin_logins": 20,
    "training_attendance": 10,
}


def create_weights(apps, schema_editor):
    HealthWeight = apps.get_model("partners", "HealthWeight")
    for component, weight in WEIGHTS.items():
        HealthWeight.objects.get_or_create(
            component=component, defaults={"weight": weight}
        )


def remove_weights(apps, schema_editor):
    apps.get_model("partners", "HealthWeight").objects.filter(
        component__in=WEIGHTS
    ).delete()


class Migration(migrations.Migration):
    dependencies = [("partners", "0001_partners_engagements_health")]
    operations = [migrations.RunPython(create_weights, remove_weights)]
