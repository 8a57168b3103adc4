"""Targets RevOps sets for the dashboard's metrics (DESIGN.md §7)."""

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from bowtie.audit import audit_history


class MetricTarget(models.Model):
    """A target edited for one registered metric; the code's default otherwise.

    Stored in the metric's own unit (minutes, days, percent ...), so the
    settings page and the dashboard read the same number.
    """

    metric_key = models.CharField(max_length=60, unique=True)
    minimum = models.DecimalField(
        max_digits=12, decimal_places=2, null=True, blank=True
    )
    maximum = models.DecimalField(
        max_digits=12, decimal_places=2, null=True, blank=True
    )
    updated_by = models.ForeignKey(
        "bowtie.Person",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    updated_at = models.DateTimeField()

    history = audit_history()

    class Meta:
        ordering = ["metric_key"]
        constraints = [
            models.CheckConstraint(
                condition=Q(minimum__isnull=True)
                | Q(maximum__isnull=True)
                | Q(minimum__lte=models.F("maximum")),
                name="metric_target_minimum_not_above_maximum",
            )
        ]

    def __str__(self):
        return f"Target of {self.metric_key}"

    def clean(self):
        if (
            self.minimum is not None
            and self.maximum is not None
            and self.minimum > self.maximum
        ):
            raise ValidationError({"maximum": "The most must not be below the least."})

    @property
    def bounds(self) -> tuple[Decimal | None, Decimal | None]:
        return self.minimum, self.maximum
