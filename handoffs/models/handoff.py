"""The handoff record shared by every kind, and its clock milestones."""

from django.db import models
from django.db.models import Q
from django_fsm import FSMField, transition

from bowtie.audit import audit_history
from handoffs.models.leads import LeadType


class Handoff(models.Model):
    """One transition of a customer between two teams (DESIGN.md §2).

    Breaches are facts on milestones, never states, so the state machine stays
    the same for every kind.
    """

    class Kind(models.TextChoices):
        LEAD_TO_SALES = "lead_to_sales", "Marketing → Sales"
        SALES_TO_IMPLEMENTATION = "sales_to_implementation", "Sales → Implementation"
        IMPLEMENTATION_TO_CS = "implementation_to_cs", "Implementation → CS"
        CS_TO_SALES = "cs_to_sales", "CS → Sales (expansion)"

    class State(models.TextChoices):
        OPEN = "open", "Open"
        ACCEPTED = "accepted", "Accepted"
        COMPLETED = "completed", "Completed"
        # Sent back to the sender, with the reason: the word people use.
        REJECTED = "rejected", "Sent back"
        REASSIGNED = "reassigned", "Reassigned"

    kind = models.CharField(max_length=40, choices=Kind.choices)

    # The subject is exactly one of these, depending on the kind.
    lead = models.ForeignKey(
        "handoffs.Lead",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="handoffs",
    )
    deal = models.ForeignKey(
        "bowtie.Deal",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="handoffs",
    )
    account = models.ForeignKey(
        "bowtie.Account",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="handoffs",
    )

    sending_team = models.ForeignKey(
        "bowtie.Team", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    sender = models.ForeignKey(
        "bowtie.Person",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="sent_handoffs",
    )
    receiving_team = models.ForeignKey(
        "bowtie.Team", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    receiver = models.ForeignKey(
        "bowtie.Person",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="received_handoffs",
    )

    state = FSMField(default=State.OPEN, choices=State.choices, protected=True)
    packet = models.JSONField(default=dict, blank=True)
    # How much sales stays involved after signature (DESIGN.md §2), for the
    # sales -> implementation handoff; empty for the other kinds.
    involvement = models.CharField(max_length=30, blank=True)
    # The deal's annual value in EUR when it closed, at the rate of that day,
    # which set the involvement; empty when no rate was known.
    annual_value_eur = models.DecimalField(
        max_digits=14, decimal_places=2, null=True, blank=True
    )
    rejection_reason = models.TextField(blank=True)
    opened_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    # History is read by handoff: an index on each of its copied columns
    # would only slow every write.
    history = audit_history(
        no_db_index=[
            "lead",
            "deal",
            "account",
            "sending_team",
            "sender",
            "receiving_team",
            "receiver",
            "updated_at",
        ]
    )

    class Meta:
        ordering = ["-opened_at"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(lead__isnull=False, deal__isnull=True, account__isnull=True)
                    | Q(lead__isnull=True, deal__isnull=False, account__isnull=True)
                    | Q(lead__isnull=True, deal__isnull=True, account__isnull=False)
                ),
                name="handoff_has_exactly_one_subject",
            ),
            # Closed Won opens one implementation handoff, however often the
            # close is sent.
            models.UniqueConstraint(
                fields=["deal", "kind"],
                condition=Q(deal__isnull=False),
                name="handoff_once_per_deal_and_kind",
            ),
        ]
        indexes = [models.Index(fields=["kind", "state"], name="handoff_kind_state")]

    def __str__(self):
        return f"{self.get_kind_display()} #{self.pk}"

    @property
    def subject(self):
        return self.lead or self.deal or self.account

    # Transitions only change the state; services record who and when, and
    # history keeps every change.
    @transition(field=state, source=State.OPEN, target=State.ACCEPTED)
    def accept(self):
        pass

    @transition(field=state, source=State.ACCEPTED, target=State.COMPLETED)
    def complete(self):
        pass

    @transition(field=state, source=[State.OPEN, State.ACCEPTED], target=State.REJECTED)
    def reject(self):
        pass

    @transition(
        field=state, source=[State.OPEN, State.ACCEPTED], target=State.REASSIGNED
    )
    def reassign(self):
        pass

    # The sender completed what the receivers sent back: theirs again.
    @transition(field=state, source=State.REJECTED, target=State.OPEN)
    def resubmit(self):
        pass


class ClockType(models.TextChoices):
    ELAPSED = "elapsed", "Elapsed time"
    BUSINESS = "business", "Business time"


class OwedBy(models.TextChoices):
    """Which side of a handoff a clock runs against."""

    RECEIVERS = "receivers", "The receiving side"
    SENDER = "sender", "The sender (work sent back)"


class Milestone(models.Model):
    """A deadline on a handoff: met when the work is done, breached when late."""

    class Key(models.TextChoices):
        FIRST_RESPONSE = "first_response", "First response"
        DISPOSITION = "disposition", "Disposition"

    # Indexed by milestone_key_unique_per_handoff, which leads with it.
    handoff = models.ForeignKey(
        Handoff, on_delete=models.CASCADE, related_name="milestones", db_index=False
    )
    key = models.CharField(max_length=40)
    label = models.CharField(max_length=120)
    clock_type = models.CharField(
        max_length=10, choices=ClockType.choices, default=ClockType.ELAPSED
    )
    owed_by = models.CharField(
        max_length=10, choices=OwedBy.choices, default=OwedBy.RECEIVERS
    )
    target_seconds = models.PositiveIntegerField()
    policy = models.ForeignKey(
        "handoffs.SlaPolicy",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    started_at = models.DateTimeField()
    due_at = models.DateTimeField()
    met_at = models.DateTimeField(null=True, blank=True)
    breached_at = models.DateTimeField(null=True, blank=True)
    # Who had the work when the clock ran out: the receiver may change after.
    owner_at_breach = models.ForeignKey(
        "bowtie.Person",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    # Read by handoff (the API's updated_since) and by milestone.
    history = audit_history(no_db_index=["policy", "owner_at_breach"])

    class Meta:
        ordering = ["due_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["handoff", "key"], name="milestone_key_unique_per_handoff"
            )
        ]
        # The sweeper's query: running clocks by due time. Partial, so it stays
        # as small as the number of clocks that are still running.
        indexes = [
            models.Index(
                fields=["due_at"],
                condition=Q(met_at__isnull=True, breached_at__isnull=True),
                name="milestone_running_due",
            )
        ]

    def __str__(self):
        return f"{self.label} of handoff {self.handoff_id}"

    def is_running(self) -> bool:
        return self.met_at is None and self.breached_at is None

    def seconds_left(self, now) -> float:
        return (self.due_at - now).total_seconds()

    def response_seconds(self) -> float | None:
        if self.met_at is None:
            return None
        return (self.met_at - self.started_at).total_seconds()


class SlaPolicy(models.Model):
    """A milestone target for a handoff kind, optionally for one lead type."""

    handoff_kind = models.CharField(max_length=40, choices=Handoff.Kind.choices)
    lead_type = models.CharField(
        max_length=30,
        blank=True,
        choices=LeadType.choices,
        help_text="Empty: applies to every lead type.",
    )

    class StartsWhen(models.TextChoices):
        OPENED = "opened", "When the handoff opens (the receivers' clock)"
        SENT_BACK = "sent_back", "When the receivers send it back (the sender's)"

    milestone_key = models.CharField(max_length=40)
    label = models.CharField(max_length=120)
    target_seconds = models.PositiveIntegerField()
    clock_type = models.CharField(
        max_length=10, choices=ClockType.choices, default=ClockType.ELAPSED
    )
    starts_when = models.CharField(
        max_length=10, choices=StartsWhen.choices, default=StartsWhen.OPENED
    )
    is_active = models.BooleanField(default=True)

    history = audit_history()

    class Meta:
        ordering = ["handoff_kind", "milestone_key", "lead_type"]
        verbose_name = "SLA policy"
        verbose_name_plural = "SLA policies"
        constraints = [
            models.UniqueConstraint(
                fields=["handoff_kind", "lead_type", "milestone_key"],
                name="sla_policy_unique_target",
            )
        ]

    def __str__(self):
        scope = self.get_lead_type_display() if self.lead_type else "any lead type"
        return f"{self.get_handoff_kind_display()} {self.label} ({scope})"
