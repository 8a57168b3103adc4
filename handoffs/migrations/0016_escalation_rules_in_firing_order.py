"""Escalation rules listed in the order they fire."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('handoffs', '0015_sales_to_implementation_defaults'),
    ]

    operations = [
        migrations.AlterModelOptions(
            name='escalationrule',
            options={'ordering': ['policy', models.OrderBy(models.F('percent_of_target'), nulls_last=True), 'elapsed_seconds']},
        ),
    ]
