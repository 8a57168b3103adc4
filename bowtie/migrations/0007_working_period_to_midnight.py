"""A working period may end at midnight, written 00:00."""

import datetime
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('bowtie', '0006_business_calendars'),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name='workingperiod',
            name='working_period_ends_after_start',
        ),
        migrations.AlterField(
            model_name='historicalworkingperiod',
            name='ends_at',
            field=models.TimeField(help_text='00:00 works to midnight.'),
        ),
        migrations.AlterField(
            model_name='workingperiod',
            name='ends_at',
            field=models.TimeField(help_text='00:00 works to midnight.'),
        ),
        migrations.AddConstraint(
            model_name='workingperiod',
            constraint=models.CheckConstraint(condition=models.Q(('ends_at__gt', models.F('starts_at')), ('ends_at', datetime.time(0, 0)), _connector='OR'), name='working_period_ends_after_start'),
        ),
    ]
