"""The implementation of one won deal: who does it, its milestones, go-live.

An engagement opens when a partner is assigned to the deal's implementation
(or the vendor's own team takes it). Its milestones are logged by the partner
in the partner area or through a partner token; go-live waits on the five
readiness conditions; hypercare ends in the Implementation -> CS handoff.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q

from bowtie.audit import audit_history


class Engagement(models.Model):
    class Status(models.TextChoices):
        KICKOFF_PENDING = "kickoff_pending", "Kickoff pending"
        IMPLEMENTING = "implementing", "Implementing"
        HYPERCARE = "hypercare", "Live, in hypercare"
        HANDED_TO_CS = "handed_to_cs", "Handed to customer success"

    handoff = models.OneToOneField(
        "handoffs.Handoff",
        on_delete=models.PROTECT,
        related_name="engagement",
        help_text="The sales -> implementation handoff it delivers.",
    )
    deal = models.ForeignKey(
        "bowtie.Deal", on_delete=models.PROTECT, related_name="engagements"
    )
    account = models.ForeignKey(
        "bowtie.Account",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="engagements",
    )
    partner = models.ForeignKey(
        "partners.Partner",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="engagements",
        help_text="Empty: the vendor's own implementation team delivers it.",
    )
    ae = models.ForeignKey(
        "bowtie.Person",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="engagements_as_ae",
    )
    implementation_lead = models.ForeignKey(
        "bowtie.Person",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="engagements_led",
    )
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.KICKOFF_PENDING
    )
    assigned_by = models.ForeignKey(
        "bowtie.Person",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    assigned_at = models.DateTimeField()
    # Recorded with the kickoff: the warm overlay promises the AE is there.
    ae_attended_kickoff = models.BooleanField(null=True, blank=True)
    # Hypercare's length is fixed at go-live, so a later change of the
    # setting does not move an end already promised to the customer.
    hypercare_days = models.PositiveSmallIntegerField(null=True, blank=True)
    hypercare_ends_on = models.DateField(null=True, blank=True)
    # The Implementation -> CS packet, drafted during hypercare; the handoff
    # opens with it once complete (partners.handover).
    cs_packet = models.JSONField(default=dict, blank=True)
    cs_packet_completeness = models.PositiveSmallIntegerField(default=0)
    cs_handoff = models.OneToOneField(
        "handoffs.Handoff",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="delivered_engagement",
    )
    # The customer's first day of real use after kickoff (time to first value).
    first_value_on = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = audit_history()

    class Meta:
        ordering = ["-assigned_at"]
        indexes = [
            models.Index(fields=["partner", "status"], name="engagement_partner"),
            # The hypercare sweep: live engagements whose hypercare has ended.
            models.Index(
                fields=["hypercare_ends_on"],
                condition=Q(status="hypercare"),
                name="engagement_hypercare_due",
            ),
        ]

    def __str__(self):
        return f"Implementation of {self.deal}"

    @property
    def delivered_by(self) -> str:
        return str(self.partner) if self.partner else "In-house"


class ImplementationMilestone(models.Model):
    """A step of the implementation, with the date planned and the date done."""

    class Kind(models.TextChoices):
        KICKOFF = "kickoff", "Kickoff"
        FIRST_MEETING = "first_meeting", "First implementation meeting"
        GO_LIVE = "go_live", "Go-live"
        HYPERCARE_END = "hypercare_end", "Hypercare end"

    ORDER = [Kind.KICKOFF, Kind.FIRST_MEETING, Kind.GO_LIVE, Kind.HYPERCARE_END]

    engagement = models.ForeignKey(
        Engagement, on_delete=models.CASCADE, related_name="milestones"
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    position = models.PositiveSmallIntegerField()
    planned_on = models.DateField(null=True, blank=True)
    actual_on = models.DateField(null=True, blank=True)
    notes = models.TextField(blank=True)
    # Who logged it last, as they are named: a partner's person, a vendor
    # person, or a partner's system through its token.
    logged_by = models.CharField(max_length=200, blank=True)
    logged_by_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    logged_at = models.DateTimeField(null=True, blank=True)

    history = audit_history()

    class Meta:
        ordering = ["engagement", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["engagement", "kind"], name="implementation_milestone_once"
            )
        ]

    def __str__(self):
        return f"{self.get_kind_display()} of {self.engagement}"

    def is_done(self) -> bool:
        return self.actual_on is not None

    def is_on_time(self) -> bool | None:
        """Done no later than planned; None while either date is missing."""
        if self.actual_on is None or self.planned_on is None:
            return None
        return self.actual_on <= self.planned_on


class ReadinessCondition(models.Model):
    """One of the five things that must be true before go-live (DESIGN.md §5)."""

    class Key(models.TextChoices):
        TASKS_WORK = "tasks_work", "Tasks work end to end"
        PEOPLE_TRAINED = "people_trained", "People trained"
        DATA_MIGRATED = "data_migrated", "Data migrated"
        SUPPORT_PLAN = "support_plan", "Support plan in place"
        ROLLBACK_PLAN = "rollback_plan", "Rollback plan exists"

    engagement = models.ForeignKey(
        Engagement, on_delete=models.CASCADE, related_name="readiness"
    )
    key = models.CharField(max_length=20, choices=Key.choices)
    position = models.PositiveSmallIntegerField()
    owner_name = models.CharField(
        max_length=200, blank=True, help_text="Who answers for it, on either side."
    )
    evidence = models.TextField(
        blank=True, help_text="What shows it is true: a test run, a sign-off, a link."
    )
    is_met = models.BooleanField(default=False)
    confirmed_by = models.CharField(max_length=200, blank=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)

    history = audit_history()

    class Meta:
        ordering = ["engagement", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["engagement", "key"], name="readiness_condition_once"
            ),
            # A condition is true only with someone answering for it and the
            # evidence; the database holds it even if a path forgets.
            models.CheckConstraint(
                condition=Q(is_met=False) | (~Q(owner_name="") & ~Q(evidence="")),
                name="readiness_met_has_owner_and_evidence",
            ),
        ]

    def __str__(self):
        return f"{self.get_key_display()} for {self.engagement}"


class EngagementComment(models.Model):
    """The thread the partner and the vendor share on one engagement."""

    engagement = models.ForeignKey(
        Engagement, on_delete=models.CASCADE, related_name="comments"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    author_name = models.CharField(max_length=200)
    is_from_partner = models.BooleanField()
    body = models.TextField()
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["engagement", "created_at", "pk"]

    def __str__(self):
        return f"Comment by {self.author_name} on {self.engagement}"


class CustomerSession(models.Model):
    """A meeting or training held with the customer's people.

    Who was invited and who came feed the health score: training attendance,
    and how many of the account's stakeholders take part at all.
    """

    class Kind(models.TextChoices):
        MEETING = "meeting", "Meeting"
        TRAINING = "training", "Training"

    engagement = models.ForeignKey(
        Engagement, on_delete=models.CASCADE, related_name="sessions"
    )
    kind = models.CharField(max_length=10, choices=Kind.choices)
    title = models.CharField(max_length=200)
    held_on = models.DateField()
    invited = models.ManyToManyField("bowtie.Contact", related_name="+", blank=True)
    attended = models.ManyToManyField("bowtie.Contact", related_name="+", blank=True)
    logged_by = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["engagement", "held_on"]

    def __str__(self):
        return f"{self.get_kind_display()} {self.title} on {self.held_on}"
