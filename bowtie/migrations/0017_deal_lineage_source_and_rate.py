"""Deals: the deal an expansion grows from, the source, the rate of creation."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('bowtie', '0016_webhook_engagement_milestone_event'),
    ]

    operations = [
        migrations.AddField(
            model_name='deal',
            name='base_rate',
            field=models.DecimalField(blank=True, decimal_places=8, editable=False, max_digits=18, null=True),
        ),
        migrations.AddField(
            model_name='deal',
            name='base_rate_on',
            field=models.DateField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name='deal',
            name='expands',
            field=models.ForeignKey(blank=True, help_text='The deal this expansion grows from.', null=True, on_delete=django.db.models.deletion.PROTECT, related_name='expansions', to='bowtie.deal'),
        ),
        migrations.AddField(
            model_name='deal',
            name='source',
            field=models.CharField(blank=True, choices=[('', 'Unknown'), ('inbound', 'Inbound'), ('outbound', 'Outbound'), ('partner', 'Partner'), ('customer_referral', 'Customer referral'), ('expansion', 'Expansion of a customer')], default='', max_length=20),
        ),
        migrations.AddField(
            model_name='historicaldeal',
            name='base_rate',
            field=models.DecimalField(blank=True, decimal_places=8, editable=False, max_digits=18, null=True),
        ),
        migrations.AddField(
            model_name='historicaldeal',
            name='base_rate_on',
            field=models.DateField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name='historicaldeal',
            name='expands',
            field=models.ForeignKey(blank=True, db_constraint=False, help_text='The deal this expansion grows from.', null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='bowtie.deal'),
        ),
        migrations.AddField(
            model_name='historicaldeal',
            name='source',
            field=models.CharField(blank=True, choices=[('', 'Unknown'), ('inbound', 'Inbound'), ('outbound', 'Outbound'), ('partner', 'Partner'), ('customer_referral', 'Customer referral'), ('expansion', 'Expansion of a customer')], default='', max_length=20),
        ),
        migrations.AddField(
            model_name='historicalpipeline',
            name='expansion_type',
            field=models.CharField(blank=True, choices=[('upsell', 'Upsell'), ('cross_sell', 'Cross-sell (warm)'), ('new_buying_group', 'Cross-sell (new buying group)')], max_length=20),
        ),
        migrations.AddField(
            model_name='pipeline',
            name='expansion_type',
            field=models.CharField(blank=True, choices=[('upsell', 'Upsell'), ('cross_sell', 'Cross-sell (warm)'), ('new_buying_group', 'Cross-sell (new buying group)')], max_length=20),
        ),
    ]
