"""Customer health from kickoff: five components, their weights, the history.

An account is scored for one day, `on`, over the window of the 30 days that
end on it (`on` - 29 days to `on`, both included). Each component is a value
from 0 to 100, or None when it cannot be measured:

milestone_completion
    Of the milestones of the account's engagement planned on or before `on`,
    the percent done on time: `actual_on` set and no later than `planned_on`.
    None without an engagement, or while no milestone is planned by `on`.
stakeholder_engagement
    The percent of the account's contacts (its stakeholders) who attended any
    session, meeting or training, of its engagement held in the window. None
    without an engagement or without contacts.
customer_responsiveness
    The median `resolution_hours` of the account's support tickets submitted
    in the window and resolved, mapped linearly: 24 h or less is 100, 120 h
    or more is 0. None without such tickets.
admin_logins
    The distinct days of the window with any product usage (a row with
    `usage_count` > 0), over 20 expected working days, capped at 100. None
    when the account has no usage rows at all, ever: its product data is not
    connected. With usage history but none in the window it is 0.
training_attendance
    Attended over invited, summed over the training sessions of the
    engagement held in the window, capped at 100. None without training
    sessions in the window or with no one invited to them.

The score is the mean of the measured components weighted by `HealthWeight`
(RevOps edits the weights in the admin): the weights of the components left
out are not counted, so the others are renormalised. It is rounded to one
decimal, half up. With nothing measured, or measured components weighing 0,
the score is None. Each day's score is one `HealthScore` row, written again
when the day is scored again, with every component's value, weight and basis.

From kickoff: an account with an engagement is scored from the day its
kickoff was done (`actual_on`), by the latest engagement kicked off by then;
there is no row before. An account with no engagement (usage imported from a
product, say) is scored on any day asked.

Time to first value: the first day on or after the kickoff with product
usage, stored on the engagement by `record_first_value`.
"""

import logging
import statistics
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.db import transaction
from django.db.models import Count, Exists, OuterRef
from django.utils import timezone

from bowtie.models import Account, Contact, ProductUsage, SupportTicket
from partners.models import (
    CustomerSession,
    Engagement,
    HealthComponent,
    HealthScore,
    HealthWeight,
    ImplementationMilestone,
)

logger = logging.getLogger(__name__)

WINDOW_DAYS = 30
EXPECTED_LOGIN_DAYS = 20
# Resolution hours at which responsiveness is full, and at which it is nil.
RESOLVED_QUICKLY_HOURS = Decimal(24)
RESOLVED_SLOWLY_HOURS = Decimal(120)
HUNDRED = Decimal(100)
TENTH = Decimal("0.1")

Kind = ImplementationMilestone.Kind


@dataclass(frozen=True)
class Measure:
    """One component's value (0-100, None: not measured) and why."""

    value: Decimal | None
    basis: str


# Pure rules: the mappings and the weighting, no database.


def percent(part: int, whole: int) -> Decimal | None:
    """`part` of `whole` as a percent, at most 100; None when whole is 0."""
    if whole == 0:
        return None
    return min(HUNDRED, Decimal(part) * HUNDRED / Decimal(whole))


def responsiveness_from_hours(median_hours: Decimal) -> Decimal:
    """Map a median resolution time: 24 h or less 100, 120 h or more 0."""
    hours = Decimal(median_hours)
    if hours <= RESOLVED_QUICKLY_HOURS:
        return HUNDRED
    if hours >= RESOLVED_SLOWLY_HOURS:
        return Decimal(0)
    span = RESOLVED_SLOWLY_HOURS - RESOLVED_QUICKLY_HOURS
    return (RESOLVED_SLOWLY_HOURS - hours) * HUNDRED / span


def logins_from_days(day_count: int) -> Decimal:
    """Days with use over the working days expected in the window, capped."""
    return percent(day_count, EXPECTED_LOGIN_DAYS)


def weighted_score(
    values: dict[str, Decimal | None], weights: dict[str, int]
) -> Decimal | None:
    """The weighted mean of the measured values, rounded to 0.1 half up.

    Components whose value is None are left out with their weight; None when
    nothing is left to weigh.
    """
    measured = {name: value for name, value in values.items() if value is not None}
    total_weight = sum(weights.get(name, 0) for name in measured)
    if total_weight == 0:
        return None

    total = sum(value * weights.get(name, 0) for name, value in measured.items())
    return round_tenth(total / total_weight)


def round_tenth(value: Decimal) -> Decimal:
    return Decimal(value).quantize(TENTH, rounding=ROUND_HALF_UP)


def window_of(on: date) -> tuple[date, date]:
    """The first and last day of the window ending on `on`, both included."""
    return on - timedelta(days=WINDOW_DAYS - 1), on


# Measures: each reads one component from the database.


def measure_milestones(engagement: Engagement | None, on: date) -> Measure:
    if engagement is None:
        return Measure(None, "no engagement")
    milestones = list(
        engagement.milestones.filter(planned_on__lte=on).values_list(
            "planned_on", "actual_on"
        )
    )
    if not milestones:
        return Measure(None, "no milestone planned yet")

    on_time = sum(
        1
        for planned_on, actual_on in milestones
        if actual_on and actual_on <= planned_on
    )
    return Measure(
        percent(on_time, len(milestones)),
        f"{on_time} of {len(milestones)} milestones due done on time",
    )


def measure_stakeholders(
    account: Account, engagement: Engagement | None, window: tuple[date, date]
) -> Measure:
    if engagement is None:
        return Measure(None, "no engagement")
    contacts = set(Contact.objects.filter(account=account).values_list("pk", flat=True))
    if not contacts:
        return Measure(None, "no contacts")

    attended = set(
        CustomerSession.objects.filter(
            engagement=engagement, held_on__range=window
        ).values_list("attended", flat=True)
    )
    count = len(contacts & attended)
    return Measure(
        percent(count, len(contacts)),
        f"{count} of {len(contacts)} stakeholders at a session",
    )


def measure_responsiveness(account: Account, window: tuple[date, date]) -> Measure:
    # Resolving a ticket takes the customer's answers (logs, access, a test),
    # so how fast tickets close says how responsive the customer is.
    hours = list(
        SupportTicket.objects.filter(
            account=account,
            submitted_on__range=window,
            resolution_hours__isnull=False,
        ).values_list("resolution_hours", flat=True)
    )
    if not hours:
        return Measure(None, "no resolved tickets")

    median = statistics.median(hours)
    return Measure(
        responsiveness_from_hours(median),
        f"median {round_tenth(median)} h to resolve {len(hours)} "
        f"ticket{'s' if len(hours) != 1 else ''}",
    )


def measure_logins(account: Account, window: tuple[date, date]) -> Measure:
    usage = ProductUsage.objects.filter(account=account)
    if not usage.exists():
        return Measure(None, "no usage data")

    # The sources log features, not sign-ins: a day with any use is a day
    # someone signed in.
    day_count = (
        usage.filter(used_on__range=window, usage_count__gt=0)
        .values("used_on")
        .distinct()
        .count()
    )
    return Measure(
        logins_from_days(day_count),
        f"{day_count} of {EXPECTED_LOGIN_DAYS} days with use",
    )


def measure_training(
    engagement: Engagement | None, window: tuple[date, date]
) -> Measure:
    if engagement is None:
        return Measure(None, "no engagement")
    sessions = list(
        CustomerSession.objects.filter(
            engagement=engagement,
            kind=CustomerSession.Kind.TRAINING,
            held_on__range=window,
        )
        .annotate(
            invited_count=Count("invited", distinct=True),
            attended_count=Count("attended", distinct=True),
        )
        .values_list("invited_count", "attended_count")
    )
    if not sessions:
        return Measure(None, "no training")
    invited = sum(invited for invited, _ in sessions)
    attended = sum(attended for _, attended in sessions)
    if invited == 0:
        return Measure(None, "no one invited to training")

    return Measure(
        percent(attended, invited),
        f"{attended} of {invited} invitations to training attended",
    )


def measure_components(
    account: Account, engagement: Engagement | None, on: date
) -> dict[str, Measure]:
    window = window_of(on)
    return {
        HealthComponent.MILESTONE_COMPLETION: measure_milestones(engagement, on),
        HealthComponent.STAKEHOLDER_ENGAGEMENT: measure_stakeholders(
            account, engagement, window
        ),
        HealthComponent.CUSTOMER_RESPONSIVENESS: measure_responsiveness(
            account, window
        ),
        HealthComponent.ADMIN_LOGINS: measure_logins(account, window),
        HealthComponent.TRAINING_ATTENDANCE: measure_training(engagement, window),
    }


# Services.


def current_weights() -> dict[str, int]:
    """The weight of each component; one RevOps removed counts 0."""
    weights = dict.fromkeys(HealthComponent.values, 0)
    weights.update(HealthWeight.objects.values_list("component", "weight"))
    return weights


def engagement_on(account: Account, on: date) -> Engagement | None:
    """The account's engagement kicked off last on or before `on`."""
    kickoff = (
        ImplementationMilestone.objects.filter(
            engagement__account=account, kind=Kind.KICKOFF, actual_on__lte=on
        )
        .select_related("engagement")
        .order_by("-actual_on", "-engagement_id")
        .first()
    )
    return kickoff.engagement if kickoff else None


@transaction.atomic
def score_account_health(
    account: Account,
    on: date,
    now: datetime | None = None,
    weights: dict[str, int] | None = None,
) -> HealthScore | None:
    """Score the account's health on `on` and store it as that day's row.

    Scoring a day again updates its row. Returns None, and keeps no row, for
    a day before the kickoff of an account that has an engagement.
    """
    now = now or timezone.now()
    engagement = engagement_on(account, on)
    if engagement is None and account.engagements.exists():
        # Health starts at kickoff. A row left from a kickoff date since
        # corrected to a later day would tell a story that did not happen.
        HealthScore.objects.filter(account=account, scored_on=on).delete()
        return None

    weights = current_weights() if weights is None else weights
    measures = measure_components(account, engagement, on)
    score = weighted_score(
        {name: measure.value for name, measure in measures.items()}, weights
    )
    components = {
        name: {
            "value": None
            if measure.value is None
            else float(round_tenth(measure.value)),
            "weight": weights.get(name, 0),
            "basis": measure.basis,
        }
        for name, measure in measures.items()
    }

    health, _ = HealthScore.objects.update_or_create(
        account=account,
        scored_on=on,
        defaults={
            "engagement": engagement,
            "score": score,
            "components": components,
            "computed_at": now,
        },
    )
    if engagement is not None and engagement.first_value_on is None:
        record_first_value(engagement)
    return health


def score_all_health(on: date, now: datetime | None = None) -> dict:
    """Score every account with something to score on `on`; safe to repeat.

    That is every account kicked off by `on`, and every account with usage
    or tickets. Returns counts for the beat job's heartbeat.
    """
    now = now or timezone.now()
    weights = current_weights()
    kicked_off = ImplementationMilestone.objects.filter(
        engagement__account=OuterRef("pk"), kind=Kind.KICKOFF, actual_on__lte=on
    )
    has_usage = ProductUsage.objects.filter(account=OuterRef("pk"))
    has_tickets = SupportTicket.objects.filter(account=OuterRef("pk"))
    accounts = Account.objects.filter(
        Exists(kicked_off) | Exists(has_usage) | Exists(has_tickets)
    ).order_by("pk")

    counts = {"on": on.isoformat(), "scored": 0, "unmeasured": 0, "before_kickoff": 0}
    for account in accounts.iterator(chunk_size=500):
        health = score_account_health(account, on, now, weights)
        if health is None:
            counts["before_kickoff"] += 1
        elif health.score is None:
            counts["unmeasured"] += 1
        else:
            counts["scored"] += 1

    logger.info("health scored for %s accounts on %s", counts["scored"], on)
    return counts


def kickoff_on(engagement: Engagement) -> date | None:
    return (
        engagement.milestones.filter(kind=Kind.KICKOFF)
        .values_list("actual_on", flat=True)
        .first()
    )


@transaction.atomic
def record_first_value(engagement: Engagement) -> date | None:
    """Store the first day on or after the kickoff with product usage.

    Returns the day, or None before the kickoff or before any use. Worked out
    again on each call, so usage imported late still moves it.
    """
    # Locked like every engagement write, so a service saving the whole row
    # meanwhile cannot put back the value it read before this one.
    engagement = Engagement.objects.select_for_update().get(pk=engagement.pk)
    started_on = kickoff_on(engagement)
    if started_on is None or engagement.account_id is None:
        return None

    first_value_on = (
        ProductUsage.objects.filter(
            account_id=engagement.account_id,
            used_on__gte=started_on,
            usage_count__gt=0,
        )
        .order_by("used_on")
        .values_list("used_on", flat=True)
        .first()
    )
    if first_value_on != engagement.first_value_on:
        engagement.first_value_on = first_value_on
        engagement.save(update_fields=["first_value_on", "updated_at"])
        logger.info(
            "engagement %s first value on %s",
            engagement.pk,
            first_value_on,
            extra={"engagement_id": engagement.pk},
        )
    return first_value_on


def days_to_first_value(engagement: Engagement) -> int | None:
    """Days from the kickoff to the first value; None until both are known."""
    started_on = kickoff_on(engagement)
    if started_on is None or engagement.first_value_on is None:
        return None
    return (engagement.first_value_on - started_on).days
