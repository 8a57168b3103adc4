"""Writes on core records that have rules of their own."""

from django.db import transaction
from django.utils import timezone

from bowtie.models import ApiToken, hash_token_key

KNOWN_SCOPES = frozenset(scope for scope, _ in ApiToken.Scope.choices)


@transaction.atomic
def issue_api_token(name: str, scopes: list[str], created_by=None):
    """Create a token and return it with its key, which is shown only now."""
    unknown = sorted(set(scopes) - KNOWN_SCOPES)
    if unknown:
        raise ValueError(f"Unknown scopes: {', '.join(unknown)}")
    if not name.strip():
        raise ValueError("A token needs the name of the integration that uses it.")

    key = ApiToken.generate_key()
    token = ApiToken.objects.create(
        name=name.strip(),
        key_prefix=key[:10],
        key_hash=hash_token_key(key),
        scopes=sorted(set(scopes)),
        created_by=created_by,
    )
    return token, key


def revoke_api_tokens(tokens) -> int:
    return tokens.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
