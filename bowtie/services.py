"""Writes on core records that have rules of their own."""

import logging

from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from bowtie.models import (
    Account,
    ApiToken,
    Contact,
    NotificationPreference,
    Person,
    Topic,
    hash_token_key,
)

logger = logging.getLogger(__name__)

KNOWN_SCOPES = frozenset(scope for scope, _ in ApiToken.Scope.choices)


@transaction.atomic
def issue_api_token(
    name: str,
    scopes: list[str],
    created_by=None,
    rate_per_minute: int | None = None,
    person=None,
):
    """Create a token and return it with its key, which is shown only now.

    `rate_per_minute` None leaves the token on the default API rate; 0 lets
    it through unlimited. A token given a `person` acts as them (see
    `ApiToken.person`).
    """
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
        rate_per_minute=rate_per_minute,
        person=person,
    )
    return token, key


def revoke_api_tokens(tokens) -> int:
    return tokens.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())


def change_api_token_rate(token: ApiToken, rate_per_minute: int | None) -> None:
    """Give a token its own rate, or None for the default; it counts at once.

    The one thing about an issued token that may change: an integration that
    grows, or misbehaves, should not need a new key.
    """
    token.rate_per_minute = rate_per_minute
    token.save(update_fields=["rate_per_minute"])


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


# What the API may set; the rest (domains, revenue) is kept in the admin.
ACCOUNT_FIELDS = (
    "name",
    "parent",
    "owner",
    "country",
    "industry",
    "employee_count",
    "founded_year",
    "external_id",
)
CONTACT_FIELDS = (
    "account",
    "email",
    "first_name",
    "last_name",
    "job_title",
    "phone",
    "country",
    "external_id",
)


def check_can_edit_customers(actor: Person | None) -> None:
    """Let integrations and RevOps write accounts and contacts.

    `actor` None is an integration's token, which an admin gave the
    accounts:write scope. People edit customers in the CRM, which syncs
    here; RevOps run that sync and mend what it brought.
    """
    if actor is not None and actor.role != Person.Role.REVOPS_ADMIN:
        raise PermissionDenied("Only RevOps change accounts and contacts here.")


def save_account(account: Account | None, values: dict, actor=None) -> Account:
    """Create an account (`account` None) or change the fields in `values`.

    `values` maps names of `ACCOUNT_FIELDS` to model values (a parent
    Account, an owner Person). The model's checks run before anything is
    stored; a refusal names each field.
    """
    return save_customer_record(Account, account, values, ACCOUNT_FIELDS, actor)


def save_contact(contact: Contact | None, values: dict, actor=None) -> Contact:
    """Create a contact or change the fields in `values`, as `save_account`."""
    return save_customer_record(Contact, contact, values, CONTACT_FIELDS, actor)


@transaction.atomic
def save_customer_record(model, row, values: dict, fields: tuple, actor):
    check_can_edit_customers(actor)
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise ValueError(f"Not writable here: {', '.join(unknown)}")

    # Locked, so the checks see the row as it is stored while this one writes.
    row = model() if row is None else model.objects.select_for_update().get(pk=row.pk)
    is_new = row._state.adding
    if not values and not is_new:
        return row
    for name, value in values.items():
        setattr(row, name, value)
    row.full_clean()

    try:
        # A savepoint: a unique value taken by a concurrent write is a refusal
        # like any other, not a broken transaction.
        with transaction.atomic():
            row.save(update_fields=None if is_new else [*values, "updated_at"])
    except IntegrityError:
        raise ValidationError(
            {NON_FIELD_ERRORS: "Another write took one of these values just now."}
        ) from None
    logger.info("%s %s saved", model._meta.model_name, row.pk)
    return row
