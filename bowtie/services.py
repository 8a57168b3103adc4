"""Writes on core records that have rules of their own."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from bowtie.models import ApiToken, NotificationPreference, Topic, hash_token_key

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


@transaction.atomic
def save_notification_preferences(
    person, *, notify_by_email: bool, webhook_url: str, topics: dict
) -> None:
    """Store how a person wants to hear about each topic.

    `topics` maps a topic to a pair (by e-mail, by webhook). A topic left out
    keeps its stored choice. The address is checked before anything is saved.
    """
    unknown = set(topics) - set(Topic.values)
    if unknown:
        raise ValidationError({"topics": f"Unknown topics: {', '.join(unknown)}."})

    person.notify_by_email = notify_by_email
    person.slack_webhook_url = webhook_url.strip()
    # The model's own checks, so the admin and this page refuse the same.
    person.full_clean(validate_unique=False)
    person.save(update_fields=["notify_by_email", "slack_webhook_url", "updated_at"])
    for topic, (by_email, by_webhook) in topics.items():
        NotificationPreference.objects.update_or_create(
            person=person,
            topic=topic,
            defaults={"by_email": by_email, "by_webhook": by_webhook},
        )
