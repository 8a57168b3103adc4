"""Business calendars: holiday regions for teams and people, company days off."""

import django.db.models.deletion
import simple_history.models
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('bowtie', '0005_https_webhooks'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='historicalperson',
            name='country',
            field=models.CharField(blank=True, help_text="ISO 3166 code for public holidays; empty: the team's.", max_length=2),
        ),
        migrations.AddField(
            model_name='historicalperson',
            name='holiday_region',
            field=models.CharField(blank=True, help_text='Subdivision for regional holidays.', max_length=10),
        ),
        migrations.AddField(
            model_name='historicalteam',
            name='holiday_region',
            field=models.CharField(blank=True, help_text='Subdivision for regional holidays, for example BY for Bavaria.', max_length=10),
        ),
        migrations.AddField(
            model_name='person',
            name='country',
            field=models.CharField(blank=True, help_text="ISO 3166 code for public holidays; empty: the team's.", max_length=2),
        ),
        migrations.AddField(
            model_name='person',
            name='holiday_region',
            field=models.CharField(blank=True, help_text='Subdivision for regional holidays.', max_length=10),
        ),
        migrations.AddField(
            model_name='team',
            name='holiday_region',
            field=models.CharField(blank=True, help_text='Subdivision for regional holidays, for example BY for Bavaria.', max_length=10),
        ),
        migrations.CreateModel(
            name='HistoricalCompanyDayOff',
            fields=[
                ('id', models.BigIntegerField(auto_created=True, blank=True, db_index=True, verbose_name='ID')),
                ('on', models.DateField()),
                ('name', models.CharField(max_length=120)),
                ('history_id', models.AutoField(primary_key=True, serialize=False)),
                ('history_date', models.DateTimeField(db_index=True)),
                ('history_change_reason', models.CharField(max_length=100, null=True)),
                ('history_type', models.CharField(choices=[('+', 'Created'), ('~', 'Changed'), ('-', 'Deleted')], max_length=1)),
                ('history_user', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('team', models.ForeignKey(blank=True, db_constraint=False, help_text='Empty: a day off for every team.', null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='bowtie.team')),
            ],
            options={
                'verbose_name': 'historical company day off',
                'verbose_name_plural': 'historical company days off',
                'ordering': ('-history_date', '-history_id'),
                'get_latest_by': ('history_date', 'history_id'),
            },
            bases=(simple_history.models.HistoricalChanges, models.Model),
        ),
        migrations.CreateModel(
            name='CompanyDayOff',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('on', models.DateField()),
                ('name', models.CharField(max_length=120)),
                ('team', models.ForeignKey(blank=True, help_text='Empty: a day off for every team.', null=True, on_delete=django.db.models.deletion.CASCADE, related_name='days_off', to='bowtie.team')),
            ],
            options={
                'verbose_name': 'company day off',
                'verbose_name_plural': 'company days off',
                'ordering': ['on'],
                'constraints': [models.UniqueConstraint(condition=models.Q(('team', None)), fields=('on',), name='company_day_off_once_for_everyone'), models.UniqueConstraint(condition=models.Q(('team__isnull', False)), fields=('on', 'team'), name='company_day_off_once_per_team')],
            },
        ),
    ]
