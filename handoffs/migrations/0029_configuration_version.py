"""Add the row whose token tells each process that intake's configuration changed."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("handoffs", "0028_lead_dashboard_indexes"),
    ]

    operations = [
        migrations.CreateModel(
            name="ConfigurationVersion",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True,
                        primary_key=True,
                        serialize=False,
                        verbose_name="ID",
                    ),
                ),
                ("token", models.CharField(max_length=36)),
            ],
        ),
    ]
