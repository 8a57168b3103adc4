"""API tokens for integrations: only a hash is stored."""

import hashlib
import secrets

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q


def hash_token_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class ApiToken(models.Model):
    class Scope(models.TextChoices):
        LEADS_WRITE = "leads:write", "Create leads"
        LEADS_READ = "leads:read", "Read leads"
        DEALS_READ = "deals:read", "Read deals"
        DEALS_WRITE = "deals:write", "Create and change deals"
        ACCOUNTS_READ = "accounts:read", "Read accounts and contacts"
        ACCOUNTS_WRITE = "accounts:write", "Create and change accounts and contacts"
        PEOPLE_READ = "people:read", "Read people and teams"
        GOVERNANCE_READ = "governance:read", "Read ownership bands"
        HANDOFFS_READ = "handoffs:read", "Read handoffs, milestones and packets"
        HANDOFFS_WRITE = "handoffs:write", "Accept, send back, send again and rate"
        SIGNALS_READ = "signals:read", "Read expansion signals"
        SIGNALS_WRITE = "signals:write", "Raise, dismiss and convert expansion signals"
        # A partner's own systems: only that partner's engagements (partners app).
        PARTNER_READ = "partner:read", "Partner: read its engagements"
        PARTNER_WRITE = "partner:write", "Partner: log milestones, readiness, comments"

    PARTNER_SCOPES = frozenset({Scope.PARTNER_READ, Scope.PARTNER_WRITE})

    name = models.CharField(max_length=120, help_text="The integration that uses it.")
    key_prefix = models.CharField(max_length=12, editable=False)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    scopes = models.JSONField(default=list)
    created_by = models.ForeignKey(
        "bowtie.Person", null=True, blank=True, on_delete=models.SET_NULL
    )
    # The person a token acts as, for the actions a person takes (accepting a
    # handoff): it then reads only what they may, as their session would. An
    # integration's token has none; it reads every row and takes no such
    # action. Deleted with the person, so it never outlives them as a token
    # that reads everything.
    person = models.ForeignKey(
        "bowtie.Person",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="api_tokens",
        help_text="Empty: an integration's token. Set: it acts as this person.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    rate_per_minute = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Requests a minute before it is answered 429. Empty: the default "
        "of BOWTIE_API_RATE_PER_MINUTE; 0: not limited.",
    )

    class Meta:
        ordering = ["name"]
        indexes = [
            models.Index(
                fields=["key_hash"],
                condition=Q(revoked_at__isnull=True),
                name="api_token_live",
            )
        ]

    def __str__(self):
        return f"{self.name} ({self.key_prefix}…)"

    def save(self, *args, **kwargs):
        # Here too, not only in clean(): a token is also made by shell and code.
        check_token_scopes(self.scopes, self.person_id)
        super().save(*args, **kwargs)

    @classmethod
    def generate_key(cls) -> str:
        return "bt_" + secrets.token_urlsafe(32)

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes

    def is_for_partner(self) -> bool:
        return bool(self.PARTNER_SCOPES & set(self.scopes))

    def clean(self):
        check_token_scopes(self.scopes, self.person_id)


def check_token_scopes(scopes: list, person_id) -> None:
    """Refuse unknown scopes, and a partner's token that reaches vendor rows.

    A token with a vendor scope reads every row of it; a partner's must read
    only its engagements, so partner scopes never sit beside the others.
    """
    unknown = set(scopes) - set(ApiToken.Scope.values)
    if unknown:
        raise ValidationError(
            {"scopes": "Unknown scopes: " + ", ".join(sorted(unknown)) + "."}
        )
    partner = ApiToken.PARTNER_SCOPES & set(scopes)
    if partner and (set(scopes) - ApiToken.PARTNER_SCOPES or person_id):
        raise ValidationError(
            {
                "scopes": "A partner's token holds partner scopes only and acts "
                "as no person."
            }
        )
