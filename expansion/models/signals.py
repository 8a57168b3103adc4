"""Expansion signals: a reason to think an account will buy more."""

from django.db import models
from django.db.models import Q

from bowtie.audit import audit_history


class SignalKind(models.TextChoices):
    """The twelve signals of DESIGN.md §6, named by category first."""

    SEATS_NEARLY_FULL = "usage.seats_nearly_full", "Usage: 80 % or more of seats used"
    FEATURE_ADOPTION = "usage.feature_adoption", "Usage: new feature adoption"
    ACTIVES_RISING = "usage.actives_rising", "Usage: daily actives rising"
    CHAMPION_PROMOTED = (
        "relationship.champion_promoted",
        ("Relationship: champion promoted"),
    )
    NEW_STAKEHOLDER = "relationship.new_stakeholder", "Relationship: new stakeholder"
    POSITIVE_NPS = "relationship.positive_nps", "Relationship: positive NPS"
    HEADCOUNT_GROWTH = "commercial.headcount_growth", "Commercial: headcount growth"
    NEW_BUDGET_CYCLE = "commercial.new_budget_cycle", "Commercial: new budget cycle"
    CROSS_FUNCTIONAL_INTEREST = (
        "commercial.cross_functional_interest",
        ("Commercial: cross-functional interest"),
    )
    VALUE_AHEAD = "outcome.value_ahead", "Outcome: value ahead of plan"
    ROI_EXCEEDED = "outcome.roi_exceeded", "Outcome: ROI exceeded"
    NEW_USE_CASES = "outcome.new_use_cases", "Outcome: new use cases"


class Signal(models.Model):
    class Source(models.TextChoices):
        CSM = "csm", "Flagged by a CSM"
        API = "api", "Sent over the API"
        RULE = "rule", "Raised by a rule over usage"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        CONVERTED = "converted", "Turned into an expansion deal"
        DISMISSED = "dismissed", "Dismissed"

    account = models.ForeignKey(
        "bowtie.Account", on_delete=models.CASCADE, related_name="signals"
    )
    kind = models.CharField(max_length=50, choices=SignalKind.choices)
    source = models.CharField(max_length=10, choices=Source.choices)
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.OPEN
    )
    raised_by = models.ForeignKey(
        "bowtie.Person",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    raised_at = models.DateTimeField()
    # What was seen: the CSM's words, or the figures a rule compared.
    evidence = models.TextField(blank=True)
    details = models.JSONField(default=dict, blank=True)
    deal = models.ForeignKey(
        "bowtie.Deal",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="signals",
        help_text="The expansion deal it became.",
    )
    closed_at = models.DateTimeField(null=True, blank=True)
    dismissed_reason = models.CharField(max_length=300, blank=True)

    history = audit_history()

    class Meta:
        ordering = ["-raised_at"]
        constraints = [
            # An open signal of the same kind is not raised twice.
            models.UniqueConstraint(
                fields=["account", "kind"],
                condition=Q(status="open"),
                name="signal_open_once_per_kind",
            )
        ]

    def __str__(self):
        return f"{self.get_kind_display()} at {self.account}"

    @property
    def category(self) -> str:
        return self.kind.split(".", 1)[0]


class SignalRule(models.Model):
    """A rule over usage data that raises a signal; RevOps tunes its numbers."""

    kind = models.CharField(max_length=50, choices=SignalKind.choices, unique=True)
    is_active = models.BooleanField(default=True)
    threshold = models.DecimalField(
        max_digits=8,
        decimal_places=2,
        help_text="What the rule compares against, in the unit of its kind.",
    )
    window_days = models.PositiveSmallIntegerField(default=30)

    history = audit_history()

    class Meta:
        ordering = ["kind"]

    def __str__(self):
        return f"Rule for {self.get_kind_display()}"
