"""A webhook endpoint names its CRM's inbound endpoint, so changes are not echoed."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('bowtie', '0026_webhook_renewal_due_event'),
    ]

    operations = [
        migrations.AddField(
            model_name='historicalwebhookendpoint',
            name='crm_source',
            field=models.ForeignKey(blank=True, db_constraint=False, help_text='The inbound CRM endpoint of the same CRM, if it sends changes too: what it changes is not sent back here.', null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='bowtie.inboundcrmendpoint', verbose_name='CRM source'),
        ),
        migrations.AddField(
            model_name='webhookendpoint',
            name='crm_source',
            field=models.ForeignKey(blank=True, help_text='The inbound CRM endpoint of the same CRM, if it sends changes too: what it changes is not sent back here.', null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='webhook_endpoints', to='bowtie.inboundcrmendpoint', verbose_name='CRM source'),
        ),
    ]
