"""Give every existing SLA target the default escalation ladder (DESIGN.md §4).

Responses: warn at 75 % of the target, the manager at the due time, reassign
24 hours after it, the head of the team 48 hours after it. Longer milestones
(a disposition) are not reassigned: the work is under way, only late.
"""

from django.db import migrations

HOUR = 3600
RESPONSE_LADDER = [
    ("warn", "share_of_target", 75, None),
    ("notify_manager", "share_of_target", 100, None),
    ("reassign", "after_due", None, 24 * HOUR),
    ("escalate", "after_due", None, 48 * HOUR),
]
LONG_MILESTONE_LADDER = [
    ("warn", "share_of_target", 75, None),
    ("notify_manager", "share_of_target", 100, None),
    ("escalate", "after_due", None, 7 * 24 * HOUR),
]


def create_ladders(apps, schema_editor):
    SlaPolicy = apps.get_model("handoffs", "SlaPolicy")
    EscalationRule = apps.get_model("handoffs", "EscalationRule")
    for policy in SlaPolicy.objects.all():
        ladder = (
            RESPONSE_LADDER
            if policy.milestone_key == "first_response"
            else LONG_MILESTONE_LADDER
        )
        for action, anchor, percent, seconds in ladder:
            EscalationRule.objects.get_or_create(
                policy=policy,
                action=action,
                defaults={
                    "anchor": anchor,
                    "percent_of_target": percent,
                    "elapsed_seconds": seconds,
                },
            )


class Migration(migrations.Migration):
    dependencies = [
        ("handoffs", "0005_escalation_ladders"),
    ]

    # Going back drops the table, and the rules with it.
    operations = [migrations.RunPython(create_ladders, migrations.RunPython.noop)]
