"""Webhooks going out: endpoints a CRM listens on, events, a delivery per pair.

An event is serialised once, when it happens, and its text is what every
attempt sends: the receiver deduplicates by the event id and may check the
signature against bytes it stored, so a retry must not re-render the body.
A delivery is one event for one endpoint; its row is the log of the attempts
and the clock of the next one.
"""

import uuid

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from bowtie.audit import audit_history
from bowtie.models.inbound_crm import generate_secret
from bowtie.models.organisation import validate_https_url


class EventType(models.TextChoices):
    """The events an endpoint can ask for; the label says when each is sent."""

    LEAD_ASSIGNED = "lead.assigned", "A lead got its owner: routed, claimed, reassigned"
    HANDOFF_OPENED = "handoff.opened", "A won deal was handed to implementation"
    HANDOFF_ACCEPTED = "handoff.accepted", "Implementation accepted the handoff"
    HANDOFF_REJECTED = "handoff.rejected", "Implementation sent the handoff back"
    HANDOFF_RESUBMITTED = "handoff.resubmitted", "The AE sent the handoff again"
    MILESTONE_BREACHED = "milestone.breached", "A handoff clock ran out"
    MILESTONE_MET = "milestone.met", "A handoff clock stopped: the work was done"
    DEAL_CLOSED_WON = "deal.closed_won", "A deal closed won"
    RENEWAL_CREATED = "renewal.created", "A won deal's renewal was opened"
    RENEWAL_DUE = (
        "renewal.due",
        "A renewal reached T-90: its owner's renewal task fired, once",
    )
    EXPANSION_CREATED = "expansion.created", "An expansion opportunity was opened"
    ENGAGEMENT_MILESTONE_LOGGED = (
        "engagement.milestone_logged",
        "An implementation milestone was planned or done (kickoff, go-live, ...)",
    )


def validate_event_types(value) -> None:
    if not isinstance(value, list) or not value:
        raise ValidationError("Choose at least one event type.")
    unknown = [name for name in value if name not in EventType.values]
    if unknown:
        raise ValidationError(
            "Unknown event type(s): %(unknown)s.",
            params={"unknown": ", ".join(map(str, unknown))},
        )
    if len(set(value)) != len(value):
        raise ValidationError("Name each event type once.")


class WebhookEndpoint(models.Model):
    name = models.CharField(max_length=120, help_text="The system that listens.")
    url = models.URLField(
        max_length=500,
        validators=[validate_https_url],
        help_text="Where events are posted, https only.",
    )
    # Kept as given, not hashed: it is the HMAC key every delivery is signed with.
    # TODO(webhooks): a new secret fails every check until the receiver has it;
    # sign with the old and the new side by side (the scheme allows several v1
    # parts) once a receiver needs to roll its secret without a gap.
    secret = models.CharField(
        max_length=200,
        default=generate_secret,
        help_text="The receiver checks every signature with it.",
    )
    event_types = models.JSONField(
        default=list,
        validators=[validate_event_types],
        help_text="The events this endpoint is sent.",
    )
    is_active = models.BooleanField(
        default=True, help_text="An inactive endpoint is sent nothing new."
    )
    crm_source = models.ForeignKey(
        "bowtie.InboundCrmEndpoint",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="webhook_endpoints",
        verbose_name="CRM source",
        help_text="The inbound CRM endpoint of the same CRM, if it sends changes "
        "too: what it changes is not sent back here.",
    )
    created_by = models.ForeignKey(
        "bowtie.Person",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Told, beside RevOps, when the endpoint is disabled.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # Set when Bowtie switched the endpoint off after failing for days; a
    # person who switches it off by hand leaves these empty.
    disabled_at = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.CharField(max_length=300, blank=True)
    # Failed attempts since the last success, and when that run of failures began.
    consecutive_failures = models.PositiveIntegerField(default=0)
    failing_since = models.DateTimeField(null=True, blank=True)

    history = audit_history(excluded_fields=["secret"])

    class Meta:
        ordering = ["name"]
        verbose_name = "webhook endpoint"

    def __str__(self):
        return self.name

    def wants(self, event_type: str) -> bool:
        return event_type in self.event_types


# TODO(webhooks): events and their deliveries are kept for good. Delete the
# delivered ones after a retention period once the log outgrows its admin
# pages, or RevOps sets a retention rule for what was sent to CRMs.
class WebhookEvent(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    type = models.CharField(max_length=40, choices=EventType.choices)
    occurred_at = models.DateTimeField(db_index=True)
    # ASCII-only JSON (non-ASCII characters are escaped), so the stored text
    # and the bytes sent are the same thing on every database.
    body = models.TextField()

    class Meta:
        ordering = ["-occurred_at"]
        verbose_name = "webhook event"

    def __str__(self):
        return f"{self.type} {self.pk}"

    @property
    def body_bytes(self) -> bytes:
        return self.body.encode("ascii")


class WebhookDelivery(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DELIVERED = "delivered", "Delivered"
        # The receiver refused it (a 4xx other than 408 and 429): not retried.
        FAILED = "failed", "Refused by the receiver"
        GAVE_UP = "gave_up", "Gave up after retrying"

    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    event = models.ForeignKey(
        WebhookEvent, on_delete=models.CASCADE, related_name="deliveries"
    )
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.PENDING
    )
    attempt_count = models.PositiveIntegerField(default=0)
    # When a pending delivery may be tried next. A worker claims it by moving
    # this forward, so the claim doubles as the retry should the worker die.
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # Until when a task for it is thought to wait in the broker: the sweep
    # leaves it alone meanwhile, and takes it over if the broker lost it.
    queued_until = models.DateTimeField(null=True, blank=True)
    # Retries stop here: three days after the event, or after a replay.
    give_up_at = models.DateTimeField()
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    # What went wrong, in words that carry neither the secret nor the address.
    last_error = models.CharField(max_length=200, blank=True)
    delivered_at = models.DateTimeField(
        null=True, blank=True, help_text="When it last reached the receiver."
    )

    class Meta:
        ordering = ["-pk"]
        verbose_name_plural = "webhook deliveries"
        constraints = [
            models.UniqueConstraint(
                fields=["endpoint", "event"], name="webhook_delivery_once_per_endpoint"
            )
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status="pending"),
                name="webhook_delivery_due",
            )
        ]

    def __str__(self):
        return f"{self.event_id} to {self.endpoint_id}: {self.status}"
