"""The three expansion pipelines, one per expansion type, with their stages.

Upsell is short (same champion, same budget); a warm cross-sell adds a needs
assessment and a negotiation; a new buying group runs full discovery and
qualification, as a new-logo sale inside a known company (DESIGN.md §6).
"""

from django.db import migrations

PIPELINES = {
    ("Upsell", "upsell"): [
        ("Identified", "open", 20),
        ("Proposal", "open", 60),
        ("Won", "won", 100),
        ("Lost", "lost", 0),
    ],
    ("Cross-sell (warm)", "cross_sell"): [
        ("Identified", "open", 10),
        ("Needs assessment", "open", 25),
        ("Proposal", "open", 50),
        ("Negotiation", "open", 75),
        ("Won", "won", 100),
        ("Lost", "lost", 0),
    ],
    ("Cross-sell (new buying group)", "new_buying_group"): [
        ("Discovery", "open", 10),
        ("Qualification", "open", 20),
        ("Solution design", "open", 40),
        ("Proposal", "open", 60),
        ("Negotiation", "open", 80),
        ("Won", "won", 100),
        ("Lost", "lost", 0),
    ],
}


def create_pipelines(apps, schema_editor):
    Pipeline = apps.get_model("bowtie", "Pipeline")
    Stage = apps.get_model("bowtie", "Stage")
    for (name, expansion_type), stages in PIPELINES.items():
        pipeline, _ = Pipeline.objects.get_or_create(
            name=name,
            defaults={
                "kind": "expansion",
                "expansion_type": expansion_type,
                # Upsell takes expansion deals whose type is not said.
                "is_default": expansion_type == "upsell",
            },
        )
        for position, (stage_name, outcome, probability) in enumerate(stages):
            Stage.objects.get_or_create(
                pipeline=pipeline,
                name=stage_name,
                defaults={
                    "position": position,
                    "outcome": outcome,
                    "probability": probability,
                },
            )


def remove_pipelines(apps, schema_editor):
    apps.get_model("bowtie", "Pipeline").objects.filter(
        name__in=[name for name, _ in PIPELINES], deals__isnull=True
    ).delete()


class Migration(migrations.Migration):
    dependencies = [("bowtie", "0018_ownership_bands_and_dated_rates")]
    operations = [migrations.RunPython(create_pipelines, remove_pipelines)]
