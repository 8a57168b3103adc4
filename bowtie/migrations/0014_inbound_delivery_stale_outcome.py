"""An inbound delivery older than what is stored is recorded as stale."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('bowtie', '0013_idempotency_keys'),
    ]

    operations = [
        migrations.AlterField(
            model_name='inboundcrmdelivery',
            name='outcome',
            field=models.CharField(choices=[('applied', 'Applied'), ('refused', 'Refused'), ('invalid', 'Invalid'), ('stale', 'Older than what is stored')], max_length=10),
        ),
    ]
