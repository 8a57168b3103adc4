"""API tokens of partners: each reaches one partner's engagements only.

A partner token is an ordinary `bowtie.ApiToken` that holds partner scopes
only and acts as no person (its `save()` refuses anything else), tied by a
`PartnerToken` row to the partner whose engagements it reaches. The token and
its link are made in one transaction: a token with partner scopes and no link
reaches nothing, but one should never be left behind half-issued either.
"""

import logging

from django.db import transaction

from bowtie.models import ApiToken, Person
from bowtie.services import issue_api_token, revoke_api_tokens
from partners.models import Partner, PartnerToken
from partners.services import FieldsRefused

logger = logging.getLogger(__name__)

READ_WRITE = (ApiToken.Scope.PARTNER_READ, ApiToken.Scope.PARTNER_WRITE)
READ_ONLY = (ApiToken.Scope.PARTNER_READ,)


@transaction.atomic
def issue_partner_token(
    partner: Partner,
    name: str,
    actor_person: Person | None,
    scopes=READ_WRITE,
    rate_per_minute: int | None = None,
) -> tuple[ApiToken, str]:
    """Issue a token for `partner`'s systems; return it with its key.

    The key is returned only now: only its hash is stored. `actor_person` is
    the vendor person who issues it (None from the shell). `scopes` are
    partner scopes, partner:read at least; `rate_per_minute` None leaves the
    default API rate, 0 none. Refusals name the field: FieldsRefused.
    """
    scopes = set(scopes)
    errors = {}
    if not name.strip():
        errors["name"] = "Name the system of the partner that uses it."
    if not partner.is_active:
        errors["partner"] = f"{partner} is no longer an active partner."
    if scopes - ApiToken.PARTNER_SCOPES:
        errors["scopes"] = "A partner's token holds partner scopes only."
    elif ApiToken.Scope.PARTNER_READ not in scopes:
        # Every write answers with the row it changed: a writer reads too.
        errors["scopes"] = "A partner's token reads at least (partner:read)."
    if rate_per_minute is not None and rate_per_minute < 0:
        errors["rate_per_minute"] = "Give 0 or more requests a minute."
    if errors:
        raise FieldsRefused(errors)

    token, key = issue_api_token(
        name,
        sorted(scopes),
        created_by=actor_person,
        rate_per_minute=rate_per_minute,
    )
    PartnerToken.objects.create(token=token, partner=partner)

    logger.info("partner token %s issued for partner %s", token.pk, partner.pk)
    return token, key


def revoke_partner_tokens(links) -> int:
    """Revoke the tokens of the given PartnerToken rows; return how many.

    The link stays: the admin keeps showing whose token it was.
    """
    tokens = ApiToken.objects.filter(partner_link__in=links)
    revoked = revoke_api_tokens(tokens)
    logger.info("%s partner tokens revoked", revoked)
    return revoked
