"""Deals carry their term, the deal they renew and their packet; teams a function."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('bowtie', '0007_working_period_to_midnight'),
    ]

    operations = [
        migrations.AddField(
            model_name='deal',
            name='expected_close_on',
            field=models.DateField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='deal',
            name='packet',
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.AddField(
            model_name='deal',
            name='packet_completeness',
            field=models.PositiveSmallIntegerField(default=0),
        ),
        migrations.AddField(
            model_name='deal',
            name='renews',
            field=models.OneToOneField(blank=True, help_text='The deal whose term this one renews.', null=True, on_delete=django.db.models.deletion.PROTECT, related_name='renewal', to='bowtie.deal'),
        ),
        migrations.AddField(
            model_name='deal',
            name='term_months',
            field=models.PositiveSmallIntegerField(default=12, help_text='Length of the contract term, for its renewal.'),
        ),
        migrations.AddField(
            model_name='historicaldeal',
            name='expected_close_on',
            field=models.DateField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='historicaldeal',
            name='packet',
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.AddField(
            model_name='historicaldeal',
            name='packet_completeness',
            field=models.PositiveSmallIntegerField(default=0),
        ),
        migrations.AddField(
            model_name='historicaldeal',
            name='renews',
            field=models.ForeignKey(blank=True, db_constraint=False, help_text='The deal whose term this one renews.', null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='bowtie.deal'),
        ),
        migrations.AddField(
            model_name='historicaldeal',
            name='term_months',
            field=models.PositiveSmallIntegerField(default=12, help_text='Length of the contract term, for its renewal.'),
        ),
        migrations.AddField(
            model_name='historicalteam',
            name='function',
            field=models.CharField(choices=[('sales', 'Sales'), ('implementation', 'Implementation'), ('customer_success', 'Customer success'), ('account_management', 'Account management')], default='sales', help_text='Which handoffs the team receives.', max_length=20),
        ),
        migrations.AddField(
            model_name='team',
            name='function',
            field=models.CharField(choices=[('sales', 'Sales'), ('implementation', 'Implementation'), ('customer_success', 'Customer success'), ('account_management', 'Account management')], default='sales', help_text='Which handoffs the team receives.', max_length=20),
        ),
    ]
