"""A token may act as one person, for the handoff actions a person takes."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("bowtie", "0010_outbound_webhooks"),
    ]

    operations = [
        migrations.AddField(
            model_name="apitoken",
            name="person",
            field=models.ForeignKey(
                blank=True,
                help_text="Empty: an integration's token. Set: it acts as this person.",
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="api_tokens",
                to="bowtie.person",
            ),
        ),
    ]
