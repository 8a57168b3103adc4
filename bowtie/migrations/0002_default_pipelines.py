"""Create the new-business and renewals pipelines with their stages."""

from django.db import migrations

PIPELINES = {
    ("New business", "new_business"): [
        ("Prospecting", "open", 10),
        ("Engaging", "open", 40),
        ("Won", "won", 100),
        ("Lost", "lost", 0),
    ],
    ("Renewals", "renewals"): [
        ("Upcoming", "open", 70),
        ("In negotiation", "open", 80),
        ("Renewed", "won", 100),
        ("Churned", "lost", 0),
    ],
}


def create_pipelines(apps, schema_editor):
    Pipeline = apps.get_model("bowtie", "Pipeline")
    Stage = apps.get_model("bowtie", "Stage")
    for (name, kind), stages in PIPELINES.items():
        pipeline, _ = Pipeline.objects.get_or_create(
            name=name, defaults={"kind": kind, "is_default": True}
        )
        for position, (stage_name, outcome, probability) in enumerate(stages):
            Stage.objects.get_or_create(
                pipeline=pipeline,
                name=stage_name,
                defaults={"position": position, "outcome": outcome,
                          "probability": probability},
            )


def remove_pipelines(apps, schema_editor):
    Pipeline = apps.get_model("bowtie", "Pipeline")
    Pipeline.objects.filter(name__in=[name for name, _ in PIPELINES]).delete()


class Migration(migrations.Migration):
    dependencies = [("bowtie", "0001_initial")]
    operations = [migrations.RunPython(create_pipelines, remove_pipelines)]
