"""Partner organisations and the people of theirs who sign in."""

from django.conf import settings
from django.db import models

from bowtie.audit import audit_history


class Partner(models.Model):
    """An outside firm that implements the product for our customers."""

    name = models.CharField(max_length=200, unique=True)
    slug = models.SlugField(max_length=80, unique=True)
    contact_email = models.EmailField(blank=True)
    is_active = models.BooleanField(
        default=True, help_text="An inactive partner's people can no longer sign in."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = audit_history()

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class PartnerMember(models.Model):
    """A partner's person: a sign-in that sees only its partner's engagements.

    Never a `bowtie.Person` too: vendor pages let in people, so a partner's
    user stays out of them by construction.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="partner_member",
    )
    partner = models.ForeignKey(
        Partner, on_delete=models.CASCADE, related_name="members"
    )
    full_name = models.CharField(max_length=200)
    email = models.EmailField(unique=True)
    time_zone = models.CharField(max_length=64, default="UTC")
    invited_by = models.ForeignKey(
        "bowtie.Person",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    invited_at = models.DateTimeField()
    # Set when they chose their password from the invitation.
    joined_at = models.DateTimeField(null=True, blank=True)
    is_active = models.BooleanField(default=True)

    history = audit_history()

    class Meta:
        ordering = ["partner", "full_name"]

    def __str__(self):
        return f"{self.full_name} ({self.partner})"

    def can_sign_in(self) -> bool:
        return self.is_active and self.partner.is_active


class PartnerInvitation(models.Model):
    """The e-mail that lets a partner's person choose a password: an outbox row.

    The link itself is never stored. It is made when the mail is sent, from
    Django's password-reset tokens, so it stops working once a password is set.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    member = models.ForeignKey(
        PartnerMember, on_delete=models.CASCADE, related_name="invitations"
    )
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.PENDING
    )
    attempt_count = models.PositiveSmallIntegerField(default=0)
    claimed_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(
                fields=["created_at"],
                condition=models.Q(status="pending"),
                name="partner_invitation_pending",
            )
        ]

    def __str__(self):
        return f"Invitation of {self.member}"


class PartnerToken(models.Model):
    """Ties an API token to the one partner whose engagements it reaches."""

    token = models.OneToOneField(
        "bowtie.ApiToken",
        primary_key=True,
        on_delete=models.CASCADE,
        related_name="partner_link",
    )
    partner = models.ForeignKey(
        Partner, on_delete=models.CASCADE, related_name="tokens"
    )

    class Meta:
        ordering = ["partner"]

    def __str__(self):
        return f"{self.token} for {self.partner}"
