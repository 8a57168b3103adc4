"""A person's cycle numbers never repeat, whichever door wrote the last one.

The two unique indexes also serve every intake's look-up of the person's
latest cycle, so the plain indexes of 0004 go.
"""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('handoffs', '0007_history_routing_step'),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name='lead',
            name='lead_email',
        ),
        migrations.RemoveIndex(
            model_name='lead',
            name='lead_external_id',
        ),
        migrations.AddConstraint(
            model_name='lead',
            constraint=models.UniqueConstraint(condition=models.Q(('email', ''), _negated=True), fields=('email', 'cycle'), name='lead_cycle_number_once_per_email'),
        ),
        migrations.AddConstraint(
            model_name='lead',
            constraint=models.UniqueConstraint(condition=models.Q(('email', ''), models.Q(('external_id', ''), _negated=True)), fields=('external_source', 'external_id', 'cycle'), name='lead_cycle_number_once_per_external_id'),
        ),
    ]
