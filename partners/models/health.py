"""Customer health from kickoff: the weights RevOps edits and the history."""

from django.db import models

from bowtie.audit import audit_history


class HealthComponent(models.TextChoices):
    MILESTONE_COMPLETION = "milestone_completion", "Milestone completion rate"
    STAKEHOLDER_ENGAGEMENT = "stakeholder_engagement", "Stakeholder engagement"
    CUSTOMER_RESPONSIVENESS = "customer_responsiveness", "Customer responsiveness"
    ADMIN_LOGINS = "admin_logins", "Admin login frequency"
    TRAINING_ATTENDANCE = "training_attendance", "Training attendance"


class HealthWeight(models.Model):
    """How much one component counts in the score; RevOps edits these."""

    component = models.CharField(
        max_length=30, choices=HealthComponent.choices, unique=True
    )
    weight = models.PositiveSmallIntegerField(
        help_text="Relative weight; the score divides by the weights of the "
        "components that could be measured."
    )

    history = audit_history()

    class Meta:
        ordering = ["component"]

    def __str__(self):
        return f"{self.get_component_display()}: {self.weight}"


class HealthScore(models.Model):
    """An account's health on one day, with what made it, kept as history."""

    account = models.ForeignKey(
        "bowtie.Account", on_delete=models.CASCADE, related_name="health_scores"
    )
    engagement = models.ForeignKey(
        "partners.Engagement",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="health_scores",
    )
    scored_on = models.DateField()
    score = models.DecimalField(
        max_digits=5,
        decimal_places=1,
        null=True,
        blank=True,
        help_text="0-100; empty when no component could be measured.",
    )
    # {component: {"value": 0-100 or null, "weight": n, "basis": "why"}}, and
    # the weights as they were that day, so an old score can be explained.
    components = models.JSONField(default=dict)
    computed_at = models.DateTimeField()

    class Meta:
        ordering = ["account", "scored_on"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "scored_on"], name="health_score_once_a_day"
            )
        ]

    def __str__(self):
        return f"Health of {self.account} on {self.scored_on}: {self.score}"
