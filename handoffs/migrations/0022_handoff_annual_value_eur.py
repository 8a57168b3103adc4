"""The deal's annual value in EUR at the close, kept on its handoff."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ('handoffs', '0021_handoff_participants'),
    ]

    operations = [
        migrations.AddField(
            model_name='handoff',
            name='annual_value_eur',
            field=models.DecimalField(blank=True, decimal_places=2, max_digits=14, null=True),
        ),
        migrations.AddField(
            model_name='historicalhandoff',
            name='annual_value_eur',
            field=models.DecimalField(blank=True, decimal_places=2, max_digits=14, null=True),
        ),
    ]
