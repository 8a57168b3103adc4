"""Packet templates and their items; one handoff per deal and kind."""

import django.db.models.deletion
import simple_history.models
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('bowtie', '0008_deal_terms_and_packets'),
        ('handoffs', '0013_backfill_owner_at_breach'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='HistoricalPacketItem',
            fields=[
                ('id', models.BigIntegerField(auto_created=True, blank=True, db_index=True, verbose_name='ID')),
                ('key', models.SlugField(help_text='Where the packet stores it.', max_length=60)),
                ('section', models.CharField(max_length=120)),
                ('label', models.CharField(max_length=200)),
                ('help_text', models.CharField(blank=True, max_length=300)),
                ('kind', models.CharField(choices=[('text', 'Text'), ('rows', 'Rows of structured parts')], default='text', max_length=10)),
                ('parts', models.JSONField(blank=True, default=list)),
                ('is_required', models.BooleanField(default=True)),
                ('position', models.PositiveSmallIntegerField(default=0)),
                ('history_id', models.AutoField(primary_key=True, serialize=False)),
                ('history_date', models.DateTimeField(db_index=True)),
                ('history_change_reason', models.CharField(max_length=100, null=True)),
                ('history_type', models.CharField(choices=[('+', 'Created'), ('~', 'Changed'), ('-', 'Deleted')], max_length=1)),
            ],
            options={
                'verbose_name': 'historical packet item',
                'verbose_name_plural': 'historical packet items',
                'ordering': ('-history_date', '-history_id'),
                'get_latest_by': ('history_date', 'history_id'),
            },
            bases=(simple_history.models.HistoricalChanges, models.Model),
        ),
        migrations.CreateModel(
            name='HistoricalPacketTemplate',
            fields=[
                ('id', models.BigIntegerField(auto_created=True, blank=True, db_index=True, verbose_name='ID')),
                ('handoff_kind', models.CharField(choices=[('lead_to_sales', 'Marketing → Sales'), ('sales_to_implementation', 'Sales → Implementation'), ('implementation_to_cs', 'Implementation → CS'), ('cs_to_sales', 'CS → Sales (expansion)')], db_index=True, max_length=40)),
                ('name', models.CharField(max_length=120)),
                ('updated_at', models.DateTimeField(blank=True, editable=False)),
                ('history_id', models.AutoField(primary_key=True, serialize=False)),
                ('history_date', models.DateTimeField(db_index=True)),
                ('history_change_reason', models.CharField(max_length=100, null=True)),
                ('history_type', models.CharField(choices=[('+', 'Created'), ('~', 'Changed'), ('-', 'Deleted')], max_length=1)),
            ],
            options={
                'verbose_name': 'historical packet template',
                'verbose_name_plural': 'historical packet templates',
                'ordering': ('-history_date', '-history_id'),
                'get_latest_by': ('history_date', 'history_id'),
            },
            bases=(simple_history.models.HistoricalChanges, models.Model),
        ),
        migrations.CreateModel(
            name='PacketItem',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('key', models.SlugField(help_text='Where the packet stores it.', max_length=60)),
                ('section', models.CharField(max_length=120)),
                ('label', models.CharField(max_length=200)),
                ('help_text', models.CharField(blank=True, max_length=300)),
                ('kind', models.CharField(choices=[('text', 'Text'), ('rows', 'Rows of structured parts')], default='text', max_length=10)),
                ('parts', models.JSONField(blank=True, default=list)),
                ('is_required', models.BooleanField(default=True)),
                ('position', models.PositiveSmallIntegerField(default=0)),
            ],
            options={
                'ordering': ['template', 'position', 'pk'],
            },
        ),
        migrations.CreateModel(
            name='PacketTemplate',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('handoff_kind', models.CharField(choices=[('lead_to_sales', 'Marketing → Sales'), ('sales_to_implementation', 'Sales → Implementation'), ('implementation_to_cs', 'Implementation → CS'), ('cs_to_sales', 'CS → Sales (expansion)')], max_length=40, unique=True)),
                ('name', models.CharField(max_length=120)),
                ('updated_at', models.DateTimeField(auto_now=True)),
            ],
            options={
                'ordering': ['handoff_kind'],
            },
        ),
        migrations.AddConstraint(
            model_name='handoff',
            constraint=models.UniqueConstraint(condition=models.Q(('deal__isnull', False)), fields=('deal', 'kind'), name='handoff_once_per_deal_and_kind'),
        ),
        migrations.AddField(
            model_name='historicalpacketitem',
            name='history_user',
            field=models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddField(
            model_name='historicalpackettemplate',
            name='history_user',
            field=models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddField(
            model_name='packetitem',
            name='template',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='items', to='handoffs.packettemplate'),
        ),
        migrations.AddField(
            model_name='historicalpacketitem',
            name='template',
            field=models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='handoffs.packettemplate'),
        ),
        migrations.AddConstraint(
            model_name='packetitem',
            constraint=models.UniqueConstraint(fields=('template', 'key'), name='packet_item_key_unique_in_template'),
        ),
    ]
