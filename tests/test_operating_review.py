"""The weekly operating review: its contents, the pages, the CSV and the e-mail."""

import csv
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings
from django.core import mail
from django.urls import reverse
from djmoney.money import Money

from bowtie import measurement
from bowtie.measurement import (
    Definition,
    Metric,
    Point,
    Reading,
    Records,
    Scope,
    Target,
    Unit,
)
from bowtie.models import Alert, Deal, Indicator, Notification, Pipeline
from handoffs.closing import (
    accept_implementation_handoff,
    close_deal_won,
    rate_handoff,
    save_deal_packet,
)
from handoffs.compliance import Week
from handoffs.models import Handoff, HandoffRating, Milestone, OwedBy
from handoffs.operating_review import (
    AlertStatus,
    operating_review,
    send_weekly_operating_reviews,
)
from tests.deal_fixtures import COMPLETE_PACKET, build_open_deal
from tests.factories import AccountFactory, LeadFactory, PersonFactory, TeamFactory

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
# 25 to 31 January 2027; in Berlin from 24 January 23:00 UTC to 31 January
# 23:00 UTC.
WEEK = Week(2027, 4)
WEEK_ENDS_AT = datetime(2027, 1, 31, 23, 0, tzinfo=UTC)
# Two days after the week, when its page is read.
READ_AT = datetime(2027, 2, 3, 12, 0, tzinfo=UTC)


def at(day: int, hour: int = 10, minute: int = 0, month: int = 1) -> datetime:
    return datetime(2027, month, day, hour, minute, tzinfo=UTC)


# A metric with known figures: the team's share in this week and the two
# scopes around it; any other scope counts nothing.
FIGURES: dict[tuple, Reading] = {}


def measure_share(scope: Scope, now) -> Reading:
    return FIGURES.get(
        (scope.starts_on, scope.ends_on, scope.team_ids), Reading(None, 0)
    )


SHARE = Metric(
    key="review_test_share",
    handoff=measurement.Handoff.LEAD_TO_SALES,
    label="Test share",
    unit=Unit.PERCENT,
    target=Target(maximum=35),
    definition=Definition("Test rows.", "None.", "The week.", "Any.", "Any."),
    measure=measure_share,
    records=lambda scope, now: Records(rows=Handoff.objects.none(), columns=()),
    higher_is_better=False,
    position=990,
)


@pytest.fixture
def share(monkeypatch):
    monkeypatch.setitem(measurement.REGISTRY, SHARE.key, SHARE)
    # A fresh dict per test, read by `measure_share` through the module.
    monkeypatch.setattr("tests.test_operating_review.FIGURES", {})
    return FIGURES


def deal_named(name: str, owner) -> Deal:
    pipeline = Pipeline.objects.get(kind="new_business", is_default=True)
    return Deal.objects.create(
        name=name,
        account=AccountFactory(name=name),
        owner=owner,
        pipeline=pipeline,
        stage=pipeline.stages.get(name="Engaging"),
        amount=Money(24_000, "EUR"),
        term_months=12,
    )


def rate(handoff: Handoff, marks: tuple, rated_at, comment="", by=None):
    names = [name for name, _ in HandoffRating.DIMENSIONS]
    return HandoffRating.objects.create(
        handoff=handoff,
        rated_by=by,
        comment=comment,
        rated_at=rated_at,
        **dict(zip(names, marks, strict=True)),
    )


def lead_handoff(team, receiver, name: str, **fields) -> Handoff:
    first, last = name.split()
    return Handoff.objects.create(
        kind=Handoff.Kind.LEAD_TO_SALES,
        lead=LeadFactory(first_name=first, last_name=last, team=team),
        receiving_team=team,
        receiver=receiver,
        opened_at=fields.pop("opened_at", at(18)),
        **fields,
    )


def clock(handoff, key, due_at, *, breached_at=None, met_at=None, **fields):
    return Milestone.objects.create(
        handoff=handoff,
        key=key,
        label=fields.pop("label", key.replace("_", " ").capitalize()),
        target_seconds=600,
        started_at=due_at - timedelta(minutes=10),
        due_at=due_at,
        breached_at=breached_at,
        met_at=met_at,
        **fields,
    )


def alert(key: str, team, opened_at, resolved_at=None, value=12.0) -> Alert:
    indicator = Indicator.objects.get(key=key)
    return Alert.objects.create(
        indicator=indicator,
        scope_key=f"team:{team.pk}" if team else "company",
        team=team,
        recipient=team.head if team else None,
        threshold=indicator.threshold,
        opened_value=value,
        last_value=value,
        window_starts_on=opened_at.date() - timedelta(days=indicator.window_days - 1),
        window_ends_on=opened_at.date(),
        opened_at=opened_at,
        last_checked_at=resolved_at or opened_at,
        resolved_at=resolved_at,
    )


@pytest.fixture
def world(db, share):
    sales = TeamFactory(name="Enterprise AEs", time_zone="Europe/Berlin")
    head = PersonFactory(full_name="Erik Head", role="manager", team=sales)
    sales.head = head
    sales.save()
    ae = PersonFactory(full_name="Alex AE", role="ae", team=sales)
    sdr = PersonFactory(full_name="Sam SDR", role="sdr", team=sales)
    implementation = TeamFactory(name="Implementation", function="implementation")
    ivy = PersonFactory(
        full_name="Ivy Impl", role="implementation", team=implementation
    )
    success = TeamFactory(name="Customer success", function="customer_success")
    csm = PersonFactory(full_name="Cara CSM", role="csm", team=success)
    other = TeamFactory(name="Inbound UK", time_zone="Europe/London")
    outsider = PersonFactory(full_name="Una UK", role="manager", team=other)

    def sent(name, team=sales, sender=ae, **fields):
        return Handoff.objects.create(
            kind=Handoff.Kind.SALES_TO_IMPLEMENTATION,
            deal=deal_named(name, sender),
            sending_team=team,
            sender=sender,
            receiving_team=implementation,
            receiver=ivy,
            opened_at=fields.pop("opened_at", at(20)),
            **fields,
        )

    globex = sent("Globex platform", state=Handoff.State.ACCEPTED)
    umbrella = sent("Umbrella suite", state=Handoff.State.REJECTED, closed_at=at(26, 9))
    initech = sent("Initech rollout", state=Handoff.State.ACCEPTED)
    hooli = sent("Hooli cloud", state=Handoff.State.ACCEPTED)
    vandelay = sent("Vandelay imports", team=other, sender=outsider, state="accepted")
    seats = Handoff.objects.create(
        kind=Handoff.Kind.CS_TO_SALES,
        deal=deal_named("Globex seats", ae),
        sending_team=success,
        sender=csm,
        receiving_team=sales,
        receiver=ae,
        opened_at=at(21),
        state=Handoff.State.ACCEPTED,
    )

    # Four ratings of the week, two of them tied; the Sunday-night one is
    # still in the week in Berlin. One a minute before the week, and one of
    # another team's handoff, stay out.
    rate(globex, (2, 2, 3, 2, 1), at(27), "No stakeholder map.", by=ivy)
    rate(initech, (2, 2, 2, 2, 2), at(31, 22, 30), by=ivy)
    rate(seats, (3, 3, 3, 3, 3), at(28), "Brief was thin.", by=ae)
    rate(umbrella, (4, 4, 4, 3, 4), at(26, 8), by=ivy)
    rate(hooli, (1, 1, 1, 1, 1), at(24, 22, 59), "Before the week.", by=ivy)
    rate(vandelay, (1, 1, 1, 1, 1), at(27), "Another team's.", by=ivy)

    anna = lead_handoff(sales, sdr, "Anna Berg")
    breaches = SimpleNamespace(
        # Open at the week's end, oldest first.
        first_response=clock(anna, "first_response", at(20, 9), breached_at=at(20, 9)),
        resend=clock(
            umbrella,
            "packet_resent",
            at(28, 12),
            breached_at=at(28, 12, 1),
            owed_by=OwedBy.SENDER,
            label="Packet sent again",
        ),
        met_after=clock(
            lead_handoff(sales, sdr, "Ben Ott"),
            "first_response",
            at(29),
            breached_at=at(29),
            met_at=at(2, 9, month=2),
        ),
    )
    # Met in the week, owed by Implementation, of a completed handoff,
    # breached after the week, another team's: none is the team's open one.
    breaches.met_in_week = clock(
        lead_handoff(sales, sdr, "Cleo Dahl"),
        "first_response",
        at(22),
        breached_at=at(22),
        met_at=at(30),
    )
    clock(globex, "kickoff_scheduled", at(23), breached_at=at(23))
    clock(
        lead_handoff(
            sales, sdr, "Dora Eck", state=Handoff.State.COMPLETED, closed_at=at(27)
        ),
        "disposition",
        at(21),
        breached_at=at(21),
    )
    clock(
        lead_handoff(sales, sdr, "Emil Falk"),
        "first_response",
        at(1, month=2),
        breached_at=at(1, 10, 1, month=2),
    )
    clock(
        lead_handoff(other, outsider, "Finn Gale"),
        "first_response",
        at(20),
        breached_at=at(20),
    )

    alerts = SimpleNamespace(
        resolved=alert("mql_rejection_rising", sales, at(5), resolved_at=at(25)),
        all_week=alert("unworked_leads", sales, at(10)),
        opened_and_resolved=alert(
            "time_to_kickoff_slow", sales, at(26), resolved_at=at(29)
        ),
        opened=alert("expansion_pipeline_shrinking", sales, at(30)),
    )
    # Over before the week, opened after it, another team's, the company's.
    alert("onboarding_completion_falling", sales, at(3), resolved_at=at(20))
    alert("onboarding_completion_falling", sales, at(1, month=2))
    alert("unworked_leads", other, at(26))
    alert("unworked_leads", None, at(26))

    share[(date(2027, 1, 25), date(2027, 1, 31), frozenset({sales.pk}))] = Reading(
        40.0, 8
    )
    share[(date(2027, 1, 18), date(2027, 1, 24), frozenset({sales.pk}))] = Reading(
        30.0, 6
    )
    share[(date(2026, 12, 7), date(2027, 1, 31), frozenset({sales.pk}))] = Reading(
        36.0,
        50,
        series=tuple(Point(f"week {n}", 30.0 + n, 6) for n in range(8)),
    )
    return SimpleNamespace(
        sales=sales,
        head=head,
        ae=ae,
        sdr=sdr,
        implementation=implementation,
        other=other,
        outsider=outsider,
        globex=globex,
        umbrella=umbrella,
        initech=initech,
        seats=seats,
        anna=anna,
        breaches=breaches,
        alerts=alerts,
    )


def test_the_review_of_a_week_is_exact(world):
    review = operating_review(world.sales, WEEK, READ_AT)

    assert review.scope == Scope(
        date(2027, 1, 25), date(2027, 1, 31), frozenset({world.sales.pk})
    )
    assert (review.since, review.until, review.as_of) == (
        at(24, 23, 0),
        WEEK_ENDS_AT,
        WEEK_ENDS_AT,
    )
    assert [line.metric.key for line in review.metrics] == [
        metric.key for metric in measurement.metrics()
    ]
    [line] = [line for line in review.metrics if line.metric.key == SHARE.key]
    assert (
        line.handoff_label,
        line.value,
        line.view.reading.count,
        line.previous_value,
        line.previous.count,
        line.view.target_text,
        line.on_target,
        line.change,
        line.is_better,
    ) == ("Marketing → Sales", 40.0, 8, 30.0, 6, "at most 35 %", False, 10.0, False)
    assert [
        (rated.handoff.pk, rated.average, rated.rating.comment, rated.direction)
        for rated in review.lowest_rated
    ] == [
        (world.globex.pk, 2.0, "No stakeholder map.", "sent to Implementation"),
        (world.initech.pk, 2.0, "", "sent to Implementation"),
        (world.seats.pk, 3.0, "Brief was thin.", "received from Customer success"),
        (world.umbrella.pk, 3.8, "", "sent to Implementation"),
    ]
    assert [rated.url for rated in review.lowest_rated] == [
        reverse("handoff-detail", args=[world.globex.pk]),
        reverse("handoff-detail", args=[world.initech.pk]),
        reverse("expansion-detail", args=[world.seats.pk]),
        reverse("handoff-detail", args=[world.umbrella.pk]),
    ]
    assert [
        (breach.milestone, breach.overdue, breach.owner, breach.url)
        for breach in review.breaches
    ] == [
        (
            world.breaches.first_response,
            timedelta(days=11, hours=14),
            world.sdr,
            reverse("lead-detail", args=[world.anna.lead_id]),
        ),
        (
            world.breaches.resend,
            timedelta(days=3, hours=11),
            world.ae,
            reverse("handoff-detail", args=[world.umbrella.pk]),
        ),
        (
            world.breaches.met_after,
            timedelta(days=2, hours=13),
            world.sdr,
            reverse("lead-detail", args=[world.breaches.met_after.handoff.lead_id]),
        ),
    ]
    assert review.breach_count == 3
    assert [(line.alert, line.status) for line in review.alerts] == [
        (world.alerts.resolved, AlertStatus.RESOLVED),
        (world.alerts.all_week, AlertStatus.OPEN_ALL_WEEK),
        (world.alerts.opened_and_resolved, AlertStatus.OPENED_AND_RESOLVED),
        (world.alerts.opened, AlertStatus.OPENED),
    ]
    assert review.alerts[0].url == f"/alerts/{world.alerts.resolved.pk}/"
    assert (review.is_complete, review.is_quiet) == (True, False)


def test_a_week_still_running_counts_breaches_open_now(world):
    thursday = at(28, 13)

    review = operating_review(world.sales, WEEK, thursday)

    assert review.as_of == thursday
    assert review.is_complete is False
    # Cleo's clock was met only on Saturday; Ben's had not run out yet.
    assert [(breach.milestone, breach.overdue) for breach in review.breaches] == [
        (world.breaches.first_response, timedelta(days=8, hours=4)),
        (world.breaches.met_in_week, timedelta(days=6, hours=3)),
        (world.breaches.resend, timedelta(hours=1)),
    ]


def test_the_receiving_team_sees_the_breach_it_owes(world):
    review = operating_review(world.implementation, WEEK, READ_AT)

    assert [breach.milestone.key for breach in review.breaches] == ["kickoff_scheduled"]
    # The send-back clock is the sender's, and the sent-back handoff owes
    # the receivers nothing.
    assert [
        (rated.handoff.deal.name, rated.direction) for rated in review.lowest_rated
    ] == [
        ("Vandelay imports", "received from Inbound UK"),
        ("Globex platform", "received from Enterprise AEs"),
        ("Initech rollout", "received from Enterprise AEs"),
        ("Umbrella suite", "received from Enterprise AEs"),
    ]


# The pages -----------------------------------------------------------------


@pytest.fixture
def reading():
    with time_machine.travel(READ_AT, tick=False):
        yield


def review_url(team, week=WEEK) -> str:
    return reverse("operating-review", args=[team.pk, str(week)])


def test_a_manager_reads_the_teams_review_charts_first(client, world, reading):
    client.force_login(world.head.user)

    page = client.get(review_url(world.sales)).content.decode()

    assert "Operating review: Enterprise AEs, week 2027-W04</h1>" in page
    charts = page.index('id="target-chart"')
    assert charts < page.index('id="trend-review_test_share"')
    assert page.index('id="trend-review_test_share"') < page.index(
        'id="review-metrics"'
    )
    assert "No stakeholder map." in page
    assert reverse("handoff-detail", args=[world.globex.pk]) in page
    assert "Packet sent again" in page and "11 d 14 h" in page
    assert "Expansion pipeline shrinking" in page
    assert f'href="{review_url(world.sales, Week(2027, 3))}"' in page
    assert f'href="{review_url(world.sales, Week(2027, 5))}"' in page


def test_the_review_is_404_for_a_team_the_viewer_may_not_see(client, world, reading):
    client.force_login(world.outsider.user)

    hidden = client.get(review_url(world.sales))
    missing = client.get(reverse("operating-review", args=[999_999, str(WEEK)]))
    own = client.get(review_url(world.other))

    assert (hidden.status_code, missing.status_code, own.status_code) == (
        404,
        404,
        200,
    )


def test_a_rep_reads_only_their_own_teams_review(client, world, reading):
    client.force_login(world.sdr.user)

    assert client.get(review_url(world.sales)).status_code == 200
    assert client.get(review_url(world.other)).status_code == 404


@pytest.mark.parametrize("week", ["2027-W60", "2027-04", "2027-W06"])
def test_a_week_that_does_not_exist_or_has_not_begun_is_404(
    client, world, reading, week
):
    client.force_login(world.head.user)

    response = client.get(reverse("operating-review", args=[world.sales.pk, week]))

    assert response.status_code == 404


def test_the_list_offers_the_visible_teams_and_opens_the_chosen_review(
    client, world, reading
):
    client.force_login(world.head.user)
    url = reverse("operating-review-list")

    page = client.get(url)
    chosen = client.get(url, {"team": world.sales.pk, "week": "2027-W04"})
    refused = client.get(url, {"team": world.sales.pk, "week": "2027-W09"})

    teams = list(page.context["form"].fields["team"].queryset)
    assert teams == [world.sales]
    assert page.context["form"]["team"].value() == world.sales.pk
    assert page.context["form"]["week"].value() == "2027-W04"
    assert [row[:2] for row in page.context["rows"]] == [(world.sales, WEEK)]
    assert chosen.status_code == 302
    assert chosen["Location"] == review_url(world.sales)
    assert [str(message) for message in refused.context["messages"]] == [
        "Week: 2027-W09 has not begun yet."
    ]


def test_the_metrics_table_exports_as_csv(client, world, reading):
    client.force_login(world.head.user)

    response = client.get(review_url(world.sales), {"format": "csv"})

    rows = list(csv.reader(response.content.decode().splitlines()))
    assert response["Content-Disposition"] == (
        f'attachment; filename="operating-review-{world.sales.pk}-2027-W04.csv"'
    )
    assert rows[0] == [
        "week",
        "team",
        "handoff",
        "metric",
        "key",
        "unit",
        "value",
        "records",
        "previous_value",
        "previous_records",
        "target_minimum",
        "target_maximum",
        "on_target",
        "starts_on",
        "ends_on",
    ]
    assert [row[4] for row in rows[1:]] == [m.key for m in measurement.metrics()]
    [share_row] = [row for row in rows if row[4] == SHARE.key]
    assert share_row == [
        "2027-W04",
        "Enterprise AEs",
        "Marketing → Sales",
        "Test share",
        "review_test_share",
        "percent",
        "40",
        "8",
        "30",
        "6",
        "",
        "35",
        "no",
        "2027-01-25",
        "2027-01-31",
    ]


# The e-mail ----------------------------------------------------------------


def test_the_review_goes_to_the_head_once_on_the_teams_monday_morning(
    world, monkeypatch, django_capture_on_commit_callbacks
):
    # Only the test metric, so that the whole e-mail is known.
    monkeypatch.setattr(measurement, "REGISTRY", {SHARE.key: SHARE})
    us = TeamFactory(name="Inbound US", time_zone="America/New_York")
    us.head = PersonFactory(full_name="Uma US", role="manager", team=us)
    us.save()
    rate(
        Handoff.objects.create(
            kind=Handoff.Kind.SALES_TO_IMPLEMENTATION,
            deal=deal_named("Acme billing", us.head),
            sending_team=us,
            receiving_team=world.implementation,
            opened_at=at(25),
            state=Handoff.State.ACCEPTED,
        ),
        (3, 3, 3, 3, 3),
        at(27),
    )
    monday = datetime(2027, 2, 1, 7, 0, tzinfo=BERLIN)

    with django_capture_on_commit_callbacks(execute=True):
        runs = [
            send_weekly_operating_reviews(monday - timedelta(minutes=1)),
            send_weekly_operating_reviews(monday),
            send_weekly_operating_reviews(monday + timedelta(hours=1)),
            send_weekly_operating_reviews(datetime(2027, 2, 1, 7, 0, tzinfo=NEW_YORK)),
        ]

    # Before seven in Berlin the review due is still week 3's (a rating
    # late on Sunday 24 January); New York's Monday morning comes six hours
    # later, and its quiet week 3 sent nothing.
    assert runs == [{"sent": 1}, {"sent": 1}, {"sent": 0}, {"sent": 1}]
    assert [
        (notice.recipient, notice.event_key, notice.url)
        for notice in Notification.objects.order_by("pk")
    ] == [
        (
            world.head,
            f"operating-review:{world.sales.pk}:2027-W03",
            review_url(world.sales, Week(2027, 3)),
        ),
        (
            world.head,
            f"operating-review:{world.sales.pk}:2027-W04",
            review_url(world.sales),
        ),
        (us.head, f"operating-review:{us.pk}:2027-W04", review_url(us)),
    ]
    [message] = [m for m in mail.outbox if m.to == [world.head.email]][-1:]
    assert message.subject == (
        "Operating review of Enterprise AEs, week 2027-W04: 1 metric off target"
    )
    assert message.body.split("\n\n") == [
        "Enterprise AEs, 2027-W04 (25 Jan to 31 Jan 2027).",
        "Metrics against target (the week before in brackets):\n"
        "- Test share: 40 % (30 %), target at most 35 %, off target",
        "Lowest-rated handoffs:\n"
        "- Globex platform (Sales → Implementation, sent to Implementation): 2.0. "
        "No stakeholder map.\n"
        "- Initech rollout (Sales → Implementation, sent to Implementation): 2.0\n"
        "- Globex seats (CS → Sales (expansion), received from Customer success): "
        "3.0. Brief was thin.\n"
        "- Umbrella suite (Sales → Implementation, sent to Implementation): 3.8",
        "Open breaches at the end of the week: 3.\n"
        "- First response, Anna Berg: 11 d 14 h overdue (Sam SDR)\n"
        "- Packet sent again, Umbrella suite: 3 d 11 h overdue (Alex AE)\n"
        "- First response, Ben Ott: 2 d 13 h overdue (Sam SDR)",
        "Alerts:\n"
        "- MQL rejection rate rising: resolved\n"
        "- Unworked leads above 10 %: open all week\n"
        "- Time to kickoff above 14 days: opened and resolved\n"
        "- Expansion pipeline shrinking: opened, still open",
        settings.BOWTIE_BASE_URL + review_url(world.sales),
    ]


def test_a_quiet_week_sends_nothing(db, share):
    team = TeamFactory(name="Quiet team", time_zone="Europe/Berlin")
    team.head = PersonFactory(full_name="Quinn Head", role="manager", team=team)
    team.save()
    monday = datetime(2027, 2, 1, 9, 0, tzinfo=BERLIN)

    review = operating_review(team, WEEK, monday)
    result = send_weekly_operating_reviews(monday)

    assert review.is_quiet is True
    assert result == {"sent": 0}
    assert Notification.objects.count() == 0


def test_a_rating_through_the_services_reaches_both_teams_reviews_once(
    db, django_capture_on_commit_callbacks
):
    world = build_open_deal()
    sales = world.ae.team
    sales.head = PersonFactory(full_name="Erik Head", role="manager", team=sales)
    sales.save()
    save_deal_packet(world.deal, COMPLETE_PACKET)
    closed_at = datetime(2027, 1, 31, 10, 0, tzinfo=UTC)
    handoff = close_deal_won(world.deal, now=closed_at).handoff
    handoff = accept_implementation_handoff(handoff, world.head, now=closed_at)
    marks = {
        "completeness": "4",
        "promise_alignment": "2",
        "sentiment_continuity": "3",
        "context_transfer": "4",
        "stakeholder_mapping": "2",
    }
    rate_handoff(handoff, world.head, marks, "Thin on promises.", now=closed_at)
    # 31 January 2027 is a Sunday: the review of week 4 goes out on Monday.
    monday = datetime(2027, 2, 1, 8, 0, tzinfo=UTC)

    with django_capture_on_commit_callbacks(execute=True):
        first = send_weekly_operating_reviews(monday)
        again = send_weekly_operating_reviews(monday + timedelta(hours=1))

    assert (first, again) == ({"sent": 2}, {"sent": 0})
    reviews = Notification.objects.filter(event_key__startswith="operating-review:")
    sales_review = reviews.get(recipient=sales.head).body
    implementation_review = reviews.get(recipient=world.head).body
    assert (
        "Lowest-rated handoffs:\n"
        "- Globex platform (Sales → Implementation, sent to Implementation): 3.0. "
        "Thin on promises."
    ) in sales_review
    assert (
        "Lowest-rated handoffs:\n"
        "- Globex platform (Sales → Implementation, received from Enterprise AEs): "
        "3.0. Thin on promises."
    ) in implementation_review
