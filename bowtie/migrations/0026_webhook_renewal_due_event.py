"""The webhook event sent once when a renewal reaches T-90."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('bowtie', '0025_default_indicators'),
    ]

    operations = [
        migrations.AlterField(
            model_name='webhookevent',
            name='type',
            field=models.CharField(choices=[('lead.assigned', 'A lead got its owner: routed, claimed, reassigned'), ('handoff.opened', 'A won deal was handed to implementation'), ('handoff.accepted', 'Implementation accepted the handoff'), ('handoff.rejected', 'Implementation sent the handoff back'), ('handoff.resubmitted', 'The AE sent the handoff again'), ('milestone.breached', 'A handoff clock ran out'), ('milestone.met', 'A handoff clock stopped: the work was done'), ('deal.closed_won', 'A deal closed won'), ('renewal.created', "A won deal's renewal was opened"), ('renewal.due', "A renewal reached T-90: its owner's renewal task fired, once"), ('expansion.created', 'An expansion opportunity was opened'), ('engagement.milestone_logged', 'An implementation milestone was planned or done (kickoff, go-live, ...)')], max_length=40),
        ),
    ]
