"""API tokens for integrations: only a hash is stored."""

import hashlib
import secrets

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

    name = models.CharField(max_length=120, help_text="The integration that uses it.")
    key_prefix = models.CharField(max_length=12, editable=False)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    scopes = models.JSONField(default=list)
    created_by = models.ForeignKey(
        "bowtie.Person", null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

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

    @classmethod
    def generate_key(cls) -> str:
        return "bt_" + secrets.token_urlsafe(32)

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes
