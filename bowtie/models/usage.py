"""What customers do with the product: subscriptions, daily usage, tickets.

Loaded from a product's own exports (the RavenStack files, for one) and read
by health scores and expansion signals. Rows keep the source's id so a second
import of the same file changes nothing.
"""

from django.db import models


class Subscription(models.Model):
    """A plan an account pays for, over a period that may still be open."""

    account = models.ForeignKey(
        "bowtie.Account", on_delete=models.CASCADE, related_name="subscriptions"
    )
    source = models.CharField(max_length=40)
    external_id = models.CharField(max_length=100)
    started_on = models.DateField()
    ended_on = models.DateField(null=True, blank=True)
    plan_tier = models.CharField(max_length=40, blank=True)
    seats = models.PositiveIntegerField(default=0)
    monthly_amount = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    currency = models.CharField(max_length=3, default="USD")
    is_trial = models.BooleanField(default=False)
    was_upgraded = models.BooleanField(default=False)
    was_downgraded = models.BooleanField(default=False)
    renews_automatically = models.BooleanField(default=False)
    billing_frequency = models.CharField(max_length=20, blank=True)

    class Meta:
        ordering = ["account", "started_on"]
        constraints = [
            models.UniqueConstraint(
                fields=["source", "external_id"], name="subscription_once_per_source"
            )
        ]

    def __str__(self):
        return f"{self.plan_tier or 'Subscription'} {self.external_id}"


class ProductUsage(models.Model):
    """One feature's use by an account on one day.

    A day with any use counts as a day the account's people signed in: the
    products we import from log features, not sign-ins.
    """

    account = models.ForeignKey(
        "bowtie.Account", on_delete=models.CASCADE, related_name="usage"
    )
    subscription = models.ForeignKey(
        Subscription,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="usage",
    )
    source = models.CharField(max_length=40)
    # Not unique on its own: a source may give two rows the same id.
    external_id = models.CharField(max_length=100)
    used_on = models.DateField()
    feature = models.CharField(max_length=120)
    usage_count = models.PositiveIntegerField(default=0)
    duration_seconds = models.PositiveIntegerField(default=0)
    error_count = models.PositiveIntegerField(default=0)
    is_beta_feature = models.BooleanField(default=False)

    class Meta:
        ordering = ["account", "used_on"]
        constraints = [
            models.UniqueConstraint(
                fields=["source", "external_id", "subscription"],
                name="usage_once_per_source_row",
            )
        ]
        indexes = [models.Index(fields=["account", "used_on"], name="usage_by_day")]

    def __str__(self):
        return f"{self.feature} on {self.used_on}"


class SupportTicket(models.Model):
    """A customer's support request and how it went."""

    account = models.ForeignKey(
        "bowtie.Account", on_delete=models.CASCADE, related_name="support_tickets"
    )
    source = models.CharField(max_length=40)
    external_id = models.CharField(max_length=100)
    submitted_on = models.DateField()
    closed_at = models.DateTimeField(null=True, blank=True)
    resolution_hours = models.DecimalField(
        max_digits=8, decimal_places=1, null=True, blank=True
    )
    priority = models.CharField(max_length=20, blank=True)
    first_response_minutes = models.PositiveIntegerField(null=True, blank=True)
    satisfaction = models.PositiveSmallIntegerField(null=True, blank=True)
    is_escalated = models.BooleanField(default=False)

    class Meta:
        ordering = ["account", "submitted_on"]
        constraints = [
            models.UniqueConstraint(
                fields=["source", "external_id"], name="ticket_once_per_source"
            )
        ]
        indexes = [
            models.Index(fields=["account", "submitted_on"], name="ticket_by_day")
        ]

    def __str__(self):
        return f"Ticket {self.external_id}"
