"""The Sales → Implementation and Implementation → CS metrics, figure by figure.

Seven won deals, made through the services on set days of 2027 (each event
at 09:00 UTC, 10:00 in Berlin where the vendor's people work). The period
read is 1-28 March, four weeks from Monday 1 March; NOW is 5 April.

| deal     | AE team    | heads | closed | kickoff | go-live plan / done | first value |
|----------|------------|-------|--------|---------|---------------------|-------------|
| Vandelay | Mid-market | 300   | 18 Jan | 1 Feb   | 26 Feb / 26 Feb     | 5 Feb       |
| Stark    | Enterprise | 1200  | 1 Feb  | 8 Feb   | 1 Mar / 1 Mar       | 3 Mar       |
| Globex   | Enterprise | 1500  | 22 Feb | 1 Mar   | 15 Mar / 12 Mar     | 10 Mar      |
| Initech  | Enterprise | 500   | 1 Mar  | 11 Mar  | 22 Mar / 24 Mar     | 25 Mar      |
| Hooli    | Mid-market | 50    | 8 Mar  | 12 Mar  | 26 Mar / –          | 15 Mar      |
| Umbrella | Mid-market | 800   | 10 Mar | 30 Mar  | 20 Apr / –          | –           |
| Soylent  | Enterprise | 2000  | 15 Mar | –       | no engagement       | –           |

Acme delivers Vandelay, Globex and Initech; the rest are in-house. Umbrella's
handoff goes to the Implementation North team, every other one to
Implementation. Soylent's handoff is sent back and its AE's redraft lacks five
of the seven required items (28 %).

Onboarding: Vandelay's hypercare ends on 12 March (its renewal is lost on 20
March, after it); Stark's renewal is lost on 10 March, before its hypercare
ends on 15 March; Globex's hypercare ends on 26 March, the day its only paid
subscription ends (customer success's loss, not onboarding's); Hooli's only
paid subscription ends on 19 March (a trial runs on); Initech's last paid
subscription ended before its deal closed.

Ratings of the sales → implementation handoffs (five marks, average): Vandelay
5 Feb; Globex 2 Mar 5 4 4 3 5 (4.2); Initech 12 Mar 3 2 4 2 5 (3.2); Hooli
16 Mar 4 3 4 4 5 (4.0); Umbrella 2 Apr. Customer success rates Globex's
Implementation → CS handoff on 26 March: not a sales handoff.
"""

import re
from datetime import UTC, date, datetime, time
from html import unescape
from types import SimpleNamespace

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from bowtie import measurement
from bowtie.measurement import Point, Reading, Scope, Segment
from bowtie.models import Deal, Pipeline, ProductUsage, Subscription, WorkingPeriod
from handoffs.closing import (
    accept_implementation_handoff,
    rate_handoff,
    reject_implementation_handoff,
    save_deal_packet,
)
from handoffs.deal_changes import change_deal
from handoffs.models import Handoff, HandoffRating
from partners.actors import actor_for_member, actor_for_person
from partners.handover import save_cs_packet
from partners.health import record_first_value
from partners.models import Engagement, Partner, ReadinessCondition
from partners.services import assign_partner, log_milestone, update_readiness
from tests.deal_fixtures import INCOMPLETE_PACKET
from tests.factories import PersonFactory, TeamFactory
from tests.partner_fixtures import build_partner_member, build_won_deal

MARCH = Scope(date(2027, 3, 1), date(2027, 3, 28))
NOW = datetime(2027, 4, 5, 12, 0, tzinfo=UTC)
WEEKS = ["01 Mar", "08 Mar", "15 Mar", "22 Mar"]

CS_PACKET = {
    "scope_configuration": "Quotes and approvals live.",
    "training": [{"group": "Sales reps", "status": "trained", "gap": "None."}],
    "open_issues": [
        {"issue": "Sync lags", "workaround": "Manual re-sync", "owner": "Acme"}
    ],
    "sentiment": "Positive since the first quotes went out.",
    "stakeholders": [
        {"person": "Ada Lind", "role": "champion", "sentiment": "positive"}
    ],
    "adoption": "Daily use by the sales team.",
    "lessons": "Train the admins first.",
}
DIMENSIONS = [name for name, _ in HandoffRating.DIMENSIONS]


def at(day: date) -> datetime:
    return datetime.combine(day, time(9), tzinfo=UTC)


def marks(*values: int) -> dict:
    return dict(zip(DIMENSIONS, (str(value) for value in values), strict=True))


def weeks(*values) -> tuple[Point, ...]:
    return tuple(
        Point(label, value, count)
        for label, (value, count) in zip(WEEKS, values, strict=True)
    )


class Timeline:
    """Runs each step at 09:00 UTC of its day, in the order written."""

    def __init__(self, traveller):
        self.traveller = traveller

    def on(self, day: date):
        self.traveller.move_to(at(day))
        return self


def add_usage(account, day: date):
    ProductUsage.objects.create(
        account=account,
        source="test",
        external_id=f"U-{account.pk}-{day}",
        used_on=day,
        feature="quotes",
        usage_count=4,
    )


def add_subscription(account, started_on, ended_on=None, *, is_trial=False):
    Subscription.objects.create(
        account=account,
        source="test",
        external_id=f"S-{account.pk}-{started_on}-{is_trial}",
        started_on=started_on,
        ended_on=ended_on,
        is_trial=is_trial,
        seats=10,
    )


def renewal_lost(deal: Deal, ae) -> None:
    change_deal(deal.renewal, {"stage": "Churned"}, actor=ae, source="api")


@pytest.fixture
def world(db):
    with time_machine.travel(at(date(2027, 1, 18)), tick=False) as traveller:
        yield build_world(Timeline(traveller))


def build_world(timeline: Timeline) -> SimpleNamespace:
    enterprise = TeamFactory(name="Enterprise AEs")
    alex = PersonFactory(full_name="Alex AE", role="ae", team=enterprise)
    midmarket = TeamFactory(name="Mid-market AEs")
    mia = PersonFactory(full_name="Mia AE", role="ae", team=midmarket)
    implementation = TeamFactory(name="Implementation", function="implementation")
    ivy = PersonFactory(
        full_name="Ivy Impl", role="implementation", team=implementation
    )
    implementation.head = ivy
    implementation.save()
    north = TeamFactory(name="Implementation North", function="implementation")
    nils = PersonFactory(full_name="Nils North", role="implementation", team=north)
    north.head = nils
    north.save()
    success = TeamFactory(name="Customer success", function="customer_success")
    cass = PersonFactory(full_name="Cass CSM", role="csm", team=success)
    success.head = cass
    success.save()
    WorkingPeriod.objects.bulk_create(
        WorkingPeriod(team=success, weekday=day, starts_at=time(9), ends_at=time(17))
        for day in range(5)
    )
    pipeline = Pipeline.objects.get(kind="new_business", is_default=True)
    acme = Partner.objects.create(name="Acme Partners", slug="acme")
    pia = actor_for_member(build_partner_member(acme, "pia@acme.example", "Pia Acme"))
    vendor = actor_for_person(ivy)
    deals = {}
    engagements = {}

    def win(name, ae, employees):
        deal = build_won_deal(name, ae, pipeline)
        deal.account.employee_count = employees
        deal.account.save()
        deals[name] = deal
        return deal.handoffs.get()

    def engage(name, partner=None, accept_as=ivy):
        handoff = deals[name].handoffs.get()
        accept_implementation_handoff(handoff, accept_as)
        engagements[name] = assign_partner(handoff, vendor, partner)

    def log(name, kind, actor, **days):
        log_milestone(engagements[name], kind, actor, ae_attended=True, **days)

    def go_live(name, actor, day):
        for key in ReadinessCondition.Key.values:
            update_readiness(
                engagements[name],
                key,
                actor,
                owner_name="Pia",
                evidence=f"{key} signed off",
                is_met=True,
            )
        log_milestone(engagements[name], "go_live", actor, actual_on=day)
        save_cs_packet(engagements[name], actor, CS_PACKET)

    def first_value(name, day):
        add_usage(deals[name].account, day)
        record_first_value(engagements[name])

    def rate(name, rater, *values):
        rate_handoff(
            deals[name].handoffs.get(kind="sales_to_implementation"),
            rater,
            marks(*values),
        )

    # January and February: what came before the period.
    win("Vandelay", mia, 300)
    engage("Vandelay", acme)
    timeline.on(date(2027, 2, 1))
    log("Vandelay", "kickoff", pia, actual_on=date(2027, 2, 1))
    log("Vandelay", "go_live", pia, planned_on=date(2027, 2, 26))
    win("Stark", alex, 1200)
    engage("Stark")
    timeline.on(date(2027, 2, 5))
    first_value("Vandelay", date(2027, 2, 5))
    rate("Vandelay", ivy, 1, 1, 1, 1, 1)
    timeline.on(date(2027, 2, 8))
    log("Stark", "kickoff", vendor, actual_on=date(2027, 2, 8))
    log("Stark", "go_live", vendor, planned_on=date(2027, 3, 1))
    add_subscription(deals["Stark"].account, date(2027, 2, 1))
    timeline.on(date(2027, 2, 22))
    win("Globex", alex, 1500)
    engage("Globex", acme)
    add_subscription(deals["Globex"].account, date(2027, 2, 22), date(2027, 3, 26))
    timeline.on(date(2027, 2, 26))
    go_live("Vandelay", pia, date(2027, 2, 26))

    # March: the period.
    timeline.on(date(2027, 3, 1))
    log("Globex", "kickoff", pia, actual_on=date(2027, 3, 1))
    log("Globex", "go_live", pia, planned_on=date(2027, 3, 15))
    win("Initech", alex, 500)
    engage("Initech", acme)
    add_subscription(deals["Initech"].account, date(2026, 1, 1), date(2027, 1, 1))
    go_live("Stark", vendor, date(2027, 3, 1))
    timeline.on(date(2027, 3, 2))
    rate("Globex", ivy, 5, 4, 4, 3, 5)
    timeline.on(date(2027, 3, 3))
    first_value("Stark", date(2027, 3, 3))
    timeline.on(date(2027, 3, 8))
    win("Hooli", mia, 50)
    engage("Hooli")
    add_subscription(deals["Hooli"].account, date(2027, 3, 8), date(2027, 3, 19))
    add_subscription(deals["Hooli"].account, date(2027, 3, 19), is_trial=True)
    timeline.on(date(2027, 3, 10))
    umbrella = win("Umbrella", mia, 800)
    # RevOps sends it to the other implementation team, as the admin does.
    Handoff.objects.filter(pk=umbrella.pk).update(receiving_team=north)
    engage("Umbrella", accept_as=nils)
    renewal_lost(deals["Stark"], alex)
    first_value("Globex", date(2027, 3, 10))
    timeline.on(date(2027, 3, 11))
    log("Initech", "kickoff", pia, actual_on=date(2027, 3, 11))
    log("Initech", "go_live", pia, planned_on=date(2027, 3, 22))
    timeline.on(date(2027, 3, 12))
    log("Hooli", "kickoff", vendor, actual_on=date(2027, 3, 12))
    log("Hooli", "go_live", vendor, planned_on=date(2027, 3, 26))
    go_live("Globex", pia, date(2027, 3, 12))
    log("Vandelay", "hypercare_end", pia, actual_on=date(2027, 3, 12))
    rate("Initech", ivy, 3, 2, 4, 2, 5)
    timeline.on(date(2027, 3, 15))
    soylent = win("Soylent", alex, 2000)
    reject_implementation_handoff(soylent, ivy, "The goals lack a baseline.")
    save_deal_packet(deals["Soylent"], INCOMPLETE_PACKET, actor=alex)
    first_value("Hooli", date(2027, 3, 15))
    log("Stark", "hypercare_end", vendor, actual_on=date(2027, 3, 15))
    timeline.on(date(2027, 3, 16))
    rate("Hooli", ivy, 4, 3, 4, 4, 5)
    timeline.on(date(2027, 3, 20))
    renewal_lost(deals["Vandelay"], mia)
    timeline.on(date(2027, 3, 24))
    go_live("Initech", pia, date(2027, 3, 24))
    timeline.on(date(2027, 3, 25))
    first_value("Initech", date(2027, 3, 25))
    timeline.on(date(2027, 3, 26))
    log("Globex", "hypercare_end", pia, actual_on=date(2027, 3, 26))
    cs_handoff = Engagement.objects.get(pk=engagements["Globex"].pk).cs_handoff
    accept_implementation_handoff(cs_handoff, cass)
    # Fetched again: the accepted state is on a fresh row only.
    rate_handoff(Handoff.objects.get(pk=cs_handoff.pk), cass, marks(1, 1, 1, 1, 1))

    # After the period.
    timeline.on(date(2027, 3, 30))
    log("Umbrella", "kickoff", actor_for_person(nils), actual_on=date(2027, 3, 30))
    log("Umbrella", "go_live", actor_for_person(nils), planned_on=date(2027, 4, 20))
    timeline.on(date(2027, 4, 2))
    rate("Umbrella", nils, 1, 1, 1, 1, 1)
    timeline.on(NOW.date())
    return SimpleNamespace(
        deals=deals,
        engagements=engagements,
        enterprise=enterprise,
        midmarket=midmarket,
        implementation=implementation,
        north=north,
    )


def read(key: str, scope: Scope = MARCH, now=NOW) -> Reading:
    return measurement.metric(key).measure(scope, now)


def table(key: str, scope: Scope = MARCH) -> list[list]:
    """The drill-down's rows as text, each ending with its link."""
    records = measurement.metric(key).records(scope, NOW)
    return [
        [
            None if value is None else str(value)
            for value in (column.value(row) for column in records.columns)
        ]
        + [records.url_of(row)]
        for row in records.rows
    ]


def headers(key: str) -> list[str]:
    return [
        column.header for column in measurement.metric(key).records(MARCH, NOW).columns
    ]


def engagement_url(world, name: str) -> str:
    return reverse("engagement-detail", args=[world.engagements[name].pk])


def handoff_url(world, name: str) -> str:
    handoff = world.deals[name].handoffs.get(kind="sales_to_implementation")
    return reverse("handoff-detail", args=[handoff.pk])


def team(world, *teams) -> Scope:
    return Scope(MARCH.starts_on, MARCH.ends_on, frozenset(t.pk for t in teams))


def segment(name: str) -> Scope:
    return Scope(MARCH.starts_on, MARCH.ends_on, segment=name)


# Registration.


def test_both_handoffs_register_their_three_metrics_in_order():
    sales = measurement.metrics(measurement.Handoff.SALES_TO_IMPLEMENTATION)
    success = measurement.metrics(measurement.Handoff.IMPLEMENTATION_TO_CS)

    assert [metric.key for metric in sales] == [
        "time_to_kickoff",
        "packet_completeness",
        "handoff_quality",
    ]
    assert [metric.key for metric in success] == [
        "time_to_first_value",
        "go_live_rate",
        "onboarding_churn",
    ]
    assert [metric.higher_is_better for metric in sales + success] == [
        False,
        True,
        True,
        False,
        True,
        False,
    ]
    assert [metric.target.describe(metric.unit) for metric in sales + success] == [
        "at most 7 days",
        "at least 90 %",
        "at least 4 of 5",
        "at most 30 days",
        "at least 85 %",
        "at most 3 %",
    ]


# Time to kickoff.


def test_time_to_kickoff_is_the_median_of_the_kickoffs_held_in_the_period(world):
    reading = read("time_to_kickoff")

    # Hooli 4, Globex 7, Initech 10 days; Umbrella and Soylent still wait.
    assert reading == Reading(
        value=7.0,
        count=3,
        series=weeks((7.0, 1), (7.0, 2), (None, 0), (None, 0)),
        details=(("p90", 10.0), ("still waiting", 2)),
    )


def test_time_to_kickoff_records_link_each_engagement(world):
    rows = table("time_to_kickoff")

    assert headers("time_to_kickoff") == [
        "Deal",
        "Account",
        "Delivered by",
        "Implementation team",
        "Closed",
        "Kickoff",
        "Days",
    ]
    assert rows == [
        [
            "Hooli platform",
            "Hooli",
            "In-house",
            "Implementation",
            "2027-03-08",
            "2027-03-12",
            "4",
            engagement_url(world, "Hooli"),
        ],
        [
            "Initech platform",
            "Initech",
            "Acme Partners",
            "Implementation",
            "2027-03-01",
            "2027-03-11",
            "10",
            engagement_url(world, "Initech"),
        ],
        [
            "Globex platform",
            "Globex",
            "Acme Partners",
            "Implementation",
            "2027-02-22",
            "2027-03-01",
            "7",
            engagement_url(world, "Globex"),
        ],
    ]


def test_time_to_kickoff_counts_the_receiving_team_and_the_segment(world):
    north = read("time_to_kickoff", team(world, world.north))
    main = read("time_to_kickoff", team(world, world.implementation))
    sales = read("time_to_kickoff", team(world, world.enterprise))
    enterprise = read("time_to_kickoff", segment(Segment.ENTERPRISE))

    # Umbrella, North's, kicks off after the period: it waits at its end.
    assert (north.value, north.count, north.details) == (
        None,
        0,
        (("p90", None), ("still waiting", 1)),
    )
    assert (main.value, main.count, main.details) == (
        7.0,
        3,
        (("p90", 10.0), ("still waiting", 1)),
    )
    assert (sales.value, sales.count) == (None, 0)
    assert (enterprise.value, enterprise.count, enterprise.details) == (
        7.0,
        1,
        (("p90", 7.0), ("still waiting", 1)),
    )


def test_time_to_kickoff_waiting_is_as_of_the_period_end(world):
    february = Scope(date(2027, 2, 1), date(2027, 2, 28))

    reading = read("time_to_kickoff", february)

    # Vandelay 14, Stark 7 days; Globex closed on 22 Feb, kicked off in March.
    assert reading == Reading(
        value=10.5,
        count=2,
        series=tuple(
            Point(label, value, count)
            for label, value, count in [
                ("01 Feb", 14.0, 1),
                ("08 Feb", 7.0, 1),
                ("15 Feb", None, 0),
                ("22 Feb", None, 0),
            ]
        ),
        details=(("p90", 14.0), ("still waiting", 1)),
    )


# Packet completeness.


def test_packet_completeness_is_the_mean_of_the_handoffs_opened(world):
    reading = read("packet_completeness")

    # Initech, Hooli, Umbrella complete; Soylent's redraft at 28 %.
    assert reading == Reading(
        value=82.0,
        count=4,
        series=weeks((100.0, 1), (100.0, 2), (28.0, 1), (None, 0)),
        details=(("incomplete", 1),),
    )


@pytest.mark.parametrize(
    "key", ["time_to_kickoff", "packet_completeness", "handoff_quality"]
)
def test_weekly_series_keep_to_utc_weeks_in_any_viewers_zone(world, key):
    in_utc = read(key)

    with timezone.override("Pacific/Pago_Pago"):
        far_west = read(key)
    with timezone.override("Pacific/Kiritimati"):
        far_east = read(key)

    assert far_west == in_utc == far_east


def test_packet_completeness_counts_the_sales_team(world):
    enterprise = read("packet_completeness", team(world, world.enterprise))
    midmarket = read("packet_completeness", team(world, world.midmarket))
    implementation = read("packet_completeness", team(world, world.implementation))

    assert (enterprise.value, enterprise.count) == (64.0, 2)
    assert (midmarket.value, midmarket.count) == (100.0, 2)
    assert (implementation.value, implementation.count) == (None, 0)


def test_packet_completeness_records(world):
    rows = table("packet_completeness")

    assert headers("packet_completeness") == [
        "Deal",
        "AE",
        "Sales team",
        "Opened",
        "State",
        "Completeness %",
    ]
    assert rows == [
        [
            "Soylent platform",
            "Alex AE",
            "Enterprise AEs",
            "2027-03-15 09:00",
            "Sent back",
            "28",
            handoff_url(world, "Soylent"),
        ],
        [
            "Umbrella platform",
            "Mia AE",
            "Mid-market AEs",
            "2027-03-10 09:00",
            "Accepted",
            "100",
            handoff_url(world, "Umbrella"),
        ],
        [
            "Hooli platform",
            "Mia AE",
            "Mid-market AEs",
            "2027-03-08 09:00",
            "Accepted",
            "100",
            handoff_url(world, "Hooli"),
        ],
        [
            "Initech platform",
            "Alex AE",
            "Enterprise AEs",
            "2027-03-01 09:00",
            "Accepted",
            "100",
            handoff_url(world, "Initech"),
        ],
    ]


# Handoff quality.


def test_handoff_quality_is_the_mean_rating_given_in_the_period(world):
    reading = read("handoff_quality")

    assert reading.value == pytest.approx(3.8)
    assert reading.count == 3
    assert [(point.label, point.count) for point in reading.series] == [
        ("01 Mar", 1),
        ("08 Mar", 1),
        ("15 Mar", 1),
        ("22 Mar", 0),
    ]
    assert [point.value for point in reading.series] == [
        pytest.approx(4.2),
        pytest.approx(3.2),
        pytest.approx(4.0),
        None,
    ]
    assert reading.details == (
        ("information completeness", 4.0),
        ("promise alignment", 3.0),
        ("customer sentiment continuity", 4.0),
        ("context transfer", 3.0),
        ("stakeholder mapping", 5.0),
    )


def test_handoff_quality_counts_the_sales_team_and_the_segment(world):
    enterprise = read("handoff_quality", team(world, world.enterprise))
    midmarket = read("handoff_quality", team(world, world.midmarket))
    small = read("handoff_quality", segment(Segment.SMALL))

    assert (pytest.approx(enterprise.value), enterprise.count) == (3.7, 2)
    assert (midmarket.value, midmarket.count) == (4.0, 1)
    assert (small.value, small.count) == (4.0, 1)


def test_handoff_quality_records(world):
    rows = table("handoff_quality")

    assert headers("handoff_quality") == [
        "Deal",
        "AE",
        "Sales team",
        "Rated",
        "Rated by",
        "Average",
        "Information completeness",
        "Promise alignment",
        "Customer sentiment continuity",
        "Context transfer",
        "Stakeholder mapping",
        "Comment",
    ]
    assert [row[:6] + row[6:11] + row[12:] for row in rows] == [
        [
            "Hooli platform",
            "Mia AE",
            "Mid-market AEs",
            "2027-03-16 09:00",
            "Ivy Impl",
            "4.0",
            "4",
            "3",
            "4",
            "4",
            "5",
            handoff_url(world, "Hooli"),
        ],
        [
            "Initech platform",
            "Alex AE",
            "Enterprise AEs",
            "2027-03-12 09:00",
            "Ivy Impl",
            "3.2",
            "3",
            "2",
            "4",
            "2",
            "5",
            handoff_url(world, "Initech"),
        ],
        [
            "Globex platform",
            "Alex AE",
            "Enterprise AEs",
            "2027-03-02 09:00",
            "Ivy Impl",
            "4.2",
            "5",
            "4",
            "4",
            "3",
            "5",
            handoff_url(world, "Globex"),
        ],
    ]
    assert [row[11] for row in rows] == ["", "", ""]


# Time to first value.


def test_time_to_first_value_is_the_median_from_the_close(world):
    reading = read("time_to_first_value")

    # Hooli 7, Globex 16, Initech 24, Stark 30 days; Vandelay's in February.
    assert reading == Reading(
        value=20.0,
        count=4,
        series=weeks((30.0, 1), (16.0, 1), (7.0, 1), (24.0, 1)),
        details=(("p90", 30.0),),
    )


def test_time_to_first_value_counts_the_implementation_team_and_segment(world):
    north = read("time_to_first_value", team(world, world.north))
    mid = read("time_to_first_value", segment(Segment.MID))

    assert (north.value, north.count) == (None, 0)
    assert (mid.value, mid.count, mid.details) == (24.0, 1, (("p90", 24.0),))


def test_time_to_first_value_records(world):
    rows = table("time_to_first_value")

    assert [row[0] for row in rows] == [
        "Initech platform",
        "Hooli platform",
        "Globex platform",
        "Stark platform",
    ]
    assert rows[3] == [
        "Stark platform",
        "Stark",
        "In-house",
        "Implementation",
        "2027-02-01",
        "2027-03-03",
        "30",
        engagement_url(world, "Stark"),
    ]
    assert headers("time_to_first_value")[-2:] == ["First value", "Days"]


# Go-live rate.


def test_go_live_rate_is_the_share_live_by_the_planned_day(world):
    reading = read("go_live_rate")

    # Stark and Globex on time, Initech two days late, Hooli not live.
    assert reading == Reading(
        value=50.0,
        count=4,
        series=weeks((100.0, 1), (None, 0), (100.0, 1), (0.0, 2)),
        details=(("live on time", 2), ("live late", 1), ("not live", 1)),
    )


def test_go_live_rate_leaves_out_a_planned_day_not_over_yet(world):
    on_hooli_day = datetime(2027, 3, 26, 12, 0, tzinfo=UTC)

    reading = read("go_live_rate", now=on_hooli_day)

    assert (reading.value, reading.count) == (pytest.approx(200 / 3), 3)
    assert reading.details == (("live on time", 2), ("live late", 1), ("not live", 0))


def test_go_live_rate_counts_the_implementation_team_and_segment(world):
    north = read("go_live_rate", team(world, world.north))
    enterprise = read("go_live_rate", segment(Segment.ENTERPRISE))
    small = read("go_live_rate", segment(Segment.SMALL))

    # Umbrella, North's, plans its go-live after the period.
    assert (north.value, north.count) == (None, 0)
    assert (enterprise.value, enterprise.count) == (100.0, 2)
    assert (small.value, small.count) == (0.0, 1)


def test_go_live_records_say_each_outcome(world):
    rows = table("go_live_rate")

    assert headers("go_live_rate")[-3:] == ["Go-live planned", "Went live", "Outcome"]
    assert [[row[0], *row[-4:]] for row in rows] == [
        [
            "Hooli platform",
            "2027-03-26",
            None,
            "not live",
            engagement_url(world, "Hooli"),
        ],
        [
            "Initech platform",
            "2027-03-22",
            "2027-03-24",
            "late",
            engagement_url(world, "Initech"),
        ],
        [
            "Globex platform",
            "2027-03-15",
            "2027-03-12",
            "on time",
            engagement_url(world, "Globex"),
        ],
        [
            "Stark platform",
            "2027-03-01",
            "2027-03-01",
            "on time",
            engagement_url(world, "Stark"),
        ],
    ]


# Onboarding churn.


def test_onboarding_churn_is_the_share_of_onboardings_ending_in_a_loss(world):
    reading = read("onboarding_churn")

    # Stark lost by its renewal, Hooli by its subscription; Vandelay and
    # Globex completed. Initech's old subscription ended before its close.
    assert reading == Reading(
        value=50.0,
        count=4,
        series=weeks((None, 0), (50.0, 2), (100.0, 1), (0.0, 1)),
        details=(("lost", 2),),
    )


def test_onboarding_churn_by_segment_and_team(world):
    enterprise = read("onboarding_churn", segment(Segment.ENTERPRISE))
    mid = read("onboarding_churn", segment(Segment.MID))
    north = read("onboarding_churn", team(world, world.north))

    assert (enterprise.value, enterprise.count) == (50.0, 2)
    assert (mid.value, mid.count) == (0.0, 1)
    assert (north.value, north.count) == (None, 0)


def test_onboarding_churn_records(world):
    rows = table("onboarding_churn")

    assert headers("onboarding_churn")[-3:] == [
        "Hypercare ended",
        "Customer lost",
        "Outcome",
    ]
    assert [[row[0], *row[-4:]] for row in rows] == [
        [
            "Globex platform",
            "2027-03-26",
            "2027-03-26",
            "completed",
            engagement_url(world, "Globex"),
        ],
        [
            "Hooli platform",
            None,
            "2027-03-19",
            "lost",
            engagement_url(world, "Hooli"),
        ],
        [
            "Vandelay platform",
            "2027-03-12",
            "2027-03-20",
            "completed",
            engagement_url(world, "Vandelay"),
        ],
        [
            "Stark platform",
            "2027-03-15",
            "2027-03-10",
            "lost",
            engagement_url(world, "Stark"),
        ],
    ]


# The pages.


def kpi_line(page: str, key: str) -> str:
    strong = re.search(
        rf'<strong[^>]*data-metric="{key}">(.*?)</strong>\s*<small>(.*?)</small>'
        r"\s*<small>(.*?)</small>",
        page,
        re.DOTALL,
    )
    return " | ".join(
        " ".join(unescape(re.sub(r"<[^>]+>", " ", part)).split())
        for part in strong.groups()
    )


@pytest.fixture
def revops_client(client, world):
    admin = PersonFactory(full_name="Rita RevOps", role="revops_admin")
    client.force_login(admin.user)
    return client


def test_sales_to_implementation_dashboard_shows_the_figures(revops_client):
    with time_machine.travel(NOW, tick=False):
        response = revops_client.get(
            reverse("dashboard-handoff", args=["sales_to_implementation"]),
            {"starts_on": "2027-03-01", "ends_on": "2027-03-28"},
        )

    page = response.content.decode()
    assert response.status_code == 200
    assert kpi_line(page, "time_to_kickoff") == (
        "7 days | Target at most 7 days · on target | "
        "3 records · p90 10 · still waiting 2"
    )
    assert kpi_line(page, "packet_completeness") == (
        "82 % | Target at least 90 % · off target | 4 records · incomplete 1"
    )
    assert kpi_line(page, "handoff_quality") == (
        "3.8 of 5 | Target at least 4 of 5 · off target | 3 records · "
        "information completeness 4 · promise alignment 3 · customer sentiment "
        "continuity 4 · context transfer 3 · stakeholder mapping 5"
    )


def test_implementation_to_cs_dashboard_shows_the_figures(revops_client):
    with time_machine.travel(NOW, tick=False):
        response = revops_client.get(
            reverse("dashboard-handoff", args=["implementation_to_cs"]),
            {"starts_on": "2027-03-01", "ends_on": "2027-03-28"},
        )

    page = response.content.decode()
    assert response.status_code == 200
    assert kpi_line(page, "time_to_first_value") == (
        "20 days | Target at most 30 days · on target | 4 records · p90 30"
    )
    assert kpi_line(page, "go_live_rate") == (
        "50 % | Target at least 85 % · off target | 4 records · live on time 2 · "
        "live late 1 · not live 1"
    )
    assert kpi_line(page, "onboarding_churn") == (
        "50 % | Target at most 3 % · off target | 4 records · lost 2"
    )


def test_drill_down_pages_list_the_records(revops_client, world):
    period = {"starts_on": "2027-03-01", "ends_on": "2027-03-28"}

    with time_machine.travel(NOW, tick=False):
        kickoffs = revops_client.get(
            reverse("metric-records", args=["time_to_kickoff"]), period
        )
        churn = revops_client.get(
            reverse("metric-records", args=["onboarding_churn"]),
            {**period, "format": "csv"},
        )

    assert kickoffs.status_code == 200
    assert f'href="{engagement_url(world, "Hooli")}"' in kickoffs.content.decode()
    assert b"".join(churn.streaming_content).decode().splitlines() == [
        "Deal,Account,Delivered by,Implementation team,Closed,Hypercare ended,"
        "Customer lost,Outcome",
        "Globex platform,Globex,Acme Partners,Implementation,2027-02-22,2027-03-26,"
        "2027-03-26,completed",
        "Hooli platform,Hooli,In-house,Implementation,2027-03-08,,2027-03-19,lost",
        "Vandelay platform,Vandelay,Acme Partners,Implementation,2027-01-18,"
        "2027-03-12,2027-03-20,completed",
        "Stark platform,Stark,In-house,Implementation,2027-02-01,2027-03-15,"
        "2027-03-10,lost",
    ]
