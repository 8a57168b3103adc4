"""A token may have its own API rate instead of the default in settings."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("bowtie", "0011_api_token_person"),
    ]

    operations = [
        migrations.AddField(
            model_name="apitoken",
            name="rate_per_minute",
            field=models.PositiveIntegerField(
                blank=True,
                help_text="Requests a minute before it is answered 429. Empty: the "
                "default of BOWTIE_API_RATE_PER_MINUTE; 0: not limited.",
                null=True,
            ),
        ),
    ]
