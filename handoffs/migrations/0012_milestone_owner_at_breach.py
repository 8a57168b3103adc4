"""Remember who had the work when a clock ran out."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('bowtie', '0006_business_calendars'),
        ('handoffs', '0011_mark_fired_ladder_steps'),
    ]

    operations = [
        migrations.AddField(
            model_name='historicalmilestone',
            name='owner_at_breach',
            field=models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='bowtie.person'),
        ),
        migrations.AddField(
            model_name='milestone',
            name='owner_at_breach',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='bowtie.person'),
        ),
    ]
