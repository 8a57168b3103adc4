"""Index the live leads the dashboards aggregate a period at a time."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('handoffs', '0027_backfill_lead_response_seconds'),
    ]

    operations = [
        migrations.AddIndex(
            model_name='lead',
            index=models.Index(condition=models.Q(('is_historical', False), ('lead_type', 'hand_raiser')), fields=['received_at'], name='lead_live_hand_raisers'),
        ),
        migrations.AddIndex(
            model_name='lead',
            index=models.Index(condition=models.Q(('first_response_at__isnull', True), ('is_historical', False)), fields=['received_at'], name='lead_live_unanswered'),
        ),
        migrations.AddIndex(
            model_name='lead',
            index=models.Index(condition=models.Q(('closed_at__isnull', False), ('is_historical', False)), fields=['closed_at'], name='lead_live_closed'),
        ),
    ]
