"""The receiving side rates each handoff on five counts."""

import django.db.models.deletion
import simple_history.models
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('bowtie', '0008_deal_terms_and_packets'),
        ('handoffs', '0017_sla_policy_lead_type_choices'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='HistoricalHandoffRating',
            fields=[
                ('id', models.BigIntegerField(auto_created=True, blank=True, db_index=True, verbose_name='ID')),
                ('completeness', models.PositiveSmallIntegerField()),
                ('promise_alignment', models.PositiveSmallIntegerField()),
                ('sentiment_continuity', models.PositiveSmallIntegerField()),
                ('context_transfer', models.PositiveSmallIntegerField()),
                ('stakeholder_mapping', models.PositiveSmallIntegerField()),
                ('comment', models.TextField(blank=True)),
                ('rated_at', models.DateTimeField()),
                ('history_id', models.AutoField(primary_key=True, serialize=False)),
                ('history_date', models.DateTimeField(db_index=True)),
                ('history_change_reason', models.CharField(max_length=100, null=True)),
                ('history_type', models.CharField(choices=[('+', 'Created'), ('~', 'Changed'), ('-', 'Deleted')], max_length=1)),
                ('handoff', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='handoffs.handoff')),
                ('history_user', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('rated_by', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='bowtie.person')),
            ],
            options={
                'verbose_name': 'historical handoff rating',
                'verbose_name_plural': 'historical handoff ratings',
                'ordering': ('-history_date', '-history_id'),
                'get_latest_by': ('history_date', 'history_id'),
            },
            bases=(simple_history.models.HistoricalChanges, models.Model),
        ),
        migrations.CreateModel(
            name='HandoffRating',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('completeness', models.PositiveSmallIntegerField()),
                ('promise_alignment', models.PositiveSmallIntegerField()),
                ('sentiment_continuity', models.PositiveSmallIntegerField()),
                ('context_transfer', models.PositiveSmallIntegerField()),
                ('stakeholder_mapping', models.PositiveSmallIntegerField()),
                ('comment', models.TextField(blank=True)),
                ('rated_at', models.DateTimeField()),
                ('handoff', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='rating', to='handoffs.handoff')),
                ('rated_by', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='bowtie.person')),
            ],
            options={
                'ordering': ['-rated_at'],
                'constraints': [models.CheckConstraint(condition=models.Q(('completeness__gte', 1), ('completeness__lte', 5)), name='handoff_rating_completeness_1_to_5'), models.CheckConstraint(condition=models.Q(('promise_alignment__gte', 1), ('promise_alignment__lte', 5)), name='handoff_rating_promise_alignment_1_to_5'), models.CheckConstraint(condition=models.Q(('sentiment_continuity__gte', 1), ('sentiment_continuity__lte', 5)), name='handoff_rating_sentiment_continuity_1_to_5'), models.CheckConstraint(condition=models.Q(('context_transfer__gte', 1), ('context_transfer__lte', 5)), name='handoff_rating_context_transfer_1_to_5'), models.CheckConstraint(condition=models.Q(('stakeholder_mapping__gte', 1), ('stakeholder_mapping__lte', 5)), name='handoff_rating_stakeholder_mapping_1_to_5')],
            },
        ),
    ]
