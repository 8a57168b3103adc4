"""The default Implementation -> CS packet and clocks (DESIGN.md §2).

The seven elements the implementation side hands to customer success when
hypercare ends, each required; customer success accepts within two working
days, and holds its first check-in with the customer within five. A packet
sent back gets the implementation lead two working days to send it again.
"""

from django.db import migrations

KIND = "implementation_to_cs"
WORKING_DAY = 8 * 3600

ITEMS = [
    ("scope_configuration", "Scope and configuration", "What was built",
     "Modules live, configuration choices, integrations switched on.", "text", []),
    ("training", "Training", "Training status and gaps", "", "rows", [
        {"key": "group", "label": "Group or role"},
        {"key": "status", "label": "Status", "choices": [
            "trained", "partly trained", "not trained"]},
        {"key": "gap", "label": "Gap"},
    ]),
    ("open_issues", "Open issues", "Open issues with workarounds", "", "rows", [
        {"key": "issue", "label": "Issue"},
        {"key": "workaround", "label": "Workaround"},
        {"key": "owner", "label": "Owner"},
    ]),
    ("sentiment", "Sentiment", "Sentiment during implementation",
     "How the customer felt, and when that changed.", "text", []),
    ("stakeholders", "Stakeholder map", "Updated stakeholder map", "", "rows", [
        {"key": "person", "label": "Person"},
        {"key": "role", "label": "Role", "choices": [
            "champion", "economic buyer", "admin", "end user", "detractor"]},
        {"key": "sentiment", "label": "Sentiment", "choices": [
            "positive", "neutral", "negative"]},
    ]),
    ("adoption", "Adoption", "First adoption metrics",
     "Active users, features in use, usage since go-live.", "text", []),
    ("lessons", "Lessons", "Lessons learned", "", "text", []),
]

MILESTONES = [
    ("cs_accepted", "Customer success accepted", 2 * WORKING_DAY, "opened"),
    ("first_check_in", "First CS check-in", 5 * WORKING_DAY, "opened"),
    ("packet_resubmitted", "Packet completed and sent again", 2 * WORKING_DAY,
     "sent_back"),
]


def create_defaults(apps, schema_editor):
    PacketTemplate = apps.get_model("handoffs", "PacketTemplate")
    PacketItem = apps.get_model("handoffs", "PacketItem")
    SlaPolicy = apps.get_model("handoffs", "SlaPolicy")
    EscalationRule = apps.get_model("handoffs", "EscalationRule")

    template, _ = PacketTemplate.objects.get_or_create(
        handoff_kind=KIND, defaults={"name": "Implementation → CS packet"}
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
    for key, label, seconds, starts_when in MILESTONES:
        policy, _ = SlaPolicy.objects.get_or_create(
            handoff_kind=KIND,
            lead_type="",
            milestone_key=key,
            defaults={
                "label": label,
                "target_seconds": seconds,
                "clock_type": "business",
                "starts_when": starts_when,
            },
        )
        EscalationRule.objects.get_or_create(
            policy=policy,
            action="warn",
            defaults={"anchor": "share_of_target", "percent_of_target": 75},
        )
        EscalationRule.objects.get_or_create(
            policy=policy,
            action="notify_manager",
            defaults={"anchor": "share_of_target", "percent_of_target": 100},
        )


def remove_defaults(apps, schema_editor):
    apps.get_model("handoffs", "PacketTemplate").objects.filter(
        handoff_kind=KIND
    ).delete()
    apps.get_model("handoffs", "SlaPolicy").objects.filter(handoff_kind=KIND).delete()


class Migration(migrations.Migration):
    dependencies = [("handoffs", "0023_packet_resubmission_clock")]
    operations = [migrations.RunPython(create_defaults, remove_defaults)]
