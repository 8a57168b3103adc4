"""Idempotency keys: a caller's first answer to a write, kept to replay it.

An integration that lost an answer (a timeout, a dropped connection) sends the
same request again under the same `Idempotency-Key`; the row tells whether the
first one is still running, what it answered, or that the key was meant for
another request. `bowtie.api.idempotency` reads and writes these rows.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q


class IdempotencyKey(models.Model):
    # Exactly one of the two is the caller: an integration's token, or the
    # user of a browser session.
    token = models.ForeignKey(
        "bowtie.ApiToken", null=True, blank=True, on_delete=models.CASCADE
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE
    )
    key = models.CharField(max_length=255)
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=500)
    body_hash = models.CharField(max_length=64)
    # Empty while the first request runs.
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(db_index=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            # A NULL caller never collides, so each pair covers its own rows.
            models.UniqueConstraint(
                fields=["token", "key"], name="idempotency_key_once_per_token"
            ),
            models.UniqueConstraint(
                fields=["user", "key"], name="idempotency_key_once_per_user"
            ),
            models.CheckConstraint(
                condition=(Q(token__isnull=False) & Q(user__isnull=True))
                | (Q(token__isnull=True) & Q(user__isnull=False)),
                name="idempotency_key_has_one_caller",
            ),
        ]

    def __str__(self):
        return f"{self.method} {self.path} [{self.key}]"

    @property
    def is_complete(self) -> bool:
        return self.response_status is not None
