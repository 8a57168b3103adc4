"""Escalation ladders: what happens, and when, as a clock runs down."""

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from bowtie.audit import audit_history


class EscalationRule(models.Model):
    """One rung of an SLA policy's ladder.

    A rung fires at a share of the milestone's target (on the milestone's own
    clock, so a business-time target warns in business time) or at a fixed
    elapsed time after the due time: a reassignment 24 hours after a breach
    means the same for a five-minute target as for a fourteen-day one.
    """

    class Action(models.TextChoices):
        WARN = "warn", "Warn the owner"
        NOTIFY_MANAGER = "notify_manager", "Notify the owner's manager"
        REASSIGN = "reassign", "Reassign to another eligible person"
        ESCALATE = "escalate", "Escalate to the head of the team"

    class Anchor(models.TextChoices):
        SHARE_OF_TARGET = "share_of_target", "Share of the target used"
        AFTER_DUE = "after_due", "Elapsed time after the due time"

    policy = models.ForeignKey(
        "handoffs.SlaPolicy", on_delete=models.CASCADE, related_name="ladder"
    )
    action = models.CharField(max_length=20, choices=Action.choices)
    anchor = models.CharField(max_length=20, choices=Anchor.choices)
    percent_of_target = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        help_text="For a share of the target: 100 fires at the due time.",
    )
    elapsed_seconds = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="For elapsed time after the due time: 86400 is 24 hours.",
    )
    is_active = models.BooleanField(default=True)

    history = audit_history()

    class Meta:
        # Rungs in the order they fire, on every database: shares of the
        # target first, then the times after the due time.
        ordering = [
            "policy",
            models.F("percent_of_target").asc(nulls_last=True),
            "elapsed_seconds",
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["policy", "action"], name="escalation_rule_once_per_policy"
            ),
            models.CheckConstraint(
                condition=(
                    Q(
                        anchor="share_of_target",
                        percent_of_target__gte=1,
                        percent_of_target__lte=100,
                        elapsed_seconds__isnull=True,
                    )
                    | Q(
                        anchor="after_due",
                        percent_of_target__isnull=True,
                        elapsed_seconds__gte=1,
                    )
                ),
                name="escalation_rule_anchor_has_its_value",
            ),
        ]

    def __str__(self):
        # Read from a dict: get_action_display rebuilds the choices each time,
        # and every new lead's ladder names each of its rungs.
        return f"{ACTION_LABELS.get(self.action, self.action)} {self.when}"

    @property
    def when(self) -> str:
        if self.anchor == self.Anchor.SHARE_OF_TARGET:
            if self.percent_of_target == 100:
                return "at the due time"
            return f"at {self.percent_of_target} % of the target"
        hours, rest = divmod(self.elapsed_seconds or 0, 3600)
        minutes = rest // 60
        spelled = f"{hours} h" + (f" {minutes} min" if minutes else "")
        return f"{spelled} after the due time"

    def clean(self):
        errors = {}
        if self.anchor == self.Anchor.SHARE_OF_TARGET:
            if self.percent_of_target is None or not 1 <= self.percent_of_target <= 100:
                errors["percent_of_target"] = "Give a share from 1 to 100 %."
            if self.elapsed_seconds is not None:
                errors["elapsed_seconds"] = "Leave empty for a share of the target."
        elif self.anchor == self.Anchor.AFTER_DUE:
            if not self.elapsed_seconds:
                errors["elapsed_seconds"] = "Give the seconds after the due time."
            if self.percent_of_target is not None:
                errors["percent_of_target"] = "Leave empty for an elapsed time."
        if errors:
            raise ValidationError(errors)


ACTION_LABELS = dict(EscalationRule.Action.choices)


class LadderStep(models.Model):
    """One rung scheduled on one running milestone; taken exactly once.

    `taken_at` is the claim: the sweeper sets it with a conditional update,
    so two sweepers never both act. A step whose clock stopped first is
    closed with that outcome instead.
    """

    # Indexed by ladder_step_once_per_milestone, which leads with it.
    milestone = models.ForeignKey(
        "handoffs.Milestone",
        on_delete=models.CASCADE,
        related_name="ladder_steps",
        db_index=False,
    )
    rule = models.ForeignKey(
        EscalationRule, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Copied from the rule, so the timeline still reads right after an edit.
    action = models.CharField(max_length=20, choices=EscalationRule.Action.choices)
    rule_text = models.CharField(max_length=200)
    due_at = models.DateTimeField()
    taken_at = models.DateTimeField(null=True, blank=True)
    # True when the sweeper fired the rung; False when it was closed unfired
    # because its clock stopped first.
    fired = models.BooleanField(default=False)
    outcome = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["due_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["milestone", "action"], name="ladder_step_once_per_milestone"
            )
        ]
        # The sweeper's query, kept as small as the steps still waiting.
        indexes = [
            models.Index(
                fields=["due_at"],
                condition=Q(taken_at__isnull=True),
                name="ladder_step_waiting_due",
            )
        ]

    def __str__(self):
        return f"{self.get_action_display()} on milestone {self.milestone_id}"
