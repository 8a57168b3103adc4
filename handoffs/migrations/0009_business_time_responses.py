"""Count first responses in business time (DESIGN.md §4), nurture excepted.

A nurture follow-up of four days means four calendar days; the disposition
deadline of fourteen days stays elapsed time too.
"""

from django.db import migrations

BUSINESS_TIME_RESPONSES = ["hand_raiser", "paid", "organic", "partner_referral"]


def count_business_time(apps, schema_editor):
    apps.get_model("handoffs", "SlaPolicy").objects.filter(
        handoff_kind="lead_to_sales",
        milestone_key="first_response",
        lead_type__in=BUSINESS_TIME_RESPONSES,
    ).update(clock_type="business")


def count_elapsed_time(apps, schema_editor):
    apps.get_model("handoffs", "SlaPolicy").objects.filter(
        handoff_kind="lead_to_sales",
        milestone_key="first_response",
        lead_type__in=BUSINESS_TIME_RESPONSES,
    ).update(clock_type="elapsed")


class Migration(migrations.Migration):
    dependencies = [
        ("handoffs", "0008_lead_cycle_numbers"),
    ]

    operations = [migrations.RunPython(count_business_time, count_elapsed_time)]
