"""Add the elapsed and business seconds a lead's first response took."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('handoffs', '0025_cs_to_sales_defaults'),
    ]

    operations = [
        migrations.AddField(
            model_name='historicallead',
            name='business_response_seconds',
            field=models.PositiveIntegerField(blank=True, help_text="Receipt to first response, in the owner's working hours.", null=True),
        ),
        migrations.AddField(
            model_name='historicallead',
            name='response_seconds',
            field=models.PositiveIntegerField(blank=True, help_text='Receipt to first response, elapsed.', null=True),
        ),
        migrations.AddField(
            model_name='lead',
            name='business_response_seconds',
            field=models.PositiveIntegerField(blank=True, help_text="Receipt to first response, in the owner's working hours.", null=True),
        ),
        migrations.AddField(
            model_name='lead',
            name='response_seconds',
            field=models.PositiveIntegerField(blank=True, help_text='Receipt to first response, elapsed.', null=True),
        ),
    ]
