"""Leading indicators, their alerts, and the alert topic of notifications."""

import django.db.models.deletion
import simple_history.models
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('bowtie', '0023_metric_targets'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterField(
            model_name='notification',
            name='topic',
            field=models.CharField(choices=[('new_work', 'New work for me or my queue'), ('sla_warning', 'A clock about to run out'), ('sla_breach', 'A clock that ran out'), ('reassignment', 'Work reassigned to me or away from me'), ('escalation', 'Escalations to me as head of a team'), ('report', 'Weekly reports'), ('alert', 'Leading-indicator alerts and their resolution'), ('system', "The portal's own health")], max_length=20),
        ),
        migrations.AlterField(
            model_name='notificationpreference',
            name='topic',
            field=models.CharField(choices=[('new_work', 'New work for me or my queue'), ('sla_warning', 'A clock about to run out'), ('sla_breach', 'A clock that ran out'), ('reassignment', 'Work reassigned to me or away from me'), ('escalation', 'Escalations to me as head of a team'), ('report', 'Weekly reports'), ('alert', 'Leading-indicator alerts and their resolution'), ('system', "The portal's own health")], max_length=20),
        ),
        migrations.CreateModel(
            name='HistoricalIndicator',
            fields=[
                ('id', models.BigIntegerField(auto_created=True, blank=True, db_index=True, verbose_name='ID')),
                ('key', models.SlugField(max_length=60)),
                ('label', models.CharField(max_length=120)),
                ('metric_key', models.CharField(help_text='The registered metric the indicator watches.', max_length=60)),
                ('kind', models.CharField(choices=[('above', 'Above the threshold'), ('below', 'Below the threshold'), ('rising', 'Rising by more than the threshold'), ('falling', 'Falling by more than the threshold')], max_length=10)),
                ('threshold', models.DecimalField(decimal_places=2, help_text="In the metric's unit; for rising and falling, the change.", max_digits=12)),
                ('window_days', models.PositiveSmallIntegerField(default=28, help_text='Days of the rolling window the metric is read over.')),
                ('minimum_count', models.PositiveIntegerField(default=20, help_text='Records the window must count before a trend is trusted.')),
                ('is_enabled', models.BooleanField(default=True)),
                ('updated_at', models.DateTimeField()),
                ('history_id', models.AutoField(primary_key=True, serialize=False)),
                ('history_date', models.DateTimeField(db_index=True)),
                ('history_change_reason', models.CharField(max_length=100, null=True)),
                ('history_type', models.CharField(choices=[('+', 'Created'), ('~', 'Changed'), ('-', 'Deleted')], max_length=1)),
                ('history_user', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('updated_by', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='bowtie.person')),
            ],
            options={
                'verbose_name': 'historical indicator',
                'verbose_name_plural': 'historical indicators',
                'ordering': ('-history_date', '-history_id'),
                'get_latest_by': ('history_date', 'history_id'),
            },
            bases=(simple_history.models.HistoricalChanges, models.Model),
        ),
        migrations.CreateModel(
            name='Indicator',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('key', models.SlugField(max_length=60, unique=True)),
                ('label', models.CharField(max_length=120)),
                ('metric_key', models.CharField(help_text='The registered metric the indicator watches.', max_length=60)),
                ('kind', models.CharField(choices=[('above', 'Above the threshold'), ('below', 'Below the threshold'), ('rising', 'Rising by more than the threshold'), ('falling', 'Falling by more than the threshold')], max_length=10)),
                ('threshold', models.DecimalField(decimal_places=2, help_text="In the metric's unit; for rising and falling, the change.", max_digits=12)),
                ('window_days', models.PositiveSmallIntegerField(default=28, help_text='Days of the rolling window the metric is read over.')),
                ('minimum_count', models.PositiveIntegerField(default=20, help_text='Records the window must count before a trend is trusted.')),
                ('is_enabled', models.BooleanField(default=True)),
                ('updated_at', models.DateTimeField()),
                ('updated_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='bowtie.person')),
            ],
            options={
                'ordering': ['key'],
            },
        ),
        migrations.CreateModel(
            name='Alert',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('scope_key', models.CharField(max_length=30)),
                ('threshold', models.DecimalField(decimal_places=2, help_text='The threshold when it opened.', max_digits=12)),
                ('opened_value', models.FloatField()),
                ('previous_value', models.FloatField(blank=True, null=True)),
                ('last_value', models.FloatField(blank=True, null=True)),
                ('window_starts_on', models.DateField()),
                ('window_ends_on', models.DateField()),
                ('evidence', models.JSONField(blank=True, default=dict)),
                ('opened_at', models.DateTimeField()),
                ('last_checked_at', models.DateTimeField()),
                ('resolved_at', models.DateTimeField(blank=True, null=True)),
                ('resolved_value', models.FloatField(blank=True, null=True)),
                ('recipient', models.ForeignKey(blank=True, help_text="The owning manager: the team's head, or RevOps company-wide.", null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='alerts', to='bowtie.person')),
                ('team', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='alerts', to='bowtie.team')),
                ('indicator', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='alerts', to='bowtie.indicator')),
            ],
            options={
                'ordering': ['-opened_at'],
            },
        ),
        migrations.AddConstraint(
            model_name='indicator',
            constraint=models.CheckConstraint(condition=models.Q(('window_days__gte', 1), ('window_days__lte', 366)), name='indicator_window_one_day_to_a_year'),
        ),
        migrations.AddIndex(
            model_name='alert',
            index=models.Index(condition=models.Q(('resolved_at__isnull', True)), fields=['team', 'opened_at'], name='alert_open_by_team'),
        ),
        migrations.AddConstraint(
            model_name='alert',
            constraint=models.UniqueConstraint(condition=models.Q(('resolved_at__isnull', True)), fields=('indicator', 'scope_key'), name='alert_one_open_per_indicator_and_scope'),
        ),
    ]
