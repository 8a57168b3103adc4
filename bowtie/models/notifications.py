"""Notifications: an in-app inbox row plus one outbox delivery per channel.

The rows are written in the same transaction as the event that causes them, so
a notification exists exactly when its event committed. Delivery happens after
commit and is retried from the outbox if the worker or the broker was down.
"""

from django.db import models
from django.db.models import Q


class Topic(models.TextChoices):
    """What a notification is about: people choose channels per topic."""

    NEW_WORK = "new_work", "New work for me or my queue"
    SLA_WARNING = "sla_warning", "A clock about to run out"
    SLA_BREACH = "sla_breach", "A clock that ran out"
    REASSIGNMENT = "reassignment", "Work reassigned to me or away from me"
    ESCALATION = "escalation", "Escalations to me as head of a team"
    REPORT = "report", "Weekly reports"
    ALERT = "alert", "Leading-indicator alerts and their resolution"
    SYSTEM = "system", "The portal's own health"


class Notification(models.Model):
    Topic = Topic

    recipient = models.ForeignKey(
        "bowtie.Person", on_delete=models.CASCADE, related_name="notifications"
    )
    # One event notifies one person once, however often it is retried.
    event_key = models.CharField(max_length=200)
    topic = models.CharField(max_length=20, choices=Topic.choices)
    subject = models.CharField(max_length=200)
    body = models.TextField()
    url = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField()
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["recipient", "event_key"], name="notification_once_per_event"
            )
        ]
        indexes = [
            models.Index(
                fields=["recipient", "created_at"],
                condition=Q(read_at__isnull=True),
                name="notification_unread",
            )
        ]

    def __str__(self):
        return self.subject


class Delivery(models.Model):
    class Channel(models.TextChoices):
        EMAIL = "email", "E-mail"
        SLACK = "slack", "Slack-compatible webhook"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed for good"

    notification = models.ForeignKey(
        Notification, on_delete=models.CASCADE, related_name="deliveries"
    )
    channel = models.CharField(max_length=10, choices=Channel.choices)
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.PENDING
    )
    attempt_count = models.PositiveSmallIntegerField(default=0)
    # A worker claims a delivery by moving this forward; another worker only
    # takes it over once the claim has lapsed.
    claimed_until = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        verbose_name_plural = "deliveries"
        constraints = [
            models.UniqueConstraint(
                fields=["notification", "channel"], name="delivery_once_per_channel"
            )
        ]
        indexes = [
            models.Index(
                fields=["claimed_until"],
                condition=Q(status="pending"),
                name="delivery_pending",
            )
        ]

    def __str__(self):
        return f"{self.channel} for {self.notification_id}: {self.status}"


class NotificationPreference(models.Model):
    """Which outside channels a person wants for one topic.

    In-app notifications always arrive; without a row, every channel the
    person has set up is used.
    """

    person = models.ForeignKey(
        "bowtie.Person", on_delete=models.CASCADE, related_name="preferences"
    )
    topic = models.CharField(max_length=20, choices=Topic.choices)
    by_email = models.BooleanField(default=True)
    by_webhook = models.BooleanField(default=True)

    class Meta:
        ordering = ["person", "topic"]
        constraints = [
            models.UniqueConstraint(
                fields=["person", "topic"], name="preference_once_per_topic"
            )
        ]

    def __str__(self):
        return f"{self.person}: {self.get_topic_display()}"
