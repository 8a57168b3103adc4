"""Subscriptions, daily product usage and support tickets of accounts."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('bowtie', '0014_inbound_delivery_stale_outcome'),
    ]

    operations = [
        migrations.CreateModel(
            name='Subscription',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('source', models.CharField(max_length=40)),
                ('external_id', models.CharField(max_length=100)),
                ('started_on', models.DateField()),
                ('ended_on', models.DateField(blank=True, null=True)),
                ('plan_tier', models.CharField(blank=True, max_length=40)),
                ('seats', models.PositiveIntegerField(default=0)),
                ('monthly_amount', models.DecimalField(decimal_places=2, default=0, max_digits=14)),
                ('currency', models.CharField(default='USD', max_length=3)),
                ('is_trial', models.BooleanField(default=False)),
                ('was_upgraded', models.BooleanField(default=False)),
                ('was_downgraded', models.BooleanField(default=False)),
                ('renews_automatically', models.BooleanField(default=False)),
                ('billing_frequency', models.CharField(blank=True, max_length=20)),
                ('account', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='subscriptions', to='bowtie.account')),
            ],
            options={
                'ordering': ['account', 'started_on'],
            },
        ),
        migrations.CreateModel(
            name='ProductUsage',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('source', models.CharField(max_length=40)),
                ('external_id', models.CharField(max_length=100)),
                ('used_on', models.DateField()),
                ('feature', models.CharField(max_length=120)),
                ('usage_count', models.PositiveIntegerField(default=0)),
                ('duration_seconds', models.PositiveIntegerField(default=0)),
                ('error_count', models.PositiveIntegerField(default=0)),
                ('is_beta_feature', models.BooleanField(default=False)),
                ('account', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='usage', to='bowtie.account')),
                ('subscription', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='usage', to='bowtie.subscription')),
            ],
            options={
                'ordering': ['account', 'used_on'],
            },
        ),
        migrations.CreateModel(
            name='SupportTicket',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('source', models.CharField(max_length=40)),
                ('external_id', models.CharField(max_length=100)),
                ('submitted_on', models.DateField()),
                ('closed_at', models.DateTimeField(blank=True, null=True)),
                ('resolution_hours', models.DecimalField(blank=True, decimal_places=1, max_digits=8, null=True)),
                ('priority', models.CharField(blank=True, max_length=20)),
                ('first_response_minutes', models.PositiveIntegerField(blank=True, null=True)),
                ('satisfaction', models.PositiveSmallIntegerField(blank=True, null=True)),
                ('is_escalated', models.BooleanField(default=False)),
                ('account', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='support_tickets', to='bowtie.account')),
            ],
            options={
                'ordering': ['account', 'submitted_on'],
            },
        ),
        migrations.AddConstraint(
            model_name='subscription',
            constraint=models.UniqueConstraint(fields=('source', 'external_id'), name='subscription_once_per_source'),
        ),
        migrations.AddIndex(
            model_name='productusage',
            index=models.Index(fields=['account', 'used_on'], name='usage_by_day'),
        ),
        migrations.AddConstraint(
            model_name='productusage',
            constraint=models.UniqueConstraint(fields=('source', 'external_id', 'subscription'), name='usage_once_per_source_row'),
        ),
        migrations.AddIndex(
            model_name='supportticket',
            index=models.Index(fields=['account', 'submitted_on'], name='ticket_by_day'),
        ),
        migrations.AddConstraint(
            model_name='supportticket',
            constraint=models.UniqueConstraint(fields=('source', 'external_id'), name='ticket_once_per_source'),
        ),
    ]
