"""SLA policies name their lead type from the known types."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('handoffs', '0016_escalation_rules_in_firing_order'),
    ]

    operations = [
        migrations.AlterField(
            model_name='historicalslapolicy',
            name='lead_type',
            field=models.CharField(blank=True, choices=[('hand_raiser', 'Hand-raiser'), ('paid', 'Paid'), ('organic', 'Organic'), ('partner_referral', 'Partner referral'), ('nurture', 'Content / webinar nurture')], help_text='Empty: applies to every lead type.', max_length=30),
        ),
        migrations.AlterField(
            model_name='slapolicy',
            name='lead_type',
            field=models.CharField(blank=True, choices=[('hand_raiser', 'Hand-raiser'), ('paid', 'Paid'), ('organic', 'Organic'), ('partner_referral', 'Partner referral'), ('nurture', 'Content / webinar nurture')], help_text='Empty: applies to every lead type.', max_length=30),
        ),
    ]
