"""The default CS -> Sales (expansion) packet and clocks (DESIGN.md §2).

The packet is the CSM brief: health, usage, stakeholders and whitespace, each
required. The receiving owner accepts within 48 hours (elapsed: a signal
cools in calendar time) and schedules the joint meeting with the CSM within
five working days.
"""

from django.db import migrations

KIND = "cs_to_sales"
HOUR = 3600
WORKING_DAY = 8 * HOUR

ITEMS = [
    ("health", "Health", "Account health", "Score, trend and what drives it.",
     "text", []),
    ("usage", "Usage", "Usage", "Seats in use, features, actives over time.",
     "text", []),
    ("stakeholders", "Stakeholders", "Stakeholders", "", "rows", [
        {"key": "person", "label": "Person"},
        {"key": "role", "label": "Role", "choices": [
            "champion", "economic buyer", "admin", "end user", "detractor"]},
        {"key": "sentiment", "label": "Sentiment", "choices": [
            "positive", "neutral", "negative"]},
    ]),
    ("whitespace", "Whitespace", "Whitespace",
     "Products the account does not own yet.", "text", []),
]

MILESTONES = [
    ("owner_accepted", "Expansion owner accepted", 48 * HOUR, "elapsed"),
    ("joint_meeting", "Joint meeting scheduled", 5 * WORKING_DAY, "business"),
]


def create_defaults(apps, schema_editor):
    PacketTemplate = apps.get_model("handoffs", "PacketTemplate")
    PacketItem = apps.get_model("handoffs", "PacketItem")
    SlaPolicy = apps.get_model("handoffs", "SlaPolicy")
    EscalationRule = apps.get_model("handoffs", "EscalationRule")

    template, _ = PacketTemplate.objects.get_or_create(
        handoff_kind=KIND, defaults={"name": "CSM brief"}
    )
    for position, (key, section, label, help_text, kind, parts) in enumerate(ITEMS):
        PacketItem.objects.get_or_create(
            template=template,
            key=key,
            defaults={
                "section": section,
                "label": label,
                "help_text": help_text,
                "kind": kind,
                "parts": parts,
                "position": position,
            },
        )
    for key, label, seconds, clock_type in MILESTONES:
        policy, _ = SlaPolicy.objects.get_or_create(
            handoff_kind=KIND,
            lead_type="",
            milestone_key=key,
            defaults={
                "label": label,
                "target_seconds": seconds,
                "clock_type": clock_type,
            },
        )
        for action, percent in (("warn", 75), ("notify_manager", 100)):
            EscalationRule.objects.get_or_create(
                policy=policy,
                action=action,
                defaults={"anchor": "share_of_target", "percent_of_target": percent},
            )


def remove_defaults(apps, schema_editor):
    apps.get_model("handoffs", "PacketTemplate").objects.filter(
        handoff_kind=KIND
    ).delete()
    apps.get_model("handoffs", "SlaPolicy").objects.filter(handoff_kind=KIND).delete()


class Migration(migrations.Migration):
    dependencies = [("handoffs", "0024_implementation_to_cs_defaults")]
    operations = [migrations.RunPython(create_defaults, remove_defaults)]
