"""Default first-response targets per lead type (DESIGN.md §2) and weights."""

from django.db import migrations

MINUTE = 60
DAY = 24 * 3600

# Content and webinar nurture gets 3-4 days; the deadline is the upper bound.
FIRST_RESPONSE_TARGETS = {
    "hand_raiser": 5 * MINUTE,
    "paid": 3 * MINUTE,
    "organic": 10 * MINUTE,
    "partner_referral": 30 * MINUTE,
    "nurture": 4 * DAY,
}
DISPOSITION_TARGET = 14 * DAY


def create_defaults(apps, schema_editor):
    SlaPolicy = apps.get_model("handoffs", "SlaPolicy")
    ScoringModel = apps.get_model("handoffs", "ScoringModel")
    for lead_type, seconds in FIRST_RESPONSE_TARGETS.items():
        SlaPolicy.objects.get_or_create(
            handoff_kind="lead_to_sales",
            lead_type=lead_type,
            milestone_key="first_response",
            defaults={"label": "First response", "target_seconds": seconds},
        )
    SlaPolicy.objects.get_or_create(
        handoff_kind="lead_to_sales",
        lead_type="",
        milestone_key="disposition",
        defaults={"label": "Disposition", "target_seconds": DISPOSITION_TARGET},
    )
    if not ScoringModel.objects.exists():
        ScoringModel.objects.create(fit_weight=40, intent_weight=40,
                                    third_party_weight=20)


def remove_defaults(apps, schema_editor):
    apps.get_model("handoffs", "SlaPolicy").objects.filter(
        handoff_kind="lead_to_sales"
    ).delete()
    apps.get_model("handoffs", "ScoringModel").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("handoffs", "0001_initial")]
    operations = [migrations.RunPython(create_defaults, remove_defaults)]
