"""Inbound CRM webhooks: an endpoint with its secret, a row per delivery."""

import bowtie.models.inbound_crm
import django.db.models.deletion
import simple_history.models
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('bowtie', '0008_deal_terms_and_packets'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='InboundCrmEndpoint',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('name', models.CharField(help_text='The CRM that sends to it.', max_length=120)),
                ('slug', models.SlugField(help_text='The end of its address: /api/crm/inbound/<slug>.', max_length=60, unique=True)),
                ('secret', models.CharField(default=bowtie.models.inbound_crm.generate_secret, help_text='Shared with the CRM, which signs every delivery with it.', max_length=200)),
                ('is_active', models.BooleanField(default=True, help_text='An inactive endpoint answers 404 to everything.')),
                ('created_at', models.DateTimeField(auto_now_add=True)),
            ],
            options={
                'verbose_name': 'inbound CRM endpoint',
                'ordering': ['name'],
            },
        ),
        migrations.CreateModel(
            name='HistoricalInboundCrmEndpoint',
            fields=[
                ('id', models.BigIntegerField(auto_created=True, blank=True, db_index=True, verbose_name='ID')),
                ('name', models.CharField(help_text='The CRM that sends to it.', max_length=120)),
                ('slug', models.SlugField(help_text='The end of its address: /api/crm/inbound/<slug>.', max_length=60)),
                ('is_active', models.BooleanField(default=True, help_text='An inactive endpoint answers 404 to everything.')),
                ('created_at', models.DateTimeField(blank=True, editable=False)),
                ('history_id', models.AutoField(primary_key=True, serialize=False)),
                ('history_date', models.DateTimeField(db_index=True)),
                ('history_change_reason', models.CharField(max_length=100, null=True)),
                ('history_type', models.CharField(choices=[('+', 'Created'), ('~', 'Changed'), ('-', 'Deleted')], max_length=1)),
                ('history_user', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'verbose_name': 'historical inbound CRM endpoint',
                'verbose_name_plural': 'historical inbound CRM endpoints',
                'ordering': ('-history_date', '-history_id'),
                'get_latest_by': ('history_date', 'history_id'),
            },
            bases=(simple_history.models.HistoricalChanges, models.Model),
        ),
        migrations.CreateModel(
            name='InboundCrmDelivery',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('delivery_id', models.CharField(max_length=100)),
                ('event_type', models.CharField(blank=True, max_length=60)),
                ('occurred_at', models.DateTimeField(blank=True, null=True)),
                ('received_at', models.DateTimeField()),
                ('attempt_count', models.PositiveIntegerField(default=1)),
                ('outcome', models.CharField(choices=[('applied', 'Applied'), ('refused', 'Refused'), ('invalid', 'Invalid')], max_length=10)),
                ('detail', models.JSONField(blank=True, default=dict)),
                ('deal', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='inbound_crm_deliveries', to='bowtie.deal')),
                ('endpoint', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='deliveries', to='bowtie.inboundcrmendpoint')),
            ],
            options={
                'verbose_name_plural': 'inbound CRM deliveries',
                'ordering': ['-received_at'],
                'constraints': [models.UniqueConstraint(fields=('endpoint', 'delivery_id'), name='inbound_crm_delivery_once_per_endpoint')],
            },
        ),
    ]
