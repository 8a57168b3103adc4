"""The actions a renewal deal starts before its term ends, each fired once."""

from django.db import models


class RenewalAction(models.Model):
    class Kind(models.TextChoices):
        OWNER_TASK = "owner_task", "Renewal task for the owner (T-90)"
        RENEWAL_PLAY = "renewal_play", "Renewal play with a customer ROI report"

    deal = models.ForeignKey(
        "bowtie.Deal", on_delete=models.CASCADE, related_name="renewal_actions"
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    owner = models.ForeignKey(
        "bowtie.Person",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="renewal_actions",
    )
    due_on = models.DateField(db_index=True)
    fired_at = models.DateTimeField(null=True, blank=True)
    done_at = models.DateTimeField(null=True, blank=True)
    notes = models.TextField(blank=True)

    class Meta:
        ordering = ["due_on"]
        constraints = [
            # Exactly once per renewal and kind, however often the sweep runs.
            models.UniqueConstraint(fields=["deal", "kind"], name="renewal_action_once")
        ]
        indexes = [
            models.Index(
                fields=["due_on"],
                condition=models.Q(fired_at__isnull=True),
                name="renewal_action_waiting",
            )
        ]

    def __str__(self):
        return f"{self.get_kind_display()} for {self.deal}"
