"""Leading indicators and the alerts they raise (DESIGN.md §7).

An indicator watches one registered metric over a rolling window, for each
team and for the company as a whole, and raises an alert when the metric
crosses its threshold: above or below it, or rising or falling by more than
it from the window before. An alert stays open while the condition lasts, so
it is sent once, and is resolved, with a notice, when the condition ends.
"""

from django.db import models
from django.db.models import Q

from bowtie.audit import audit_history


class Indicator(models.Model):
    """One leading indicator and the threshold RevOps set for it."""

    class Kind(models.TextChoices):
        ABOVE = "above", "Above the threshold"
        BELOW = "below", "Below the threshold"
        RISING = "rising", "Rising by more than the threshold"
        FALLING = "falling", "Falling by more than the threshold"

    key = models.SlugField(max_length=60, unique=True)
    label = models.CharField(max_length=120)
    metric_key = models.CharField(
        max_length=60, help_text="The registered metric the indicator watches."
    )
    kind = models.CharField(max_length=10, choices=Kind.choices)
    threshold = models.DecimalField(
        max_digits=12,
        decimal_places=2,
        help_text="In the metric's unit; for rising and falling, the change.",
    )
    window_days = models.PositiveSmallIntegerField(
        default=28, help_text="Days of the rolling window the metric is read over."
    )
    minimum_count = models.PositiveIntegerField(
        default=20,
        help_text="Records the window must count before a trend is trusted.",
    )
    is_enabled = models.BooleanField(default=True)
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
        ordering = ["key"]
        constraints = [
            models.CheckConstraint(
                condition=Q(window_days__gte=1) & Q(window_days__lte=366),
                name="indicator_window_one_day_to_a_year",
            )
        ]

    def __str__(self):
        return self.label


class Alert(models.Model):
    """An indicator's condition holding for one team (or the whole company).

    `scope_key` is "team:<id>" or "company"; at most one alert per indicator
    and scope is open, which is what keeps an alert from repeating.
    """

    indicator = models.ForeignKey(
        Indicator, on_delete=models.CASCADE, related_name="alerts"
    )
    scope_key = models.CharField(max_length=30)
    team = models.ForeignKey(
        "bowtie.Team",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="alerts",
    )
    recipient = models.ForeignKey(
        "bowtie.Person",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="alerts",
        help_text="The owning manager: the team's head, or RevOps company-wide.",
    )
    threshold = models.DecimalField(
        max_digits=12, decimal_places=2, help_text="The threshold when it opened."
    )
    opened_value = models.FloatField()
    previous_value = models.FloatField(null=True, blank=True)
    last_value = models.FloatField(null=True, blank=True)
    window_starts_on = models.DateField()
    window_ends_on = models.DateField()
    # The chart's points and the first records behind the number, as they
    # were when the alert opened, so the alert still shows what was seen.
    evidence = models.JSONField(default=dict, blank=True)
    opened_at = models.DateTimeField()
    last_checked_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_value = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["-opened_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["indicator", "scope_key"],
                condition=Q(resolved_at__isnull=True),
                name="alert_one_open_per_indicator_and_scope",
            )
        ]
        indexes = [
            models.Index(
                fields=["team", "opened_at"],
                condition=Q(resolved_at__isnull=True),
                name="alert_open_by_team",
            )
        ]

    def __str__(self):
        return f"{self.indicator} ({self.scope_key})"

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None
