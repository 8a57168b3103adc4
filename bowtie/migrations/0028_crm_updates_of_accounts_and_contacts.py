"""A contact's CRM id, and the account or contact an inbound delivery changed."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('bowtie', '0027_webhook_endpoint_crm_source'),
    ]

    operations = [
        migrations.AddField(
            model_name='contact',
            name='external_id',
            field=models.CharField(blank=True, db_index=True, max_length=100),
        ),
        migrations.AddField(
            model_name='historicalcontact',
            name='external_id',
            field=models.CharField(blank=True, db_index=True, max_length=100),
        ),
        migrations.AddField(
            model_name='inboundcrmdelivery',
            name='account',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='inbound_crm_deliveries', to='bowtie.account'),
        ),
        migrations.AddField(
            model_name='inboundcrmdelivery',
            name='contact',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='inbound_crm_deliveries', to='bowtie.contact'),
        ),
    ]
