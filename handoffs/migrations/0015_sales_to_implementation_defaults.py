"""The default sales -> implementation packet and clocks (DESIGN.md §2).

The packet's seven elements, each required, most as structured rows; the
clocks: AE briefing within 48 h, kickoff scheduled within 72 h, the customer
intro e-mail within the first week, the first implementation meeting within
seven days (two is best). All elapsed time: they are promises to a customer
in calendar days.
"""

from django.db import migrations

HOUR = 3600
DAY = 24 * HOUR
KIND = "sales_to_implementation"

ITEMS = [
    ("deal_history", "Deal history and origin", "How the deal came about",
     "Source, first contact, what won it.", "text", []),
    ("goals", "Goals", "Goals with measurable success criteria", "", "rows", [
        {"key": "metric", "label": "Metric"},
        {"key": "baseline", "label": "Baseline"},
        {"key": "target", "label": "Target"},
        {"key": "by_when", "label": "By when"},
    ]),
    ("stakeholders", "Stakeholder map", "Stakeholders", "", "rows", [
        {"key": "person", "label": "Person"},
        {"key": "role", "label": "Role", "choices": [
            "champion", "economic buyer", "end user", "detractor"]},
        {"key": "sentiment", "label": "Sentiment", "choices": [
            "positive", "neutral", "negative"]},
    ]),
    ("commitments", "Commitments", "Every commitment the AE made", "", "rows", [
        {"key": "commitment", "label": "Commitment"},
        {"key": "kind", "label": "Explicit or implicit", "choices": [
            "explicit", "implicit"]},
        {"key": "owner", "label": "Owner"},
        {"key": "due_on", "label": "Due date"},
    ]),
    ("risks", "Risks and politics", "Risks and internal politics",
     "What could derail it, and who.", "text", []),
    ("technical_requirements", "Technical requirements", "Requirements", "",
     "rows", [
         {"key": "area", "label": "Area", "choices": [
             "integration", "migration", "compliance"]},
         {"key": "requirement", "label": "Requirement"},
     ]),
    ("timeline", "Timeline", "The customer's timeline and critical events", "",
     "rows", [
         {"key": "event", "label": "Event"},
         {"key": "on", "label": "Date"},
     ]),
]

MILESTONES = [
    ("ae_briefing", "Internal AE briefing", 48 * HOUR),
    ("kickoff_scheduled", "Kickoff scheduled", 72 * HOUR),
    ("intro_email", "Customer intro e-mail", 7 * DAY),
    ("first_meeting", "First implementation meeting", 7 * DAY),
]
LADDER = [
    ("warn", "share_of_target", 75, None),
    ("notify_manager", "share_of_target", 100, None),
    ("escalate", "after_due", None, 24 * HOUR),
]


def create_defaults(apps, schema_editor):
    PacketTemplate = apps.get_model("handoffs", "PacketTemplate")
    PacketItem = apps.get_model("handoffs", "PacketItem")
    SlaPolicy = apps.get_model("handoffs", "SlaPolicy")
    EscalationRule = apps.get_model("handoffs", "EscalationRule")

    template, _ = PacketTemplate.objects.get_or_create(
        handoff_kind=KIND, defaults={"name": "Sales → Implementation packet"}
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
    for key, label, seconds in MILESTONES:
        policy, _ = SlaPolicy.objects.get_or_create(
            handoff_kind=KIND,
            lead_type="",
            milestone_key=key,
            defaults={"label": label, "target_seconds": seconds},
        )
        for action, anchor, percent, after in LADDER:
            EscalationRule.objects.get_or_create(
                policy=policy,
                action=action,
                defaults={
                    "anchor": anchor,
                    "percent_of_target": percent,
                    "elapsed_seconds": after,
                },
            )


def remove_defaults(apps, schema_editor):
    apps.get_model("handoffs", "PacketTemplate").objects.filter(
        handoff_kind=KIND
    ).delete()
    apps.get_model("handoffs", "SlaPolicy").objects.filter(handoff_kind=KIND).delete()


class Migration(migrations.Migration):
    dependencies = [("handoffs", "0014_packet_templates")]
    operations = [migrations.RunPython(create_defaults, remove_defaults)]
