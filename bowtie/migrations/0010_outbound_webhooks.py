"""Outbound webhooks: endpoints with their secret, events, a delivery per pair."""

import bowtie.models.inbound_crm
import bowtie.models.organisation
import bowtie.models.webhooks
import django.db.models.deletion
import simple_history.models
import uuid
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('bowtie', '0009_inbound_crm_endpoints'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='WebhookEvent',
            fields=[
                ('id', models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                ('type', models.CharField(choices=[('lead.assigned', 'A lead got its owner: routed, claimed, reassigned'), ('handoff.opened', 'A won deal was handed to implementation'), ('handoff.accepted', 'Implementation accepted the handoff'), ('handoff.rejected', 'Implementation sent the handoff back'), ('handoff.resubmitted', 'The AE sent the handoff again'), ('milestone.breached', 'A handoff clock ran out'), ('milestone.met', 'A handoff clock stopped: the work was done'), ('deal.closed_won', 'A deal closed won'), ('renewal.created', "A won deal's renewal was opened"), ('expansion.created', 'An expansion opportunity was opened')], max_length=40)),
                ('occurred_at', models.DateTimeField(db_index=True)),
                ('body', models.TextField()),
            ],
            options={
                'verbose_name': 'webhook event',
                'ordering': ['-occurred_at'],
            },
        ),
        migrations.CreateModel(
            name='HistoricalWebhookEndpoint',
            fields=[
                ('id', models.BigIntegerField(auto_created=True, blank=True, db_index=True, verbose_name='ID')),
                ('name', models.CharField(help_text='The system that listens.', max_length=120)),
                ('url', models.URLField(help_text='Where events are posted, https only.', max_length=500, validators=[bowtie.models.organisation.validate_https_url])),
                ('event_types', models.JSONField(default=list, help_text='The events this endpoint is sent.', validators=[bowtie.models.webhooks.validate_event_types])),
                ('is_active', models.BooleanField(default=True, help_text='An inactive endpoint is sent nothing new.')),
                ('created_at', models.DateTimeField(blank=True, editable=False)),
                ('disabled_at', models.DateTimeField(blank=True, null=True)),
                ('disabled_reason', models.CharField(blank=True, max_length=300)),
                ('consecutive_failures', models.PositiveIntegerField(default=0)),
                ('failing_since', models.DateTimeField(blank=True, null=True)),
                ('history_id', models.AutoField(primary_key=True, serialize=False)),
                ('history_date', models.DateTimeField(db_index=True)),
                ('history_change_reason', models.CharField(max_length=100, null=True)),
                ('history_type', models.CharField(choices=[('+', 'Created'), ('~', 'Changed'), ('-', 'Deleted')], max_length=1)),
                ('created_by', models.ForeignKey(blank=True, db_constraint=False, help_text='Told, beside RevOps, when the endpoint is disabled.', null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='bowtie.person')),
                ('history_user', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'verbose_name': 'historical webhook endpoint',
                'verbose_name_plural': 'historical webhook endpoints',
                'ordering': ('-history_date', '-history_id'),
                'get_latest_by': ('history_date', 'history_id'),
            },
            bases=(simple_history.models.HistoricalChanges, models.Model),
        ),
        migrations.CreateModel(
            name='WebhookEndpoint',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('name', models.CharField(help_text='The system that listens.', max_length=120)),
                ('url', models.URLField(help_text='Where events are posted, https only.', max_length=500, validators=[bowtie.models.organisation.validate_https_url])),
                ('secret', models.CharField(default=bowtie.models.inbound_crm.generate_secret, help_text='The receiver checks every signature with it.', max_length=200)),
                ('event_types', models.JSONField(default=list, help_text='The events this endpoint is sent.', validators=[bowtie.models.webhooks.validate_event_types])),
                ('is_active', models.BooleanField(default=True, help_text='An inactive endpoint is sent nothing new.')),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('disabled_at', models.DateTimeField(blank=True, null=True)),
                ('disabled_reason', models.CharField(blank=True, max_length=300)),
                ('consecutive_failures', models.PositiveIntegerField(default=0)),
                ('failing_since', models.DateTimeField(blank=True, null=True)),
                ('created_by', models.ForeignKey(blank=True, help_text='Told, beside RevOps, when the endpoint is disabled.', null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='bowtie.person')),
            ],
            options={
                'verbose_name': 'webhook endpoint',
                'ordering': ['name'],
            },
        ),
        migrations.CreateModel(
            name='WebhookDelivery',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('status', models.CharField(choices=[('pending', 'Pending'), ('delivered', 'Delivered'), ('failed', 'Refused by the receiver'), ('gave_up', 'Gave up after retrying')], default='pending', max_length=10)),
                ('attempt_count', models.PositiveIntegerField(default=0)),
                ('next_attempt_at', models.DateTimeField(blank=True, null=True)),
                ('queued_until', models.DateTimeField(blank=True, null=True)),
                ('give_up_at', models.DateTimeField()),
                ('last_attempt_at', models.DateTimeField(blank=True, null=True)),
                ('last_status_code', models.PositiveSmallIntegerField(blank=True, null=True)),
                ('last_error', models.CharField(blank=True, max_length=200)),
                ('delivered_at', models.DateTimeField(blank=True, help_text='When it last reached the receiver.', null=True)),
                ('endpoint', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='deliveries', to='bowtie.webhookendpoint')),
                ('event', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='deliveries', to='bowtie.webhookevent')),
            ],
            options={
                'verbose_name_plural': 'webhook deliveries',
                'ordering': ['-pk'],
                'indexes': [models.Index(condition=models.Q(('status', 'pending')), fields=['next_attempt_at'], name='webhook_delivery_due')],
                'constraints': [models.UniqueConstraint(fields=('endpoint', 'event'), name='webhook_delivery_once_per_endpoint')],
            },
        ),
    ]
