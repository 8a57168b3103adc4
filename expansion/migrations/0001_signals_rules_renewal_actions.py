"""Expansion signals, the rules that raise them, and renewal actions."""

import django.db.models.deletion
import simple_history.models
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('bowtie', '0018_ownership_bands_and_dated_rates'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='SignalRule',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('kind', models.CharField(choices=[('usage.seats_nearly_full', 'Usage: 80 % or more of seats used'), ('usage.feature_adoption', 'Usage: new feature adoption'), ('usage.actives_rising', 'Usage: daily actives rising'), ('relationship.champion_promoted', 'Relationship: champion promoted'), ('relationship.new_stakeholder', 'Relationship: new stakeholder'), ('relationship.positive_nps', 'Relationship: positive NPS'), ('commercial.headcount_growth', 'Commercial: headcount growth'), ('commercial.new_budget_cycle', 'Commercial: new budget cycle'), ('commercial.cross_functional_interest', 'Commercial: cross-functional interest'), ('outcome.value_ahead', 'Outcome: value ahead of plan'), ('outcome.roi_exceeded', 'Outcome: ROI exceeded'), ('outcome.new_use_cases', 'Outcome: new use cases')], max_length=50, unique=True)),
                ('is_active', models.BooleanField(default=True)),
                ('threshold', models.DecimalField(decimal_places=2, help_text='What the rule compares against, in the unit of its kind.', max_digits=8)),
                ('window_days', models.PositiveSmallIntegerField(default=30)),
            ],
            options={
                'ordering': ['kind'],
            },
        ),
        migrations.CreateModel(
            name='HistoricalSignal',
            fields=[
                ('id', models.BigIntegerField(auto_created=True, blank=True, db_index=True, verbose_name='ID')),
                ('kind', models.CharField(choices=[('usage.seats_nearly_full', 'Usage: 80 % or more of seats used'), ('usage.feature_adoption', 'Usage: new feature adoption'), ('usage.actives_rising', 'Usage: daily actives rising'), ('relationship.champion_promoted', 'Relationship: champion promoted'), ('relationship.new_stakeholder', 'Relationship: new stakeholder'), ('relationship.positive_nps', 'Relationship: positive NPS'), ('commercial.headcount_growth', 'Commercial: headcount growth'), ('commercial.new_budget_cycle', 'Commercial: new budget cycle'), ('commercial.cross_functional_interest', 'Commercial: cross-functional interest'), ('outcome.value_ahead', 'Outcome: value ahead of plan'), ('outcome.roi_exceeded', 'Outcome: ROI exceeded'), ('outcome.new_use_cases', 'Outcome: new use cases')], max_length=50)),
                ('source', models.CharField(choices=[('csm', 'Flagged by a CSM'), ('api', 'Sent over the API'), ('rule', 'Raised by a rule over usage')], max_length=10)),
                ('status', models.CharField(choices=[('open', 'Open'), ('converted', 'Turned into an expansion deal'), ('dismissed', 'Dismissed')], default='open', max_length=10)),
                ('raised_at', models.DateTimeField()),
                ('evidence', models.TextField(blank=True)),
                ('details', models.JSONField(blank=True, default=dict)),
                ('closed_at', models.DateTimeField(blank=True, null=True)),
                ('dismissed_reason', models.CharField(blank=True, max_length=300)),
                ('history_id', models.AutoField(primary_key=True, serialize=False)),
                ('history_date', models.DateTimeField(db_index=True)),
                ('history_change_reason', models.CharField(max_length=100, null=True)),
                ('history_type', models.CharField(choices=[('+', 'Created'), ('~', 'Changed'), ('-', 'Deleted')], max_length=1)),
                ('account', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='bowtie.account')),
                ('deal', models.ForeignKey(blank=True, db_constraint=False, help_text='The expansion deal it became.', null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='bowtie.deal')),
                ('history_user', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('raised_by', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='bowtie.person')),
            ],
            options={
                'verbose_name': 'historical signal',
                'verbose_name_plural': 'historical signals',
                'ordering': ('-history_date', '-history_id'),
                'get_latest_by': ('history_date', 'history_id'),
            },
            bases=(simple_history.models.HistoricalChanges, models.Model),
        ),
        migrations.CreateModel(
            name='HistoricalSignalRule',
            fields=[
                ('id', models.BigIntegerField(auto_created=True, blank=True, db_index=True, verbose_name='ID')),
                ('kind', models.CharField(choices=[('usage.seats_nearly_full', 'Usage: 80 % or more of seats used'), ('usage.feature_adoption', 'Usage: new feature adoption'), ('usage.actives_rising', 'Usage: daily actives rising'), ('relationship.champion_promoted', 'Relationship: champion promoted'), ('relationship.new_stakeholder', 'Relationship: new stakeholder'), ('relationship.positive_nps', 'Relationship: positive NPS'), ('commercial.headcount_growth', 'Commercial: headcount growth'), ('commercial.new_budget_cycle', 'Commercial: new budget cycle'), ('commercial.cross_functional_interest', 'Commercial: cross-functional interest'), ('outcome.value_ahead', 'Outcome: value ahead of plan'), ('outcome.roi_exceeded', 'Outcome: ROI exceeded'), ('outcome.new_use_cases', 'Outcome: new use cases')], db_index=True, max_length=50)),
                ('is_active', models.BooleanField(default=True)),
                ('threshold', models.DecimalField(decimal_places=2, help_text='What the rule compares against, in the unit of its kind.', max_digits=8)),
                ('window_days', models.PositiveSmallIntegerField(default=30)),
                ('history_id', models.AutoField(primary_key=True, serialize=False)),
                ('history_date', models.DateTimeField(db_index=True)),
                ('history_change_reason', models.CharField(max_length=100, null=True)),
                ('history_type', models.CharField(choices=[('+', 'Created'), ('~', 'Changed'), ('-', 'Deleted')], max_length=1)),
                ('history_user', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'verbose_name': 'historical signal rule',
                'verbose_name_plural': 'historical signal rules',
                'ordering': ('-history_date', '-history_id'),
                'get_latest_by': ('history_date', 'history_id'),
            },
            bases=(simple_history.models.HistoricalChanges, models.Model),
        ),
        migrations.CreateModel(
            name='RenewalAction',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('kind', models.CharField(choices=[('owner_task', 'Renewal task for the owner (T-90)'), ('renewal_play', 'Renewal play with a customer ROI report')], max_length=20)),
                ('due_on', models.DateField(db_index=True)),
                ('fired_at', models.DateTimeField(blank=True, null=True)),
                ('done_at', models.DateTimeField(blank=True, null=True)),
                ('notes', models.TextField(blank=True)),
                ('deal', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='renewal_actions', to='bowtie.deal')),
                ('owner', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='renewal_actions', to='bowtie.person')),
            ],
            options={
                'ordering': ['due_on'],
                'indexes': [models.Index(condition=models.Q(('fired_at__isnull', True)), fields=['due_on'], name='renewal_action_waiting')],
                'constraints': [models.UniqueConstraint(fields=('deal', 'kind'), name='renewal_action_once')],
            },
        ),
        migrations.CreateModel(
            name='Signal',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('kind', models.CharField(choices=[('usage.seats_nearly_full', 'Usage: 80 % or more of seats used'), ('usage.feature_adoption', 'Usage: new feature adoption'), ('usage.actives_rising', 'Usage: daily actives rising'), ('relationship.champion_promoted', 'Relationship: champion promoted'), ('relationship.new_stakeholder', 'Relationship: new stakeholder'), ('relationship.positive_nps', 'Relationship: positive NPS'), ('commercial.headcount_growth', 'Commercial: headcount growth'), ('commercial.new_budget_cycle', 'Commercial: new budget cycle'), ('commercial.cross_functional_interest', 'Commercial: cross-functional interest'), ('outcome.value_ahead', 'Outcome: value ahead of plan'), ('outcome.roi_exceeded', 'Outcome: ROI exceeded'), ('outcome.new_use_cases', 'Outcome: new use cases')], max_length=50)),
                ('source', models.CharField(choices=[('csm', 'Flagged by a CSM'), ('api', 'Sent over the API'), ('rule', 'Raised by a rule over usage')], max_length=10)),
                ('status', models.CharField(choices=[('open', 'Open'), ('converted', 'Turned into an expansion deal'), ('dismissed', 'Dismissed')], default='open', max_length=10)),
                ('raised_at', models.DateTimeField()),
                ('evidence', models.TextField(blank=True)),
                ('details', models.JSONField(blank=True, default=dict)),
                ('closed_at', models.DateTimeField(blank=True, null=True)),
                ('dismissed_reason', models.CharField(blank=True, max_length=300)),
                ('account', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='signals', to='bowtie.account')),
                ('deal', models.ForeignKey(blank=True, help_text='The expansion deal it became.', null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='signals', to='bowtie.deal')),
                ('raised_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='bowtie.person')),
            ],
            options={
                'ordering': ['-raised_at'],
                'constraints': [models.UniqueConstraint(condition=models.Q(('status', 'open')), fields=('account', 'kind'), name='signal_open_once_per_kind')],
            },
        ),
    ]
