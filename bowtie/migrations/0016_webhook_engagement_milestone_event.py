"""The webhook event sent when an implementation milestone is logged."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('bowtie', '0015_customer_usage'),
    ]

    operations = [
        migrations.AlterField(
            model_name='webhookevent',
            name='type',
            field=models.CharField(choices=[('lead.assigned', 'A lead got its owner: routed, claimed, reassigned'), ('handoff.opened', 'A won deal was handed to implementation'), ('handoff.accepted', 'Implementation accepted the handoff'), ('handoff.rejected', 'Implementation sent the handoff back'), ('handoff.resubmitted', 'The AE sent the handoff again'), ('milestone.breached', 'A handoff clock ran out'), ('milestone.met', 'A handoff clock stopped: the work was done'), ('deal.closed_won', 'A deal closed won'), ('renewal.created', "A won deal's renewal was opened"), ('expansion.created', 'An expansion opportunity was opened'), ('engagement.milestone_logged', 'An implementation milestone was planned or done (kickoff, go-live, ...)')], max_length=40),
        ),
    ]
