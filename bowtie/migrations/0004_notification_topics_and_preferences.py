"""Notifications get a topic, and people choose channels per topic.

Rows written before topics existed get theirs from the event key they carry.
"""

import django.db.models.deletion
from django.db import migrations, models


TOPIC_BY_EVENT_PREFIX = {
    "milestone:": "sla_breach",
    "ladder:": "sla_breach",
    "heartbeat:": "system",
}


def topics_from_event_keys(apps, schema_editor):
    Notification = apps.get_model("bowtie", "Notification")
    for prefix, topic in TOPIC_BY_EVENT_PREFIX.items():
        Notification.objects.filter(event_key__startswith=prefix).update(topic=topic)


class Migration(migrations.Migration):
    dependencies = [
        ("bowtie", "0003_job_heartbeats"),
    ]

    operations = [
        migrations.AddField(
            model_name="notification",
            name="topic",
            field=models.CharField(
                choices=[
                    ("new_work", "New work for me or my queue"),
                    ("sla_warning", "A clock about to run out"),
                    ("sla_breach", "A clock that ran out"),
                    ("reassignment", "Work reassigned to me or away from me"),
                    ("escalation", "Escalations to me as head of a team"),
                    ("report", "Weekly reports"),
                    ("system", "The portal's own health"),
                ],
                default="new_work",
                max_length=20,
            ),
            preserve_default=False,
        ),
        migrations.RunPython(topics_from_event_keys, migrations.RunPython.noop),
        migrations.CreateModel(
            name="NotificationPreference",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True,
                        primary_key=True,
                        serialize=False,
                        verbose_name="ID",
                    ),
                ),
                (
                    "topic",
                    models.CharField(
                        choices=[
                            ("new_work", "New work for me or my queue"),
                            ("sla_warning", "A clock about to run out"),
                            ("sla_breach", "A clock that ran out"),
                            ("reassignment", "Work reassigned to me or away from me"),
                            ("escalation", "Escalations to me as head of a team"),
                            ("report", "Weekly reports"),
                            ("system", "The portal's own health"),
                        ],
                        max_length=20,
                    ),
                ),
                ("by_email", models.BooleanField(default=True)),
                ("by_webhook", models.BooleanField(default=True)),
                (
                    "person",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="preferences",
                        to="bowtie.person",
                    ),
                ),
            ],
            options={
                "ordering": ["person", "topic"],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("person", "topic"), name="preference_once_per_topic"
                    )
                ],
            },
        ),
    ]
