"""Ownership by deal value: bands that cover every amount exactly once.

The checks are pure functions over (lower, upper) pairs, so they need no
database in their tests; `replace_ownership_policy` is the one way to change
the bands, and `band_for` reads the bands in force on a day.

Amounts are annual values in the base currency (`BOWTIE_BASE_CURRENCY`,
EUR by default, which the `_eur` field names assume). A deal's owner band is
decided by its value at the rate it stored when it was created, under the
policy in force on the day it was created (`owner_band_for_deal`), so neither
a later rate nor a later policy moves it.
"""

import logging
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.utils import timezone
from simple_history.utils import bulk_create_with_history

from bowtie.exchange import annual_value_in_base, today
from bowtie.models import Account, Deal, OwnershipBand, OwnershipPolicy, Person, Stage

logger = logging.getLogger(__name__)

BOUNDARY_RULE = (
    "A band includes its lower amount and excludes its upper one: an amount "
    "exactly on a boundary belongs to the band that starts there."
)


@dataclass(frozen=True)
class BandSpec:
    lower_eur: Decimal
    upper_eur: Decimal | None
    owner_role: str
    cs_role: str
    cs_part: str


class BandsRefused(ValueError):
    """The bands leave a gap, overlap, or are malformed; each problem named."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__(" ".join(problems))


def find_band_problems(bands: list[BandSpec]) -> list[str]:
    """Name every gap, overlap and malformed band; empty when they tile 0..∞."""
    problems = []
    if not bands:
        return ["Give at least one band."]
    code = settings.BOWTIE_BASE_CURRENCY
    ordered = sorted(bands, key=lambda band: band.lower_eur)
    for band in ordered:
        if band.lower_eur < 0:
            problems.append(f"A band starts at {code} {band.lower_eur:,}: below 0.")
        if band.upper_eur is not None and band.upper_eur <= band.lower_eur:
            problems.append(
                f"The band from {code} {band.lower_eur:,} ends at {code} "
                f"{band.upper_eur:,}: the upper amount must be above the lower one."
            )
        if band.owner_role not in Person.Role.values:
            problems.append(f"Unknown owner role {band.owner_role!r}.")
        if band.cs_role and band.cs_role not in Person.Role.values:
            problems.append(f"Unknown CS role {band.cs_role!r}.")
        if band.cs_part not in OwnershipBand.CsPart.values:
            problems.append(f"Unknown CS part {band.cs_part!r}.")
    if ordered[0].lower_eur > 0:
        problems.append(f"Amounts below {code} {ordered[0].lower_eur:,} have no band.")
    for earlier, later in zip(ordered, ordered[1:], strict=False):
        if earlier.upper_eur is None:
            problems.append(
                f"The band from {code} {earlier.lower_eur:,} has no upper limit "
                f"but another starts at {code} {later.lower_eur:,}: they overlap."
            )
        elif later.lower_eur > earlier.upper_eur:
            problems.append(
                f"Amounts from {code} {earlier.upper_eur:,} to {code} "
                f"{later.lower_eur:,} have no band."
            )
        elif later.lower_eur < earlier.upper_eur:
            problems.append(
                f"The bands from {code} {earlier.lower_eur:,} and {code} "
                f"{later.lower_eur:,} overlap up to {code} {earlier.upper_eur:,}."
            )
    if ordered[-1].upper_eur is not None:
        problems.append(f"Amounts from {code} {ordered[-1].upper_eur:,} have no band.")
    return problems


def find_start_problems(effective_on: date | None, on: date) -> list[str]:
    """A new policy starts tomorrow at the earliest.

    Deals created today were decided by today's bands: a policy from today
    would move them, and one from an earlier day would rewrite old decisions.
    """
    if effective_on is None:
        return ["Give the day the bands take effect."]
    if effective_on <= on:
        return [
            f"Bands take effect from tomorrow ({on + timedelta(days=1)}) at the "
            f"earliest: deals created up to today ({on}) keep the bands they "
            "were decided by."
        ]
    return []


@transaction.atomic
def replace_ownership_policy(
    bands: list[BandSpec], effective_on: date, actor: Person | None, note="", now=None
) -> OwnershipPolicy:
    """Put a new, complete set of bands in force from `effective_on`.

    Refused with every problem named (`BandsRefused`) when the bands do not
    tile all amounts or the day is not after today; nothing is written then.
    A policy in force stays as it was, so old decisions can be read. An
    upcoming policy from the same day is replaced: no deal was decided by it
    yet, and its history keeps who made it and when.
    """
    now = now or timezone.now()
    problems = find_band_problems(bands) + find_start_problems(effective_on, now.date())
    if problems:
        raise BandsRefused(problems)

    user = actor.user if actor is not None and actor.user_id else None
    replaced = OwnershipPolicy.objects.select_for_update().filter(
        effective_on=effective_on
    )
    for old in replaced:
        old._history_user = user
        old.delete()
    policy = OwnershipPolicy(
        effective_on=effective_on, note=note, created_by=actor, created_at=now
    )
    policy._history_user = user
    try:
        # A savepoint: a policy saved for the same day at the same moment is
        # refused by name instead of breaking the transaction.
        with transaction.atomic():
            policy.save()
    except IntegrityError:
        raise BandsRefused(
            [f"Another policy from {effective_on} was just saved; reload the page."]
        ) from None
    rows = [
        OwnershipBand(
            policy=policy,
            lower_eur=band.lower_eur,
            upper_eur=band.upper_eur,
            owner_role=band.owner_role,
            cs_role=band.cs_role,
            cs_part=band.cs_part,
        )
        for band in sorted(bands, key=lambda band: band.lower_eur)
    ]
    # With history rows, as single saves would write, attributed to the actor.
    bulk_create_with_history(rows, OwnershipBand, default_user=user)
    logger.info("ownership policy %s saved, in force from %s", policy.pk, effective_on)
    return policy


def policy_on(day: date) -> OwnershipPolicy | None:
    return (
        OwnershipPolicy.objects.filter(effective_on__lte=day)
        .order_by("-effective_on")
        .first()
    )


def band_for(amount_eur: Decimal, day: date) -> OwnershipBand | None:
    """The band that owns an annual amount in EUR under the policy of `day`."""
    policy = policy_on(day)
    if policy is None:
        return None
    return next((band for band in policy.bands.all() if band.holds(amount_eur)), None)


def creation_day(deal: Deal) -> date:
    # UTC, as `created_at` and the rate's day are; today for an unsaved deal.
    return deal.created_at.date() if deal.created_at else today()


def owner_band_for_deal(deal: Deal) -> OwnershipBand | None:
    """The band that owns a deal, decided as of the day it was created.

    Its annual value in the base currency at the rate it stored then, under
    the policy in force that day: a policy from a later day is for deals
    created from then on, and a later rate is not read, so neither moves an
    owner already decided. None without an amount, without a stored rate
    (not guessed) or without a policy.
    """
    value = annual_value_in_base(deal)
    if value is None:
        return None
    return band_for(value, creation_day(deal))


def find_owner_for(deal_or_account: Deal | Account, band: OwnershipBand | None):
    """Pick the person of `band.owner_role` to own a deal or an account's deal.

    In order, passing over inactive people: the account's owner, when theirs
    is the band's role; for a deal, its own owner, when theirs is; then the
    person of that role in the account owner's team with the fewest open
    deals; then the same across the company. Ties go to whoever was added
    first (lowest id). Ownership lasts the deal's life, so a day away does not pass
    anyone over. None when nobody has the role: the caller says so.
    """
    if band is None:
        return None
    role = band.owner_role
    is_deal = isinstance(deal_or_account, Deal)
    account = deal_or_account.account if is_deal else deal_or_account

    known = [account.owner if account is not None else None]
    if is_deal:
        known.append(deal_or_account.owner)
    for person in known:
        if person is not None and person.is_active and person.role == role:
            return person

    candidates = Person.objects.filter(role=role, is_active=True).annotate(
        open_deal_count=Count(
            "owned_deals", filter=Q(owned_deals__stage__outcome=Stage.Outcome.OPEN)
        )
    )
    team_id = account.owner.team_id if account and account.owner else None
    if team_id is not None:
        in_team = candidates.filter(team_id=team_id)
        person = in_team.order_by("open_deal_count", "pk").first()
        if person is not None:
            return person
    return candidates.order_by("open_deal_count", "pk").first()
