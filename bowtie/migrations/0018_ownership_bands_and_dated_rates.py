"""Ownership bands by ACV, replaced by dated policies, and dated exchange rates."""

import django.db.models.deletion
import simple_history.models
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('bowtie', '0017_deal_lineage_source_and_rate'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='HistoricalExchangeRate',
            fields=[
                ('id', models.BigIntegerField(auto_created=True, blank=True, db_index=True, verbose_name='ID')),
                ('currency', models.CharField(max_length=3)),
                ('units_per_base', models.DecimalField(decimal_places=8, max_digits=18)),
                ('effective_on', models.DateField()),
                ('created_at', models.DateTimeField(blank=True, editable=False)),
                ('history_id', models.AutoField(primary_key=True, serialize=False)),
                ('history_date', models.DateTimeField(db_index=True)),
                ('history_change_reason', models.CharField(max_length=100, null=True)),
                ('history_type', models.CharField(choices=[('+', 'Created'), ('~', 'Changed'), ('-', 'Deleted')], max_length=1)),
                ('created_by', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='bowtie.person')),
                ('history_user', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'verbose_name': 'historical exchange rate',
                'verbose_name_plural': 'historical exchange rates',
                'ordering': ('-history_date', '-history_id'),
                'get_latest_by': ('history_date', 'history_id'),
            },
            bases=(simple_history.models.HistoricalChanges, models.Model),
        ),
        migrations.CreateModel(
            name='HistoricalOwnershipPolicy',
            fields=[
                ('id', models.BigIntegerField(auto_created=True, blank=True, db_index=True, verbose_name='ID')),
                ('effective_on', models.DateField(db_index=True)),
                ('note', models.CharField(blank=True, max_length=300)),
                ('created_at', models.DateTimeField()),
                ('history_id', models.AutoField(primary_key=True, serialize=False)),
                ('history_date', models.DateTimeField(db_index=True)),
                ('history_change_reason', models.CharField(max_length=100, null=True)),
                ('history_type', models.CharField(choices=[('+', 'Created'), ('~', 'Changed'), ('-', 'Deleted')], max_length=1)),
                ('created_by', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='bowtie.person')),
                ('history_user', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'verbose_name': 'historical ownership policy',
                'verbose_name_plural': 'historical ownership policies',
                'ordering': ('-history_date', '-history_id'),
                'get_latest_by': ('history_date', 'history_id'),
            },
            bases=(simple_history.models.HistoricalChanges, models.Model),
        ),
        migrations.CreateModel(
            name='OwnershipPolicy',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('effective_on', models.DateField(unique=True)),
                ('note', models.CharField(blank=True, max_length=300)),
                ('created_at', models.DateTimeField()),
                ('created_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='bowtie.person')),
            ],
            options={
                'verbose_name_plural': 'ownership policies',
                'ordering': ['-effective_on'],
            },
        ),
        migrations.CreateModel(
            name='OwnershipBand',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('lower_eur', models.DecimalField(decimal_places=2, max_digits=14)),
                ('upper_eur', models.DecimalField(blank=True, decimal_places=2, help_text='Excluded. Empty: no upper limit.', max_digits=14, null=True)),
                ('owner_role', models.CharField(choices=[('revops_admin', 'RevOps admin'), ('marketing_ops', 'Marketing ops'), ('sdr', 'SDR'), ('ae', 'Account executive'), ('manager', 'Manager'), ('implementation', 'Implementation lead'), ('csm', 'Customer success manager'), ('am', 'Account manager')], max_length=20)),
                ('cs_role', models.CharField(blank=True, choices=[('revops_admin', 'RevOps admin'), ('marketing_ops', 'Marketing ops'), ('sdr', 'SDR'), ('ae', 'Account executive'), ('manager', 'Manager'), ('implementation', 'Implementation lead'), ('csm', 'Customer success manager'), ('am', 'Account manager')], max_length=20)),
                ('cs_part', models.CharField(choices=[('closes', 'CS closes the deal'), ('in_meetings', 'CS joins the meetings'), ('advisory', 'CS advises')], max_length=20)),
                ('policy', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='bands', to='bowtie.ownershippolicy')),
            ],
            options={
                'ordering': ['policy', 'lower_eur'],
            },
        ),
        migrations.CreateModel(
            name='HistoricalOwnershipBand',
            fields=[
                ('id', models.BigIntegerField(auto_created=True, blank=True, db_index=True, verbose_name='ID')),
                ('lower_eur', models.DecimalField(decimal_places=2, max_digits=14)),
                ('upper_eur', models.DecimalField(blank=True, decimal_places=2, help_text='Excluded. Empty: no upper limit.', max_digits=14, null=True)),
                ('owner_role', models.CharField(choices=[('revops_admin', 'RevOps admin'), ('marketing_ops', 'Marketing ops'), ('sdr', 'SDR'), ('ae', 'Account executive'), ('manager', 'Manager'), ('implementation', 'Implementation lead'), ('csm', 'Customer success manager'), ('am', 'Account manager')], max_length=20)),
                ('cs_role', models.CharField(blank=True, choices=[('revops_admin', 'RevOps admin'), ('marketing_ops', 'Marketing ops'), ('sdr', 'SDR'), ('ae', 'Account executive'), ('manager', 'Manager'), ('implementation', 'Implementation lead'), ('csm', 'Customer success manager'), ('am', 'Account manager')], max_length=20)),
                ('cs_part', models.CharField(choices=[('closes', 'CS closes the deal'), ('in_meetings', 'CS joins the meetings'), ('advisory', 'CS advises')], max_length=20)),
                ('history_id', models.AutoField(primary_key=True, serialize=False)),
                ('history_date', models.DateTimeField(db_index=True)),
                ('history_change_reason', models.CharField(max_length=100, null=True)),
                ('history_type', models.CharField(choices=[('+', 'Created'), ('~', 'Changed'), ('-', 'Deleted')], max_length=1)),
                ('history_user', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('policy', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='bowtie.ownershippolicy')),
            ],
            options={
                'verbose_name': 'historical ownership band',
                'verbose_name_plural': 'historical ownership bands',
                'ordering': ('-history_date', '-history_id'),
                'get_latest_by': ('history_date', 'history_id'),
            },
            bases=(simple_history.models.HistoricalChanges, models.Model),
        ),
        migrations.CreateModel(
            name='ExchangeRate',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('currency', models.CharField(max_length=3)),
                ('units_per_base', models.DecimalField(decimal_places=8, max_digits=18)),
                ('effective_on', models.DateField()),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('created_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='bowtie.person')),
            ],
            options={
                'ordering': ['currency', '-effective_on'],
                'constraints': [models.UniqueConstraint(fields=('currency', 'effective_on'), name='exchange_rate_once_a_day'), models.CheckConstraint(condition=models.Q(('units_per_base__gt', 0)), name='exchange_rate_positive')],
            },
        ),
    ]
