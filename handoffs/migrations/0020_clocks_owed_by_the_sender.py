"""A clock may run against the sender: policies that start on a send-back."""

import django_fsm
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ('handoffs', '0019_handoff_tasks_and_involvement'),
    ]

    operations = [
        migrations.AddField(
            model_name='historicalmilestone',
            name='owed_by',
            field=models.CharField(choices=[('receivers', 'The receiving side'), ('sender', 'The sender (work sent back)')], default='receivers', max_length=10),
        ),
        migrations.AddField(
            model_name='historicalslapolicy',
            name='starts_when',
            field=models.CharField(choices=[('opened', "When the handoff opens (the receivers' clock)"), ('sent_back', "When the receivers send it back (the sender's)")], default='opened', max_length=10),
        ),
        migrations.AddField(
            model_name='milestone',
            name='owed_by',
            field=models.CharField(choices=[('receivers', 'The receiving side'), ('sender', 'The sender (work sent back)')], default='receivers', max_length=10),
        ),
        migrations.AddField(
            model_name='slapolicy',
            name='starts_when',
            field=models.CharField(choices=[('opened', "When the handoff opens (the receivers' clock)"), ('sent_back', "When the receivers send it back (the sender's)")], default='opened', max_length=10),
        ),
        migrations.AlterField(
            model_name='handoff',
            name='state',
            field=django_fsm.FSMField(choices=[('open', 'Open'), ('accepted', 'Accepted'), ('completed', 'Completed'), ('rejected', 'Sent back'), ('reassigned', 'Reassigned')], default='open', max_length=50, protected=True),
        ),
        migrations.AlterField(
            model_name='historicalhandoff',
            name='state',
            field=django_fsm.FSMField(choices=[('open', 'Open'), ('accepted', 'Accepted'), ('completed', 'Completed'), ('rejected', 'Sent back'), ('reassigned', 'Reassigned')], default='open', max_length=50, protected=True),
        ),
    ]
