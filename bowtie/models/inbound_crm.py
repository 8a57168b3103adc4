"""CRM webhooks coming in: an endpoint per sending system, a row per delivery.

The endpoint keeps its secret as given, not hashed as API tokens are: the
secret is the HMAC key every delivery is verified with, so it must be read
back. Each delivery id is stored once per endpoint; a sender's retry of a
delivery already applied is recognised by it and changes nothing.
"""

import secrets

from django.db import models

from bowtie.audit import audit_history


def generate_secret() -> str:
    return secrets.token_urlsafe(32)


class InboundCrmEndpoint(models.Model):
    name = models.CharField(max_length=120, help_text="The CRM that sends to it.")
    slug = models.SlugField(
        max_length=60,
        unique=True,
        help_text="The end of its address: /api/crm/inbound/<slug>.",
    )
    secret = models.CharField(
        max_length=200,
        default=generate_secret,
        help_text="Shared with the CRM, which signs every delivery with it.",
    )
    is_active = models.BooleanField(
        default=True, help_text="An inactive endpoint answers 404 to everything."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    history = audit_history(excluded_fields=["secret"])

    class Meta:
        ordering = ["name"]
        verbose_name = "inbound CRM endpoint"

    def __str__(self):
        return self.name


class InboundCrmDelivery(models.Model):
    class Outcome(models.TextChoices):
        APPLIED = "applied", "Applied"
        # Well formed, but the deal as it stands cannot take it: the packet
        # gate, a won deal, history, an unknown deal. Answered 422.
        REFUSED = "refused", "Refused"
        # A value or the event itself is bad. Answered 400.
        INVALID = "invalid", "Invalid"
        # Older than an update already applied to the same fields: nothing
        # to do. Answered 200, so the sender does not retry it.
        STALE = "stale", "Older than what is stored"

    endpoint = models.ForeignKey(
        InboundCrmEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    delivery_id = models.CharField(max_length=100)
    event_type = models.CharField(max_length=60, blank=True)
    occurred_at = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField()
    attempt_count = models.PositiveIntegerField(default=1)
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    # What the sender was answered: the errors and missing packet items.
    detail = models.JSONField(default=dict, blank=True)
    deal = models.ForeignKey(
        "bowtie.Deal",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="inbound_crm_deliveries",
    )
    # Or the account or contact it changed: the order of later updates is
    # read from these, field by field, as it is for deals.
    account = models.ForeignKey(
        "bowtie.Account",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="inbound_crm_deliveries",
    )
    contact = models.ForeignKey(
        "bowtie.Contact",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="inbound_crm_deliveries",
    )

    class Meta:
        ordering = ["-received_at"]
        verbose_name_plural = "inbound CRM deliveries"
        constraints = [
            models.UniqueConstraint(
                fields=["endpoint", "delivery_id"],
                name="inbound_crm_delivery_once_per_endpoint",
            )
        ]

    def __str__(self):
        return f"{self.endpoint}: {self.delivery_id}"
