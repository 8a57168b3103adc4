"""Leads (one row per buying cycle), their touches and routing decisions."""

from django.db import models
from django.db.models import Q

from bowtie.audit import audit_history


class LeadType(models.TextChoices):
    HAND_RAISER = "hand_raiser", "Hand-raiser"
    PAID = "paid", "Paid"
    ORGANIC = "organic", "Organic"
    PARTNER_REFERRAL = "partner_referral", "Partner referral"
    NURTURE = "nurture", "Content / webinar nurture"


class IntakeChannel(models.TextChoices):
    FORM = "form", "Public form"
    API = "api", "API"
    IMPORT = "import", "CSV import"
    WEBHOOK = "webhook", "CRM webhook"


class Lead(models.Model):
    """One buying cycle of one person.

    A repeat submission inside an open cycle is a touch on the same row; a
    person who comes back after the cycle closed gets a new row, linked to the
    old one, so each cycle is measured on its own.
    """

    class Status(models.TextChoices):
        NEW = "new", "New"
        WORKING = "working", "Working"
        QUALIFIED = "qualified", "Qualified (SQL)"
        DISQUALIFIED = "disqualified", "Disqualified"
        NURTURE = "nurture", "Back to nurture"

    OPEN_STATUSES = (Status.NEW, Status.WORKING)

    email = models.EmailField(blank=True)
    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    company_name = models.CharField(max_length=200, blank=True)
    job_title = models.CharField(max_length=150, blank=True)
    phone = models.CharField(max_length=40, blank=True)
    country = models.CharField(max_length=2, blank=True)
    language = models.CharField(max_length=8, blank=True)
    city = models.CharField(max_length=120, blank=True)
    email_domain = models.CharField(max_length=253, blank=True)
    employee_count = models.PositiveIntegerField(null=True, blank=True)
    industry = models.CharField(max_length=100, blank=True)

    source = models.CharField(max_length=80, blank=True)
    form_type = models.CharField(max_length=40, blank=True)
    utm_source = models.CharField(max_length=120, blank=True)
    utm_medium = models.CharField(max_length=120, blank=True)
    utm_campaign = models.CharField(max_length=200, blank=True)
    referral_code = models.CharField(max_length=60, blank=True)
    lead_type = models.CharField(max_length=30, choices=LeadType.choices)
    channel = models.CharField(max_length=10, choices=IntakeChannel.choices)
    engagement = models.JSONField(default=dict, blank=True)
    third_party_intent = models.PositiveSmallIntegerField(null=True, blank=True)
    do_not_email = models.BooleanField(default=False)
    do_not_call = models.BooleanField(default=False)

    account = models.ForeignKey(
        "bowtie.Account",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="leads",
    )
    # Indexed by lead_team_status and lead_owner_status, which lead with them.
    team = models.ForeignKey(
        "bowtie.Team",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="leads",
        db_index=False,
    )
    owner = models.ForeignKey(
        "bowtie.Person",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="owned_leads",
        db_index=False,
    )

    fit_score = models.PositiveSmallIntegerField(null=True, blank=True)
    intent_score = models.PositiveSmallIntegerField(null=True, blank=True)
    third_party_score = models.PositiveSmallIntegerField(null=True, blank=True)
    score = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="0-100; empty for hand-raisers."
    )
    score_weights = models.JSONField(default=dict, blank=True)

    status = models.CharField(max_length=20, choices=Status.choices, default=Status.NEW)
    disqualification_reason = models.CharField(max_length=200, blank=True)
    cycle = models.PositiveSmallIntegerField(default=1)
    previous_cycle = models.OneToOneField(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="next_cycle",
    )
    touch_count = models.PositiveIntegerField(default=1)
    is_historical = models.BooleanField(
        default=False, help_text="Imported history: no clock was started."
    )
    received_at = models.DateTimeField(db_index=True)
    first_response_at = models.DateTimeField(null=True, blank=True)
    # Stamped with the first response (services.record_first_response), so the
    # dashboards aggregate stored seconds instead of counting business time
    # lead by lead, and an edited calendar leaves a measured response alone.
    response_seconds = models.PositiveIntegerField(
        null=True, blank=True, help_text="Receipt to first response, elapsed."
    )
    business_response_seconds = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Receipt to first response, in the owner's working hours.",
    )
    closed_at = models.DateTimeField(null=True, blank=True)
    external_source = models.CharField(max_length=60, blank=True)
    external_id = models.CharField(max_length=100, blank=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    # History is read by lead: an index on each of its copied columns would
    # only slow every intake.
    history = audit_history(
        excluded_fields=["touch_count"],
        no_db_index=[
            "account",
            "team",
            "owner",
            "previous_cycle",
            "received_at",
            "updated_at",
        ],
    )

    class Meta:
        ordering = ["-received_at"]
        constraints = [
            # One open cycle per person: the database settles racing repeats.
            models.UniqueConstraint(
                fields=["email"],
                condition=Q(closed_at__isnull=True) & ~Q(email=""),
                name="lead_one_open_cycle_per_email",
            ),
            models.UniqueConstraint(
                fields=["external_source", "external_id"],
                condition=Q(closed_at__isnull=True) & ~Q(external_id=""),
                name="lead_one_open_cycle_per_external_id",
            ),
            models.CheckConstraint(
                condition=~Q(email="") | ~Q(external_id=""),
                name="lead_has_email_or_external_id",
            ),
            # Cycle numbers never repeat for a person, whichever door (or an
            # import not yet committed) wrote the previous one. They also index
            # every intake's look-up of the person's latest cycle.
            models.UniqueConstraint(
                fields=["email", "cycle"],
                condition=~Q(email=""),
                name="lead_cycle_number_once_per_email",
            ),
            models.UniqueConstraint(
                fields=["external_source", "external_id", "cycle"],
                condition=Q(email="") & ~Q(external_id=""),
                name="lead_cycle_number_once_per_external_id",
            ),
        ]
        indexes = [
            models.Index(fields=["owner", "status"], name="lead_owner_status"),
            models.Index(fields=["team", "status"], name="lead_team_status"),
            # The dashboards read live leads only, a period at a time: the
            # hand-raisers' response times, the unanswered ones (a few) for
            # the unworked rate, and the closes for the rejection rate. Each
            # leads with its time, so a period's rows are read in the order
            # they were written.
            models.Index(
                fields=["received_at"],
                condition=Q(is_historical=False, lead_type=LeadType.HAND_RAISER),
                name="lead_live_hand_raisers",
            ),
            models.Index(
                fields=["received_at"],
                condition=Q(is_historical=False, first_response_at__isnull=True),
                name="lead_live_unanswered",
            ),
            models.Index(
                fields=["closed_at"],
                condition=Q(is_historical=False, closed_at__isnull=False),
                name="lead_live_closed",
            ),
        ]

    def __str__(self):
        return self.display_name

    @property
    def display_name(self) -> str:
        name = f"{self.first_name} {self.last_name}".strip()
        return name or self.email or f"{self.external_source} {self.external_id}"

    @property
    def is_open(self) -> bool:
        return self.closed_at is None


class Touch(models.Model):
    class Kind(models.TextChoices):
        SUBMISSION = "submission", "Submission"
        CALL = "call", "Call"
        EMAIL = "email", "E-mail"
        MEETING = "meeting", "Meeting"

    # Kinds that count as the owner responding to the lead.
    RESPONSE_KINDS = (Kind.CALL, Kind.EMAIL, Kind.MEETING)

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="touches")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    actor = models.ForeignKey(
        "bowtie.Person",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    channel = models.CharField(max_length=10, choices=IntakeChannel.choices, blank=True)
    occurred_at = models.DateTimeField()
    notes = models.TextField(blank=True)
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["occurred_at"]

    def __str__(self):
        return f"{self.get_kind_display()} on lead {self.lead_id}"


class RoutingDecision(models.Model):
    """Why a lead went where it went, kept so the lead page can answer."""

    class Step(models.TextChoices):
        ACCOUNT_OWNER = "account_owner", "Account owner"
        RULE = "rule", "Routing rule"
        DEFAULT_TEAM = "default_team", "Default team"
        FALLBACK_QUEUE = "fallback_queue", "Fallback queue"
        MANUAL = "manual", "Manual reassignment"
        SLA_REASSIGNMENT = "sla_reassignment", "Reassigned by the SLA ladder"
        HISTORY = "history", "Imported history"

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="decisions")
    step = models.CharField(max_length=20, choices=Step.choices)
    rule = models.ForeignKey(
        "handoffs.RoutingRule",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="decisions",
    )
    team = models.ForeignKey(
        "bowtie.Team",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    person = models.ForeignKey(
        "bowtie.Person",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    reason = models.TextField()
    candidates = models.JSONField(
        default=list, blank=True, help_text="Each person considered, and why not."
    )
    decided_at = models.DateTimeField()

    class Meta:
        ordering = ["-decided_at", "-id"]

    def __str__(self):
        return self.reason
