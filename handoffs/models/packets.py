"""Packet templates: what must transfer at a handoff, item by item.

A template belongs to one handoff kind. Each item is a piece of text or a
list of structured rows (a goal is a metric, a baseline, a target and a date),
required or optional. The packet itself is plain JSON keyed by item, checked
against the template by `handoffs.packets`.
"""

from django.core.exceptions import ValidationError
from django.db import models

from bowtie.audit import audit_history
from handoffs.models.handoff import Handoff


class PacketTemplate(models.Model):
    handoff_kind = models.CharField(
        max_length=40, choices=Handoff.Kind.choices, unique=True
    )
    name = models.CharField(max_length=120)
    updated_at = models.DateTimeField(auto_now=True)

    history = audit_history()

    class Meta:
        ordering = ["handoff_kind"]

    def __str__(self):
        return self.name


class PacketItem(models.Model):
    class Kind(models.TextChoices):
        TEXT = "text", "Text"
        ROWS = "rows", "Rows of structured parts"

    template = models.ForeignKey(
        PacketTemplate, on_delete=models.CASCADE, related_name="items"
    )
    key = models.SlugField(max_length=60, help_text="Where the packet stores it.")
    section = models.CharField(max_length=120)
    label = models.CharField(max_length=200)
    help_text = models.CharField(max_length=300, blank=True)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.TEXT)
    # For rows: [{"key": "metric", "label": "Metric", "choices": [...]}, ...];
    # a row counts once each of its parts is filled in.
    parts = models.JSONField(default=list, blank=True)
    is_required = models.BooleanField(default=True)
    position = models.PositiveSmallIntegerField(default=0)

    history = audit_history()

    class Meta:
        ordering = ["template", "position", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["template", "key"], name="packet_item_key_unique_in_template"
            )
        ]

    def __str__(self):
        return f"{self.section}: {self.label}"

    def clean(self):
        if self.kind == self.Kind.ROWS:
            keys = [part.get("key") for part in self.parts if isinstance(part, dict)]
            if not keys or len(keys) != len(self.parts) or not all(keys):
                raise ValidationError(
                    {
                        "parts": 'Rows need parts, each like {"key": "metric", '
                        '"label": "Metric"}.'
                    }
                )
            if len(set(keys)) != len(keys):
                raise ValidationError({"parts": "Each part needs a key of its own."})
        elif self.parts:
            raise ValidationError({"parts": "A text item has no parts."})


RATING_DIMENSIONS = [
    ("completeness", "Information completeness"),
    ("promise_alignment", "Promise alignment"),
    ("sentiment_continuity", "Customer sentiment continuity"),
    ("context_transfer", "Context transfer"),
    ("stakeholder_mapping", "Stakeholder mapping"),
]


class HandoffRating(models.Model):
    """The receiving side's 1-5 marks for one handoff, on five counts."""

    DIMENSIONS = RATING_DIMENSIONS

    handoff = models.OneToOneField(
        Handoff, on_delete=models.CASCADE, related_name="rating"
    )
    rated_by = models.ForeignKey(
        "bowtie.Person", null=True, on_delete=models.SET_NULL, related_name="+"
    )
    completeness = models.PositiveSmallIntegerField()
    promise_alignment = models.PositiveSmallIntegerField()
    sentiment_continuity = models.PositiveSmallIntegerField()
    context_transfer = models.PositiveSmallIntegerField()
    stakeholder_mapping = models.PositiveSmallIntegerField()
    comment = models.TextField(blank=True)
    rated_at = models.DateTimeField()

    history = audit_history()

    class Meta:
        ordering = ["-rated_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(**{f"{name}__gte": 1, f"{name}__lte": 5}),
                name=f"handoff_rating_{name}_1_to_5",
            )
            for name, _ in RATING_DIMENSIONS
        ]

    def __str__(self):
        return f"Rating of handoff {self.handoff_id}: {self.average:.1f}"

    @property
    def average(self) -> float:
        return sum(getattr(self, name) for name, _ in self.DIMENSIONS) / len(
            self.DIMENSIONS
        )


class HandoffTask(models.Model):
    """A concrete step someone owns on a handoff, such as the AE at kickoff."""

    handoff = models.ForeignKey(Handoff, on_delete=models.CASCADE, related_name="tasks")
    title = models.CharField(max_length=200)
    owner = models.ForeignKey(
        "bowtie.Person",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="handoff_tasks",
    )
    due_at = models.DateTimeField()
    done_at = models.DateTimeField(null=True, blank=True)

    history = audit_history()

    class Meta:
        ordering = ["due_at", "pk"]

    def __str__(self):
        return self.title


class HandoffParticipant(models.Model):
    """Someone who stays in a handoff without owning it, by the involvement.

    The AE of a warm overlay joins the kickoff and is copied on the handoff's
    news until `copy_ends_at`; the CSM of a pre-sale CS deal joins from the
    start and stays copied.
    """

    class Role(models.TextChoices):
        SALES_OVERLAY = "sales_overlay", "AE on warm overlay"
        PRE_SALE_CS = "pre_sale_cs", "CSM from before the sale"

    handoff = models.ForeignKey(
        Handoff, on_delete=models.CASCADE, related_name="participants"
    )
    person = models.ForeignKey(
        "bowtie.Person", on_delete=models.CASCADE, related_name="+"
    )
    role = models.CharField(max_length=20, choices=Role.choices)
    joins_kickoff = models.BooleanField(default=True)
    copy_ends_at = models.DateTimeField(
        null=True, blank=True, help_text="Empty: copied for the whole handoff."
    )

    history = audit_history()

    class Meta:
        ordering = ["handoff", "role"]
        constraints = [
            models.UniqueConstraint(
                fields=["handoff", "person", "role"],
                name="participant_once_per_role",
            )
        ]

    def __str__(self):
        return f"{self.person}, {self.get_role_display()}"

    def is_copied_at(self, moment) -> bool:
        return self.copy_ends_at is None or moment <= self.copy_ends_at
