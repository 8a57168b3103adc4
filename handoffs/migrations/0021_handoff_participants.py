"""The people who stay in a handoff without owning it."""

import django.db.models.deletion
import simple_history.models
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ('bowtie', '0009_inbound_crm_endpoints'),
        ('handoffs', '0020_clocks_owed_by_the_sender'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='HistoricalHandoffParticipant',
            fields=[
                ('id', models.BigIntegerField(auto_created=True, blank=True, db_index=True, verbose_name='ID')),
                ('role', models.CharField(choices=[('sales_overlay', 'AE on warm overlay'), ('pre_sale_cs', 'CSM from before the sale')], max_length=20)),
                ('joins_kickoff', models.BooleanField(default=True)),
                ('copy_ends_at', models.DateTimeField(blank=True, help_text='Empty: copied for the whole handoff.', null=True)),
                ('history_id', models.AutoField(primary_key=True, serialize=False)),
                ('history_date', models.DateTimeField(db_index=True)),
                ('history_change_reason', models.CharField(max_length=100, null=True)),
                ('history_type', models.CharField(choices=[('+', 'Created'), ('~', 'Changed'), ('-', 'Deleted')], max_length=1)),
                ('handoff', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='handoffs.handoff')),
                ('history_user', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('person', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='bowtie.person')),
            ],
            options={
                'verbose_name': 'historical handoff participant',
                'verbose_name_plural': 'historical handoff participants',
                'ordering': ('-history_date', '-history_id'),
                'get_latest_by': ('history_date', 'history_id'),
            },
            bases=(simple_history.models.HistoricalChanges, models.Model),
        ),
        migrations.CreateModel(
            name='HandoffParticipant',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('role', models.CharField(choices=[('sales_overlay', 'AE on warm overlay'), ('pre_sale_cs', 'CSM from before the sale')], max_length=20)),
                ('joins_kickoff', models.BooleanField(default=True)),
                ('copy_ends_at', models.DateTimeField(blank=True, help_text='Empty: copied for the whole handoff.', null=True)),
                ('handoff', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='participants', to='handoffs.handoff')),
                ('person', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='bowtie.person')),
            ],
            options={
                'ordering': ['handoff', 'role'],
                'constraints': [models.UniqueConstraint(fields=('handoff', 'person', 'role'), name='participant_once_per_role')],
            },
        ),
    ]
