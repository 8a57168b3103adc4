"""The Sales → Implementation and Implementation → CS metrics (DESIGN.md §7).

Every figure is an aggregate in the database. Imported history
(`Deal.is_historical`) is left out wherever a record reaches its deal: it
opens no handoff or engagement, and were one made for it, its days would be
the source system's. Days are whole calendar days between two dates:
the deal's close day (`Deal.closed_on`, the day in the AE's zone that the
sales → implementation handoff opened) and the days milestones were logged
on (in the zone of whoever logged them).

Who counts as the team: the sales → implementation handoff's sending team
(the AE's team when the deal closed) answers for the packet and is rated on
it; its receiving team (the implementation team) answers for the kickoff,
the go-live and the onboarding, whoever delivers it, partner or in-house.
"""

from datetime import UTC, date, timedelta
from functools import reduce
from operator import add

from django.db import connection
from django.db.models import (
    Avg,
    Case,
    Count,
    DateField,
    Exists,
    F,
    FilteredRelation,
    FloatField,
    Max,
    OuterRef,
    Q,
    Value,
    When,
)
from django.db.models.functions import (
    Cast,
    Coalesce,
    Floor,
    Least,
    NullIf,
)
from django.urls import reverse

from bowtie import measurement
from bowtie.aggregates import DaysBetween, Median, Percentile
from bowtie.measurement import (
    Column,
    Definition,
    Metric,
    Reading,
    Records,
    Scope,
    Target,
    Unit,
    by_week,
    percent,
    weekly_points,
)
from bowtie.models import Stage, Subscription
from handoffs.models import Handoff, HandoffRating
from partners.models import Engagement, ImplementationMilestone

Kind = ImplementationMilestone.Kind
SALES_TO_IMPLEMENTATION = Handoff.Kind.SALES_TO_IMPLEMENTATION

SEGMENT_TEXT = "The head count of the deal's account (Account.employee_count)."
SENDING_TEAM_TEXT = (
    "The team that sent the sales → implementation handoff: the AE's team when "
    "the deal closed."
)
IMPLEMENTATION_TEAM_TEXT = (
    "The team that received the sales → implementation handoff: the "
    "implementation team, whether a partner or the in-house team delivers."
)


def implementation_handoffs(scope: Scope, team: str):
    """Live sales → implementation handoffs of the scope's teams and segment,
    the team read through the handoff's `team` path."""
    return Handoff.objects.filter(
        scope.team_filter(team),
        scope.segment_filter("deal__account__employee_count"),
        kind=SALES_TO_IMPLEMENTATION,
        deal__is_historical=False,
    )


def engagements(scope: Scope):
    """Live engagements of the scope's implementation teams and segment."""
    return Engagement.objects.filter(
        scope.team_filter("handoff__receiving_team"),
        scope.segment_filter("account__employee_count"),
        deal__is_historical=False,
        deal__closed_on__isnull=False,
    )


def with_milestone(rows, name: str, kind: str):
    """Join an engagement's milestone of `kind` as `name` (one row at most)."""
    return rows.annotate(
        **{name: FilteredRelation("milestones", condition=Q(milestones__kind=kind))}
    )


def engagement_url(engagement: Engagement) -> str:
    return reverse("engagement-detail", args=[engagement.pk])


def handoff_url(handoff: Handoff) -> str:
    return reverse("handoff-detail", args=[handoff.pk])


ENGAGEMENT_COLUMNS = (
    Column("Deal", lambda row: row.deal.name),
    Column("Account", lambda row: row.account),
    Column("Delivered by", lambda row: row.delivered_by),
    Column("Implementation team", lambda row: row.handoff.receiving_team),
    Column("Closed", lambda row: row.deal.closed_on),
)


def engagement_rows(rows):
    return rows.select_related("deal", "account", "partner", "handoff__receiving_team")


# Time to kickoff --------------------------------------------------------------


def kicked_off(scope: Scope):
    """Engagements whose kickoff was held in the period, with its days."""
    rows = with_milestone(engagements(scope), "kickoff", Kind.KICKOFF)
    return rows.filter(
        kickoff__actual_on__gte=scope.starts_on,
        kickoff__actual_on__lte=scope.ends_on,
    ).annotate(
        kickoff_on=F("kickoff__actual_on"),
        days=DaysBetween(F("kickoff__actual_on"), F("deal__closed_on")),
    )


def waiting_for_kickoff(scope: Scope):
    """Handoffs opened by the period's end with no kickoff held by then,
    engagement or not: a deal nobody assigned yet waits as well."""
    held = ImplementationMilestone.objects.filter(
        engagement__handoff=OuterRef("pk"),
        kind=Kind.KICKOFF,
        actual_on__lte=scope.ends_on,
    )
    return implementation_handoffs(scope, "receiving_team").filter(
        ~Exists(held), opened_at__lt=scope.until
    )


def measure_time_to_kickoff(scope: Scope, now) -> Reading:
    rows = kicked_off(scope)
    totals = rows.aggregate(
        count=Count("pk"), median=Median("days"), p90=Percentile("days", 0.9)
    )
    weeks = by_week(
        rows, "kickoff__actual_on", median=Median("days"), count=Count("pk")
    )
    return Reading(
        value=totals["median"],
        count=totals["count"],
        series=weekly_points(scope, weeks),
        details=(
            ("p90", totals["p90"]),
            ("still waiting", waiting_for_kickoff(scope).count()),
        ),
    )


def time_to_kickoff_records(scope: Scope, now) -> Records:
    return Records(
        rows=engagement_rows(kicked_off(scope)).order_by("-kickoff_on", "pk"),
        columns=(
            *ENGAGEMENT_COLUMNS,
            Column("Kickoff", lambda row: row.kickoff_on),
            Column("Days", lambda row: round(row.days)),
        ),
        url_of=engagement_url,
    )


TIME_TO_KICKOFF = Metric(
    key="time_to_kickoff",
    handoff=measurement.Handoff.SALES_TO_IMPLEMENTATION,
    label="Time to kickoff",
    unit=Unit.DAYS,
    target=Target(maximum=7),
    definition=Definition(
        records="Live won deals whose implementation kickoff was held in the "
        "period. Beside the median: the p90 (nearest rank), and how many "
        "sales → implementation handoffs opened by the period's last day had "
        "no kickoff held by then, with a partner assigned or not.",
        clock="Whole days from the deal's close day (the day its sales → "
        "implementation handoff opened, in the AE's zone) to the kickoff's "
        "actual day as logged; the median.",
        period="By the kickoff's actual day; the weeks of the chart too.",
        team=IMPLEMENTATION_TEAM_TEXT,
        segment=SEGMENT_TEXT,
    ),
    measure=measure_time_to_kickoff,
    records=time_to_kickoff_records,
    higher_is_better=False,
    position=10,
)


# Packet completeness ----------------------------------------------------------


def opened_handoffs(scope: Scope):
    return implementation_handoffs(scope, "sending_team").filter(
        opened_at__gte=scope.since, opened_at__lt=scope.until
    )


def measure_packet_completeness(scope: Scope, now) -> Reading:
    rows = opened_handoffs(scope)
    completeness = Avg("deal__packet_completeness")
    totals = rows.aggregate(
        mean=completeness,
        count=Count("pk"),
        incomplete=Count("pk", filter=Q(deal__packet_completeness__lt=100)),
    )
    weeks = by_week(rows, "opened_at", mean=completeness, count=Count("pk"))
    return Reading(
        value=totals["mean"],
        count=totals["count"],
        series=weekly_points(scope, weeks),
        details=(("incomplete", totals["incomplete"]),),
    )


def packet_completeness_records(scope: Scope, now) -> Records:
    rows = opened_handoffs(scope).select_related("deal", "sender", "sending_team")
    return Records(
        rows=rows.order_by("-opened_at", "pk"),
        columns=(
            Column("Deal", lambda row: row.deal.name),
            Column("AE", lambda row: row.sender),
            Column("Sales team", lambda row: row.sending_team),
            Column("Opened", lambda row: f"{row.opened_at:%Y-%m-%d %H:%M}"),
            Column("State", lambda row: row.get_state_display()),
            Column("Completeness %", lambda row: row.deal.packet_completeness),
        ),
        url_of=handoff_url,
    )


PACKET_COMPLETENESS = Metric(
    key="packet_completeness",
    handoff=measurement.Handoff.SALES_TO_IMPLEMENTATION,
    label="Packet completeness",
    unit=Unit.PERCENT,
    target=Target(minimum=90),
    definition=Definition(
        records="Sales → implementation handoffs of live deals opened in the "
        "period, each with its packet's completeness as stored on the deal: "
        "the share of the packet template's required items present, in whole "
        "percent. Closed Won refuses an incomplete packet, so a handoff counts "
        "below 100 % only while implementation has it sent back and the AE's "
        "redraft lacks a required item.",
        clock="None: the mean of those completeness figures.",
        period="By the moment the handoff opened (UTC days); the chart's weeks too.",
        team=SENDING_TEAM_TEXT,
        segment=SEGMENT_TEXT,
    ),
    measure=measure_packet_completeness,
    records=packet_completeness_records,
    position=20,
)


# Handoff quality --------------------------------------------------------------

DIMENSIONS = HandoffRating.DIMENSIONS
# The mean of a rating's five marks, as `HandoffRating.average` has it; cast
# first, so PostgreSQL does not divide whole numbers.
RATING_AVERAGE = Cast(
    reduce(add, (F(name) for name, _ in DIMENSIONS)), FloatField()
) / len(DIMENSIONS)


def ratings(scope: Scope):
    return HandoffRating.objects.filter(
        scope.team_filter("handoff__sending_team"),
        scope.segment_filter("handoff__deal__account__employee_count"),
        handoff__kind=SALES_TO_IMPLEMENTATION,
        handoff__deal__is_historical=False,
        rated_at__gte=scope.since,
        rated_at__lt=scope.until,
    ).annotate(mark=RATING_AVERAGE)


def measure_handoff_quality(scope: Scope, now) -> Reading:
    rows = ratings(scope)
    totals = rows.aggregate(
        mean=Avg("mark"),
        count=Count("pk"),
        **{name: Avg(name) for name, _ in DIMENSIONS},
    )
    weeks = by_week(rows, "rated_at", mean=Avg("mark"), count=Count("pk"))
    return Reading(
        value=totals["mean"],
        count=totals["count"],
        series=weekly_points(scope, weeks),
        details=tuple((label.lower(), totals[name]) for name, label in DIMENSIONS),
    )


def handoff_quality_records(scope: Scope, now) -> Records:
    rows = ratings(scope).select_related(
        "handoff__deal", "handoff__sender", "handoff__sending_team", "rated_by"
    )
    return Records(
        rows=rows.order_by("-rated_at", "pk"),
        columns=(
            Column("Deal", lambda row: row.handoff.deal.name),
            Column("AE", lambda row: row.handoff.sender),
            Column("Sales team", lambda row: row.handoff.sending_team),
            Column("Rated", lambda row: f"{row.rated_at:%Y-%m-%d %H:%M}"),
            Column("Rated by", lambda row: row.rated_by),
            Column("Average", lambda row: row.mark),
            *(
                Column(label, lambda row, name=name: getattr(row, name))
                for name, label in DIMENSIONS
            ),
            Column("Comment", lambda row: row.comment),
        ),
        url_of=lambda row: reverse("handoff-detail", args=[row.handoff_id]),
    )


HANDOFF_QUALITY = Metric(
    key="handoff_quality",
    handoff=measurement.Handoff.SALES_TO_IMPLEMENTATION,
    label="Handoff quality",
    unit=Unit.SCORE,
    target=Target(minimum=4),
    definition=Definition(
        records="The receiving team's ratings of sales → implementation "
        "handoffs of live deals: each handoff's latest rating, 1-5 on "
        "information completeness, promise alignment, sentiment continuity, "
        "context transfer and stakeholder mapping. Beside the mean: the mean "
        "of each of the five.",
        clock="None: the mean over the ratings of each rating's average mark.",
        period="By the moment the rating was given (UTC days); a rating given "
        "again moves to its new day. The chart's weeks too.",
        team=SENDING_TEAM_TEXT + " The rating judges what sales handed over.",
        segment=SEGMENT_TEXT,
    ),
    measure=measure_handoff_quality,
    records=handoff_quality_records,
    position=30,
)


# Time to first value ----------------------------------------------------------

FIRST_VALUE_DAYS = 30


def reached_first_value(scope: Scope):
    return (
        engagements(scope)
        .filter(first_value_on__gte=scope.starts_on, first_value_on__lte=scope.ends_on)
        .annotate(days=DaysBetween(F("first_value_on"), F("deal__closed_on")))
    )


def measure_time_to_first_value(scope: Scope, now) -> Reading:
    rows = reached_first_value(scope)
    totals = rows.aggregate(
        count=Count("pk"), median=Median("days"), p90=Percentile("days", 0.9)
    )
    weeks = by_week(rows, "first_value_on", median=Median("days"), count=Count("pk"))
    return Reading(
        value=totals["median"],
        count=totals["count"],
        series=weekly_points(scope, weeks),
        details=(("p90", totals["p90"]),),
    )


def time_to_first_value_records(scope: Scope, now) -> Records:
    return Records(
        rows=engagement_rows(reached_first_value(scope)).order_by(
            "-first_value_on", "pk"
        ),
        columns=(
            *ENGAGEMENT_COLUMNS,
            Column("First value", lambda row: row.first_value_on),
            Column("Days", lambda row: round(row.days)),
        ),
        url_of=engagement_url,
    )


TIME_TO_FIRST_VALUE = Metric(
    key="time_to_first_value",
    handoff=measurement.Handoff.IMPLEMENTATION_TO_CS,
    label="Time to first value",
    unit=Unit.DAYS,
    target=Target(maximum=FIRST_VALUE_DAYS),
    definition=Definition(
        records="Engagements of live won deals whose customer reached first "
        "value in the period: the first day with product use on or after the "
        "kickoff (Engagement.first_value_on, from the usage imports). Beside "
        "the median: the p90 (nearest rank). The target of at most "
        f"{FIRST_VALUE_DAYS} days is Bowtie's default, not one from the design: "
        "set your own.",
        clock="Whole days from the deal's close day, when the customer signed, "
        "to the day of first value; the median. It counts the customer's whole "
        "wait, so a slow kickoff shows here too.",
        period="By the day of first value; the weeks of the chart too.",
        team=IMPLEMENTATION_TEAM_TEXT,
        segment=SEGMENT_TEXT,
    ),
    measure=measure_time_to_first_value,
    records=time_to_first_value_records,
    higher_is_better=False,
    position=10,
)


# Go-live rate -----------------------------------------------------------------

ON_TIME = Q(go_live__actual_on__lte=F("go_live__planned_on"))
LATE = Q(go_live__actual_on__gt=F("go_live__planned_on"))


def go_lives_due(scope: Scope, now):
    """Engagements whose planned go-live day is in the period and over.

    A day still to come, or today, cannot be judged yet, so the last day that
    counts is yesterday (UTC) when the period runs to today or beyond.
    """
    yesterday = now.astimezone(UTC).date() - timedelta(days=1)
    rows = with_milestone(engagements(scope), "go_live", Kind.GO_LIVE)
    return rows.filter(
        go_live__planned_on__gte=scope.starts_on,
        go_live__planned_on__lte=min(scope.ends_on, yesterday),
    ).annotate(planned_on=F("go_live__planned_on"), live_on=F("go_live__actual_on"))


def measure_go_live_rate(scope: Scope, now) -> Reading:
    rows = go_lives_due(scope, now)
    on_time = Count("pk", filter=ON_TIME)
    totals = rows.aggregate(
        on_time=on_time,
        late=Count("pk", filter=LATE),
        count=Count("pk"),
    )
    weeks = by_week(rows, "go_live__planned_on", on_time=on_time, count=Count("pk"))
    return Reading(
        value=percent(totals["on_time"], totals["count"]),
        count=totals["count"],
        series=weekly_points(
            scope,
            ((week, percent(live, due), due) for week, live, due in weeks),
        ),
        details=(
            ("live on time", totals["on_time"]),
            ("live late", totals["late"]),
            ("not live", totals["count"] - totals["on_time"] - totals["late"]),
        ),
    )


def go_live_outcome(row) -> str:
    if row.live_on is None:
        return "not live"
    return "on time" if row.live_on <= row.planned_on else "late"


def go_live_records(scope: Scope, now) -> Records:
    return Records(
        rows=engagement_rows(go_lives_due(scope, now)).order_by("-planned_on", "pk"),
        columns=(
            *ENGAGEMENT_COLUMNS,
            Column("Go-live planned", lambda row: row.planned_on),
            Column("Went live", lambda row: row.live_on),
            Column("Outcome", go_live_outcome),
        ),
        url_of=engagement_url,
    )


GO_LIVE_RATE = Metric(
    key="go_live_rate",
    handoff=measurement.Handoff.IMPLEMENTATION_TO_CS,
    label="Go-live rate",
    unit=Unit.PERCENT,
    target=Target(minimum=85),
    definition=Definition(
        records="Engagements of live won deals whose planned go-live day fell "
        "in the period and is over (up to yesterday, UTC, for a period that "
        "runs to today). An engagement counts once its day is over, and its "
        "verdict changes after only when a go-live is logged late with an "
        "earlier day: a rolling window compares like with like.",
        clock="None: the share live on or before the planned day, by the "
        "go-live's actual day as logged. Late and not-yet-live ones are "
        "counted beside it.",
        period="By the planned go-live day as it stands; the weeks of the chart too.",
        team=IMPLEMENTATION_TEAM_TEXT,
        segment=SEGMENT_TEXT,
    ),
    measure=measure_go_live_rate,
    records=go_live_records,
    position=20,
)
# TODO(measurement): a go-live re-planned before its day counts by its latest
# plan, so a slip announced in time is not a miss. The milestone's history has
# the first plan; read it from there once RevOps wants announced slips counted.


# Onboarding churn -------------------------------------------------------------


# Later than any real day: stands for "not yet" where the earliest day is
# wanted, as NULL would not (LEAST is NULL on SQLite if any argument is).
NEVER = date(9999, 12, 31)


# The account's paid subscriptions that ran on the deal's close day or later:
# one that ended before the close is an earlier life of the account, not a
# loss of this customer.
RUNNING_SUBSCRIPTIONS = FilteredRelation(
    "account__subscriptions",
    condition=Q(account__subscriptions__is_trial=False)
    & (
        Q(account__subscriptions__ended_on__isnull=True)
        | Q(account__subscriptions__ended_on__gte=F("deal__closed_on"))
    ),
)
# The day those ran out: the latest end once none is open; None while one
# runs, or when there are none.
SUBSCRIPTION_LOST_ON = Case(
    When(
        Q(open_subscription_count=0),
        then=Max("subscription__ended_on"),
    ),
    output_field=DateField(),
)


# The day the won deal's renewal was closed lost, if it was.
RENEWAL_LOST_ON = Case(
    When(
        deal__renewal__stage__outcome=Stage.Outcome.LOST,
        then=F("deal__renewal__closed_on"),
    ),
    output_field=DateField(),
)


def earliest(*days):
    """The earliest of the days that are known; None if none is."""
    return NullIf(Least(*(Coalesce(day, Value(NEVER)) for day in days)), Value(NEVER))


# Lost before the hypercare end; a loss on its last day or after is customer
# success's, who had the account by then.
LOST = Q(hypercare_ended_on__isnull=True) | Q(ended_on__lt=F("hypercare_ended_on"))


def ended_onboardings(scope: Scope):
    """Engagements whose onboarding ended in the period, with the day it did
    (`ended_on`); grouped, one row per engagement, over its subscriptions.

    Onboarding runs from the deal's close to the hypercare end, and ends
    earlier on the day the customer is lost: it ends on the earliest of the
    three days known. One of them must fall in the period, so rows are
    narrowed by those first (a subscription's end through a semi-join)
    before the subscriptions are joined.
    """
    period = (scope.starts_on, scope.ends_on)
    paid_ends = Subscription.objects.filter(is_trial=False, ended_on__range=period)
    rows = with_milestone(engagements(scope), "hypercare_end", Kind.HYPERCARE_END)
    rows = rows.annotate(
        hypercare_ended_on=F("hypercare_end__actual_on"),
        renewal_lost_on=RENEWAL_LOST_ON,
    ).filter(
        Q(hypercare_ended_on__range=period)
        | Q(renewal_lost_on__range=period)
        | Q(account__in=paid_ends.values("account")),
        Q(hypercare_ended_on__isnull=True) | Q(hypercare_ended_on__gte=scope.starts_on),
        deal__closed_on__lte=scope.ends_on,
    )
    rows = rows.annotate(subscription=RUNNING_SUBSCRIPTIONS).annotate(
        open_subscription_count=Count(
            "subscription", filter=Q(subscription__ended_on__isnull=True)
        ),
    )
    rows = rows.annotate(subscription_lost_on=SUBSCRIPTION_LOST_ON)
    return rows.annotate(
        ended_on=earliest(
            "hypercare_ended_on", "subscription_lost_on", "renewal_lost_on"
        )
    ).filter(ended_on__range=period)


def count_by_week(rows, day: str, scope: Scope, condition: Q):
    """`(monday, matching, all)` counts of grouped rows, for each week of the
    period that has any, by their `day` (an aggregate of each row's group).

    Django cannot group rows that are grouped already, so the rows go into
    an inner query compiled by the ORM and an outer one counts them by week.
    Each row's `day` is then worked out once, however many counts need it.
    """
    first_monday = scope.weeks()[0]
    keyed = (
        rows.annotate(
            week_index=Floor(DaysBetween(F(day), Value(first_monday)) / 7),
            is_matching=Case(When(condition, then=1), default=0),
        )
        .values("week_index", "is_matching")
        .order_by()
    )
    inner, params = keyed.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT week_index, SUM(is_matching), COUNT(*) "
            f"FROM ({inner}) AS grouped_rows GROUP BY week_index ORDER BY week_index",
            params,
        )
        counts = cursor.fetchall()
    return [
        (first_monday + timedelta(weeks=int(index)), matching, count)
        for index, matching, count in counts
    ]


def measure_onboarding_churn(scope: Scope, now) -> Reading:
    weeks = count_by_week(ended_onboardings(scope), "ended_on", scope, LOST)
    lost_count = sum(lost for _, lost, _ in weeks)
    ended_count = sum(ended for _, _, ended in weeks)
    return Reading(
        value=percent(lost_count, ended_count),
        count=ended_count,
        series=weekly_points(
            scope,
            ((week, percent(lost, ended), ended) for week, lost, ended in weeks),
        ),
        details=(("lost", lost_count),),
    )


def customer_lost_on(row):
    days = [row.subscription_lost_on, row.renewal_lost_on]
    return min((day for day in days if day is not None), default=None)


def onboarding_records(scope: Scope, now) -> Records:
    rows = ended_onboardings(scope).annotate(
        is_lost=Case(When(LOST, then=True), default=False)
    )
    return Records(
        rows=engagement_rows(rows).order_by("-ended_on", "pk"),
        columns=(
            *ENGAGEMENT_COLUMNS,
            Column("Hypercare ended", lambda row: row.hypercare_ended_on),
            Column("Customer lost", customer_lost_on),
            Column("Outcome", lambda row: "lost" if row.is_lost else "completed"),
        ),
        url_of=engagement_url,
    )


ONBOARDING_CHURN = Metric(
    key="onboarding_churn",
    handoff=measurement.Handoff.IMPLEMENTATION_TO_CS,
    label="Onboarding churn",
    unit=Unit.PERCENT,
    target=Target(maximum=3),
    definition=Definition(
        records="Engagements of live won deals whose onboarding ended in the "
        "period: completed on the hypercare end's actual day, or lost before "
        "that day (a loss on it or later is customer success's). A customer is "
        "lost on the earlier of two days: the end of the account's last paid "
        "(non-trial) subscription, once none runs and it ended on or after the "
        "deal's close day; or the day the won deal's renewal was closed lost. "
        "Accounts without subscription data are lost only by their renewal.",
        clock="None: the share of those onboardings that ended in a loss.",
        period="By the day the onboarding ended: the hypercare end, or the day "
        "of the loss. The weeks of the chart too.",
        team=IMPLEMENTATION_TEAM_TEXT,
        segment=SEGMENT_TEXT,
    ),
    measure=measure_onboarding_churn,
    records=onboarding_records,
    higher_is_better=False,
    position=30,
)


def register() -> None:
    measurement.register(
        TIME_TO_KICKOFF,
        PACKET_COMPLETENESS,
        HANDOFF_QUALITY,
        TIME_TO_FIRST_VALUE,
        GO_LIVE_RATE,
        ONBOARDING_CHURN,
    )
