"""Ownership by deal value: bands that cover every amount exactly once.

The checks are pure functions over (lower, upper) pairs, so they need no
database in their tests; `replace_ownership_policy` is the one way to change
the bands, and `band_for` reads the bands in force on a day.
"""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from bowtie.models import OwnershipBand, OwnershipPolicy, Person

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
    ordered = sorted(bands, key=lambda band: band.lower_eur)
    for band in ordered:
        if band.lower_eur < 0:
            problems.append(f"A band starts at EUR {band.lower_eur:,}: below 0.")
        if band.upper_eur is not None and band.upper_eur <= band.lower_eur:
            problems.append(
                f"The band from EUR {band.lower_eur:,} ends at EUR "
                f"{band.upper_eur:,}: an upper amount is above the lower one."
            )
        if band.owner_role not in Person.Role.values:
            problems.append(f"Unknown owner role {band.owner_role!r}.")
    if ordered[0].lower_eur > 0:
        problems.append(f"Amounts below EUR {ordered[0].lower_eur:,} have no band.")
    for earlier, later in zip(ordered, ordered[1:], strict=False):
        if earlier.upper_eur is None:
            problems.append(
                f"The band from EUR {earlier.lower_eur:,} has no upper limit but "
                f"another starts at EUR {later.lower_eur:,}: they overlap."
            )
        elif later.lower_eur > earlier.upper_eur:
            problems.append(
                f"Amounts from EUR {earlier.upper_eur:,} to EUR "
                f"{later.lower_eur:,} have no band."
            )
        elif later.lower_eur < earlier.upper_eur:
            problems.append(
                f"The bands from EUR {earlier.lower_eur:,} and EUR "
                f"{later.lower_eur:,} overlap up to EUR {earlier.upper_eur:,}."
            )
    if ordered[-1].upper_eur is not None:
        problems.append(f"Amounts from EUR {ordered[-1].upper_eur:,} have no band.")
    return problems


@transaction.atomic
def replace_ownership_policy(
    bands: list[BandSpec], effective_on: date, actor: Person | None, note="", now=None
) -> OwnershipPolicy:
    """Put a new, complete set of bands in force from `effective_on`.

    Refused with every problem named when the bands do not tile all amounts.
    A policy already in force stays as it was, so old decisions can be read.
    """
    now = now or timezone.now()
    problems = find_band_problems(bands)
    if (
        effective_on < now.date()
        and OwnershipPolicy.objects.filter(effective_on__gte=effective_on).exists()
    ):
        problems.append("A new policy cannot start before one already in force.")
    if problems:
        raise BandsRefused(problems)

    policy = OwnershipPolicy.objects.create(
        effective_on=effective_on, note=note, created_by=actor, created_at=now
    )
    OwnershipBand.objects.bulk_create(
        OwnershipBand(
            policy=policy,
            lower_eur=band.lower_eur,
            upper_eur=band.upper_eur,
            owner_role=band.owner_role,
            cs_role=band.cs_role,
            cs_part=band.cs_part,
        )
        for band in bands
    )
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
