"""Record whether a ladder rung fired or was closed unfired."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('handoffs', '0009_business_time_responses'),
    ]

    operations = [
        migrations.AddField(
            model_name='ladderstep',
            name='fired',
            field=models.BooleanField(default=False),
        ),
    ]
