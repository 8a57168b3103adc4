"""Targets RevOps edits for the dashboard's metrics, with their history."""

import django.db.models.deletion
import simple_history.models
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('bowtie', '0022_backfill_deal_base_rates'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='HistoricalMetricTarget',
            fields=[
                ('id', models.BigIntegerField(auto_created=True, blank=True, db_index=True, verbose_name='ID')),
                ('metric_key', models.CharField(db_index=True, max_length=60)),
                ('minimum', models.DecimalField(blank=True, decimal_places=2, max_digits=12, null=True)),
                ('maximum', models.DecimalField(blank=True, decimal_places=2, max_digits=12, null=True)),
                ('updated_at', models.DateTimeField()),
                ('history_id', models.AutoField(primary_key=True, serialize=False)),
                ('history_date', models.DateTimeField(db_index=True)),
                ('history_change_reason', models.CharField(max_length=100, null=True)),
                ('history_type', models.CharField(choices=[('+', 'Created'), ('~', 'Changed'), ('-', 'Deleted')], max_length=1)),
                ('history_user', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('updated_by', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='bowtie.person')),
            ],
            options={
                'verbose_name': 'historical metric target',
                'verbose_name_plural': 'historical metric targets',
                'ordering': ('-history_date', '-history_id'),
                'get_latest_by': ('history_date', 'history_id'),
            },
            bases=(simple_history.models.HistoricalChanges, models.Model),
        ),
        migrations.CreateModel(
            name='MetricTarget',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('metric_key', models.CharField(max_length=60, unique=True)),
                ('minimum', models.DecimalField(blank=True, decimal_places=2, max_digits=12, null=True)),
                ('maximum', models.DecimalField(blank=True, decimal_places=2, max_digits=12, null=True)),
                ('updated_at', models.DateTimeField()),
                ('updated_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='bowtie.person')),
            ],
            options={
                'ordering': ['metric_key'],
                'constraints': [models.CheckConstraint(condition=models.Q(('minimum__isnull', True), ('maximum__isnull', True), ('minimum__lte', models.F('maximum')), _connector='OR'), name='metric_target_minimum_not_above_maximum')],
            },
        ),
    ]
