"""The AE's clock once the implementation side sends a packet back.

Two working days on the AE's own calendar to complete the packet and send it
again, with a warning at three quarters of it.
"""

from django.db import migrations

KIND = "sales_to_implementation"
KEY = "packet_resubmitted"
WORKING_DAY = 8 * 3600


def create_resubmission_clock(apps, schema_editor):
    SlaPolicy = apps.get_model("handoffs", "SlaPolicy")
    EscalationRule = apps.get_model("handoffs", "EscalationRule")
    policy, _ = SlaPolicy.objects.get_or_create(
        handoff_kind=KIND,
        lead_type="",
        milestone_key=KEY,
        defaults={
            "label": "Packet completed and sent again",
            "target_seconds": 2 * WORKING_DAY,
            "clock_type": "business",
            "starts_when": "sent_back",
        },
    )
    EscalationRule.objects.get_or_create(
        policy=policy,
        action="warn",
        defaults={"anchor": "share_of_target", "percent_of_target": 75},
    )


def remove_resubmission_clock(apps, schema_editor):
    apps.get_model("handoffs", "SlaPolicy").objects.filter(
        handoff_kind=KIND, milestone_key=KEY
    ).delete()


class Migration(migrations.Migration):
    dependencies = [("handoffs", "0022_handoff_annual_value_eur")]
    operations = [
        migrations.RunPython(create_resubmission_clock, remove_resubmission_clock)
    ]
