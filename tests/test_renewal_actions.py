"""Renewal actions: planned from the term end, fired once, caught up after
downtime; the next term's renewal when a renewal is won; the ROI report.

The deal closes won on 31 January 2027 for 12 months, so its term ends on
30 January 2028: the renewal play is due on 2 October 2027 (T-120, until
T-90) and the owner's task on 1 November 2027 (T-90).
"""

import json
import threading
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.db import connection, transaction
from django.urls import reverse
from djmoney.money import Money

from bowtie import webhooks
from bowtie.models import (
    Deal,
    Delivery,
    JobHeartbeat,
    Notification,
    Pipeline,
    ProductUsage,
    Stage,
    Subscription,
    SupportTicket,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)
from bowtie.webhooks import event_id_for
from expansion import tasks
from expansion.models import RenewalAction
from expansion.renewal_actions import (
    build_roi_report,
    complete_renewal_action,
    fire_renewal_action,
    plan_for,
    renewal_book,
    sweep_renewal_actions,
)
from handoffs.closing import close_deal_won, save_deal_packet
from handoffs.deal_changes import DealChangeRefused, change_deal
from handoffs.services import ActionRefused
from partners.models import HealthScore
from tests.deal_fixtures import COMPLETE_PACKET, build_open_deal
from tests.factories import AccountFactory, PersonFactory

CLOSED_AT = datetime(2027, 1, 31, 10, 0, tzinfo=UTC)
PLAY_DAY = date(2027, 10, 2)
TASK_DAY = date(2027, 11, 1)
TERM_ENDS_ON = date(2028, 1, 30)


def at(day: date, hour: int = 0, minute: int = 30) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)


def close_won(deal, now) -> Deal:
    save_deal_packet(deal, COMPLETE_PACKET)
    return close_deal_won(deal, now=now).renewal


@pytest.fixture
def world(db):
    return build_open_deal()


@pytest.fixture
def renewal(world):
    return close_won(world.deal, CLOSED_AT)


def another_won_deal(world, name: str, closed_at: datetime) -> Deal:
    """A second customer of the same AE, closed at `closed_at`."""
    deal = Deal.objects.create(
        name=f"{name} platform",
        account=AccountFactory(name=name, owner=PersonFactory(role="am")),
        owner=world.ae,
        pipeline=world.deal.pipeline,
        stage=world.deal.stage,
        amount=Money(12_000, "EUR"),
        term_months=12,
    )
    return close_won(deal, closed_at)


def actions_of(renewal: Deal) -> list[tuple]:
    return list(
        RenewalAction.objects.filter(deal=renewal)
        .order_by("due_on")
        .values_list("kind", "due_on", "owner", "fired_at", "done_at")
    )


@pytest.mark.parametrize(
    ("term_ends_on", "play_on", "play_ends_on", "task_on"),
    [
        # Closed 31 January 2027: the term ends the day before 31 January.
        (date(2028, 1, 30), date(2027, 10, 2), date(2027, 11, 1), date(2027, 11, 1)),
        # Closed on 29 February 2028: the term ends on 27 February 2029.
        (date(2029, 2, 27), date(2028, 10, 30), date(2028, 11, 29), date(2028, 11, 29)),
        # Counting back over 29 February 2028, the play lands on 31 January.
        (date(2028, 5, 30), date(2028, 1, 31), date(2028, 3, 1), date(2028, 3, 1)),
        # The same term end a year on, over a 28-day February.
        (date(2029, 5, 30), date(2029, 1, 30), date(2029, 3, 1), date(2029, 3, 1)),
    ],
)
def test_plan_for_counts_days_back_from_the_term_end(
    term_ends_on, play_on, play_ends_on, task_on
):
    play, task = plan_for(term_ends_on)

    assert (play.kind, play.due_on, play.ends_on) == (
        "renewal_play",
        play_on,
        play_ends_on,
    )
    assert (task.kind, task.due_on, task.ends_on) == (
        "owner_task",
        task_on,
        term_ends_on,
    )


def test_the_sweep_plans_a_new_renewal_s_two_actions_for_its_owner(renewal):
    counts = sweep_renewal_actions(CLOSED_AT + timedelta(minutes=5))

    assert renewal.expected_close_on == TERM_ENDS_ON
    assert counts == {"planned": 2, "moved": 0, "fired": 0, "skipped": 0}
    assert actions_of(renewal) == [
        ("renewal_play", PLAY_DAY, renewal.owner.pk, None, None),
        ("owner_task", TASK_DAY, renewal.owner.pk, None, None),
    ]
    assert renewal.owner == renewal.account.owner


def test_each_action_fires_once_from_the_first_hour_of_its_day(renewal):
    sweep_renewal_actions(CLOSED_AT)
    eve = sweep_renewal_actions(at(PLAY_DAY - timedelta(days=1), 23, 59))

    play_day = sweep_renewal_actions(at(PLAY_DAY))
    again = sweep_renewal_actions(at(PLAY_DAY, 1))
    task_day = sweep_renewal_actions(at(TASK_DAY))

    assert eve["fired"] == 0
    assert (play_day["fired"], again["fired"], task_day["fired"]) == (1, 0, 1)
    assert actions_of(renewal) == [
        ("renewal_play", PLAY_DAY, renewal.owner.pk, at(PLAY_DAY), None),
        ("owner_task", TASK_DAY, renewal.owner.pk, at(TASK_DAY), None),
    ]
    notices = list(
        Notification.objects.order_by("created_at").values_list(
            "recipient", "subject", "url"
        )
    )
    # The close's notice to implementation comes first.
    assert notices[1:] == [
        (
            renewal.owner.pk,
            "Renewal play: Renewal: Globex platform",
            f"/renewals/{renewal.pk}/roi-report/",
        ),
        (
            renewal.owner.pk,
            "Renewal in 90 days: Renewal: Globex platform",
            f"/renewals/#renewal-{renewal.pk}",
        ),
    ]
    play_notice = Notification.objects.get(subject__startswith="Renewal play")
    assert play_notice.body == (
        "The term ends on 30 Jan 2028. Take the customer's ROI report to them "
        "before 01 Nov 2027. 1 goal from the sale. No health score yet."
    )


def test_the_owner_is_e_mailed_through_the_outbox_after_the_commit(
    renewal, mailoutbox, django_capture_on_commit_callbacks
):
    sweep_renewal_actions(CLOSED_AT)

    with django_capture_on_commit_callbacks(execute=True):
        sweep_renewal_actions(at(PLAY_DAY))

    assert [(mail.to, mail.subject) for mail in mailoutbox] == [
        ([renewal.owner.email], "Renewal play: Renewal: Globex platform")
    ]
    delivery = Delivery.objects.get(notification__subject__startswith="Renewal")
    assert (delivery.channel, delivery.status) == ("email", "sent")


def test_a_sweep_after_downtime_fires_every_overdue_action_once(world, renewal):
    churned = another_won_deal(world, "Initech", CLOSED_AT)
    later = another_won_deal(world, "Umbrella", CLOSED_AT + timedelta(days=30))
    sweep_renewal_actions(CLOSED_AT + timedelta(days=30))
    lost = churned.pipeline.stages.get(outcome=Stage.Outcome.LOST)
    change_deal(churned, {"stage": lost.pk}, source="api", now=at(date(2027, 9, 1), 9))

    # Down from 20 September to 15 November 2027.
    counts = sweep_renewal_actions(at(date(2027, 11, 15), 9))
    again = sweep_renewal_actions(at(date(2027, 11, 15), 10))

    assert counts == {"planned": 0, "moved": 0, "fired": 3, "skipped": 0}
    assert again["fired"] == 0
    fired = RenewalAction.objects.filter(fired_at__isnull=False)
    assert sorted(fired.values_list("deal__account__name", "kind")) == [
        ("Globex", "owner_task"),
        ("Globex", "renewal_play"),
        # Umbrella's term ends on 1 March 2028: T-120 was 2 November.
        ("Umbrella", "renewal_play"),
    ]
    assert later.expected_close_on == date(2028, 3, 1)
    assert not RenewalAction.objects.filter(deal=churned, fired_at__isnull=False)
    renewal_notices = Notification.objects.filter(subject__startswith="Renewal")
    assert renewal_notices.count() == 3
    assert not renewal_notices.filter(subject__contains="Initech").exists()
    # Fired late, the task says the days really left.
    assert renewal_notices.filter(
        subject="Renewal in 76 days: Renewal: Globex platform"
    ).exists()


def test_historical_renewals_are_outside_the_book_and_get_no_actions(renewal):
    Deal.objects.filter(pk=renewal.pk).update(is_historical=True)

    counts = sweep_renewal_actions(at(TASK_DAY))

    assert renewal_book().count() == 0
    assert counts == {"planned": 0, "moved": 0, "fired": 0, "skipped": 0}
    assert RenewalAction.objects.count() == 0


def test_an_unfired_action_follows_its_renewal_s_term_end_and_owner(renewal):
    sweep_renewal_actions(at(PLAY_DAY))
    successor = PersonFactory(role="am")
    Deal.objects.filter(pk=renewal.pk).update(
        expected_close_on=date(2028, 2, 29), owner=successor
    )

    counts = sweep_renewal_actions(at(PLAY_DAY, 2))

    assert counts == {"planned": 0, "moved": 1, "fired": 0, "skipped": 0}
    # The play fired and stays as it was; the task moves to T-90 of 29 Feb.
    assert actions_of(renewal) == [
        ("renewal_play", PLAY_DAY, renewal.owner.pk, at(PLAY_DAY), None),
        ("owner_task", date(2027, 12, 1), successor.pk, None, None),
    ]


def test_a_second_fire_of_the_same_action_is_skipped(renewal):
    sweep_renewal_actions(CLOSED_AT)
    play = RenewalAction.objects.get(kind="renewal_play")

    first = fire_renewal_action(play.pk, PLAY_DAY, at(PLAY_DAY))
    second = fire_renewal_action(play.pk, PLAY_DAY, at(PLAY_DAY, 1))
    early = fire_renewal_action(
        RenewalAction.objects.get(kind="owner_task").pk, PLAY_DAY, at(PLAY_DAY)
    )

    assert (first, second, early) == ("fired", "skipped", "skipped")
    assert Notification.objects.filter(subject__startswith="Renewal").count() == 1


@pytest.mark.django_db(transaction=True)
def test_an_action_another_sweep_holds_is_skipped_then_fired(transactional_db):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL's row locks")
    renewal = close_won(build_open_deal().deal, CLOSED_AT)
    sweep_renewal_actions(CLOSED_AT)
    play = RenewalAction.objects.get(deal=renewal, kind="renewal_play")
    locked, release = threading.Event(), threading.Event()

    def hold():
        try:
            with transaction.atomic():
                RenewalAction.objects.select_for_update().get(pk=play.pk)
                locked.set()
                release.wait(10)
        finally:
            connection.close()

    holder = threading.Thread(target=hold)
    holder.start()
    locked.wait(10)
    while_held = sweep_renewal_actions(at(PLAY_DAY))
    release.set()
    holder.join()
    after = sweep_renewal_actions(at(PLAY_DAY, 1))

    assert (while_held["skipped"], while_held["fired"]) == (1, 0)
    assert (after["skipped"], after["fired"]) == (0, 1)
    assert Notification.objects.filter(subject__startswith="Renewal play").count() == 1


def test_an_action_done_before_its_day_never_fires(renewal):
    sweep_renewal_actions(CLOSED_AT)
    task = RenewalAction.objects.get(kind="owner_task")
    stranger = PersonFactory(role="am")

    with pytest.raises(ActionRefused, match="Only the renewal's owner"):
        complete_renewal_action(task, stranger, now=at(PLAY_DAY))
    complete_renewal_action(task, renewal.owner, now=at(PLAY_DAY))
    counts = sweep_renewal_actions(at(TASK_DAY))

    # Only the play, whose day it is too, fires.
    assert counts["fired"] == 1
    task.refresh_from_db()
    assert (task.done_at, task.fired_at) == (at(PLAY_DAY), None)


def test_the_owner_task_firing_tells_the_crms_once_that_the_renewal_is_due(
    renewal, monkeypatch, django_capture_on_commit_callbacks
):
    WebhookEndpoint.objects.create(
        name="CRM", url="https://crm.example/hooks", event_types=["renewal.due"]
    )
    queued = []
    monkeypatch.setattr(webhooks, "enqueue", queued.extend)
    sweep_renewal_actions(at(PLAY_DAY))

    with django_capture_on_commit_callbacks(execute=True):
        sweep_renewal_actions(at(TASK_DAY))
        # Inside the sweep's transactions only: nothing is queued before commit.
        waiting = list(queued)
    sweep_renewal_actions(at(TASK_DAY, 5))
    fire_renewal_action(
        RenewalAction.objects.get(kind="owner_task").pk, TASK_DAY, at(TASK_DAY, 6)
    )

    [event] = WebhookEvent.objects.filter(type="renewal.due")
    assert event.pk == event_id_for("renewal.due", f"renewal:{renewal.pk}")
    assert event.occurred_at == at(TASK_DAY)
    data = json.loads(event.body)["data"]
    assert (data["renewal"]["id"], data["renews_id"]) == (renewal.pk, renewal.renews_id)
    assert (data["due_on"], data["term_ends_on"]) == ("2027-11-01", "2028-01-30")
    assert data["owner"] == {
        "id": renewal.owner.pk,
        "name": renewal.owner.full_name,
        "email": renewal.owner.email,
    }
    delivery = WebhookDelivery.objects.get(event=event)
    assert waiting == []
    assert queued == [(delivery.pk, at(TASK_DAY))]


def test_a_renewal_settled_before_t90_sends_no_renewal_due(renewal):
    WebhookEndpoint.objects.create(
        name="CRM", url="https://crm.example/hooks", event_types=["renewal.due"]
    )
    sweep_renewal_actions(CLOSED_AT)
    task = RenewalAction.objects.get(kind="owner_task")
    complete_renewal_action(task, renewal.owner, now=at(PLAY_DAY))

    sweep_renewal_actions(at(TASK_DAY))

    assert not WebhookEvent.objects.filter(type="renewal.due").exists()


def test_a_renewal_won_opens_the_next_term_s_renewal_once(renewal):
    renewed = renewal.pipeline.stages.get(outcome=Stage.Outcome.WON)
    sweep_renewal_actions(CLOSED_AT)

    # Signed early, on 15 December 2027: the next term still starts on
    # 31 January 2028, the day after the renewed one ends.
    won = change_deal(
        renewal, {"stage": renewed.pk}, source="api", now=at(date(2027, 12, 15), 9)
    )
    repeated = change_deal(
        renewal, {"stage": renewed.pk}, source="api", now=at(date(2027, 12, 16), 9)
    )
    counts = sweep_renewal_actions(at(TASK_DAY + timedelta(days=60)))

    following = won.next_renewal
    assert (following.renews, following.name) == (renewal, "Renewal: Globex platform")
    assert following.expected_close_on == date(2029, 1, 30)
    assert (following.amount, following.owner) == (renewal.amount, renewal.owner)
    assert following.pipeline.kind == "renewals"
    assert following.stage.outcome == "open"
    assert repeated.next_renewal is None
    assert Deal.objects.filter(pipeline__kind="renewals").count() == 2
    # The won renewal's task never fires; the next term's are planned.
    assert counts == {"planned": 2, "moved": 0, "fired": 0, "skipped": 0}
    assert actions_of(following) == [
        ("renewal_play", date(2028, 10, 2), renewal.owner.pk, None, None),
        ("owner_task", date(2028, 11, 1), renewal.owner.pk, None, None),
    ]


def test_a_leap_day_renewal_won_renews_on_the_last_day_of_february(world):
    renewal = close_won(world.deal, datetime(2028, 2, 29, 10, 0, tzinfo=UTC))
    renewed = renewal.pipeline.stages.get(outcome=Stage.Outcome.WON)

    following = change_deal(
        renewal, {"stage": renewed.pk}, source="api", now=at(date(2029, 2, 1), 9)
    ).next_renewal

    assert renewal.expected_close_on == date(2029, 2, 27)
    # The next term starts on 28 February 2029, a month's last day, so it
    # renews on the last day of February 2030.
    assert following.expected_close_on == date(2030, 2, 27)


def test_a_renewal_without_a_term_end_is_not_won(renewal):
    Deal.objects.filter(pk=renewal.pk).update(expected_close_on=None)
    renewed = renewal.pipeline.stages.get(outcome=Stage.Outcome.WON)

    with pytest.raises(DealChangeRefused) as refused:
        change_deal(renewal, {"stage": renewed.pk}, source="api", now=at(TASK_DAY))

    assert refused.value.errors == {
        "stage": ["Give the renewal the day its term ends (expected close) first."]
    }
    renewal.refresh_from_db()
    assert renewal.stage.outcome == "open"
    assert Deal.objects.filter(pipeline__kind="renewals").count() == 1


def test_the_admin_opens_the_next_term_when_a_renewal_is_won(admin_client, renewal):
    renewed = renewal.pipeline.stages.get(outcome=Stage.Outcome.WON)
    url = reverse("admin:bowtie_deal_change", args=[renewal.pk])
    data = {
        "name": renewal.name,
        "account": renewal.account.pk,
        "owner": renewal.owner.pk,
        "pipeline": renewal.pipeline.pk,
        "stage": renewed.pk,
        "amount_0": "24000",
        "amount_1": "EUR",
        "term_months": 12,
        "renews": renewal.renews.pk,
        "packet": "{}",
        "packet_completeness": 0,
    }

    refused = admin_client.post(url, data)
    data["expected_close_on"] = "2028-01-30"
    accepted = admin_client.post(url, data)

    assert refused.context["adminform"].form.errors == {
        "expected_close_on": ["Give the day the renewed term ends."]
    }
    assert accepted.status_code == 302
    following = Deal.objects.get(renews=renewal)
    assert following.expected_close_on == date(2029, 1, 30)


@pytest.fixture
def customer_record(renewal):
    """What Bowtie knows of Globex in its first term."""
    account = renewal.account
    for scored_on, score in [(date(2027, 6, 15), "60.0"), (date(2027, 10, 1), "72.5")]:
        HealthScore.objects.create(
            account=account,
            scored_on=scored_on,
            score=Decimal(score),
            computed_at=at(scored_on),
        )
    usage = [
        (date(2027, 9, 1), "feature_a", 5, 1),
        (date(2027, 9, 1), "feature_b", 0, 0),
        (date(2027, 6, 10), "feature_a", 3, 0),
        # Before the term: left out.
        (date(2026, 12, 1), "feature_c", 9, 0),
    ]
    for number, (used_on, feature, uses, errors) in enumerate(usage):
        ProductUsage.objects.create(
            account=account,
            source="ravenstack",
            external_id=f"U-{number}",
            used_on=used_on,
            feature=feature,
            usage_count=uses,
            error_count=errors,
        )
    tickets = [
        (date(2027, 3, 1), True, 4, "10.0"),
        (date(2027, 8, 1), False, None, "20.0"),
        (date(2026, 11, 1), True, 1, "90.0"),
    ]
    for number, (submitted_on, escalated, rating, hours) in enumerate(tickets):
        SupportTicket.objects.create(
            account=account,
            source="ravenstack",
            external_id=f"T-{number}",
            submitted_on=submitted_on,
            is_escalated=escalated,
            satisfaction=rating,
            resolution_hours=Decimal(hours),
        )
    subscriptions = [
        ("S-1", date(2027, 2, 1), None, "Pro", 20, "500.00", False, True),
        ("S-2", date(2027, 5, 1), None, "Basic", 5, "0", True, False),
        ("S-3", date(2027, 2, 1), date(2027, 6, 1), "Basic", 3, "90", False, False),
    ]
    for external_id, started, ended, tier, seats, monthly, trial, auto in subscriptions:
        Subscription.objects.create(
            account=account,
            source="ravenstack",
            external_id=external_id,
            started_on=started,
            ended_on=ended,
            plan_tier=tier,
            seats=seats,
            monthly_amount=Decimal(monthly),
            is_trial=trial,
            renews_automatically=auto,
        )
    return renewal


def test_the_roi_report_sets_the_goals_beside_what_is_known(customer_record):
    report = build_roi_report(customer_record, PLAY_DAY)

    assert (report.term_starts_on, report.term_ends_on) == (
        date(2027, 1, 31),
        TERM_ENDS_ON,
    )
    assert report.origin == customer_record.renews
    assert report.sections == [
        (
            "Goals at signature",
            [
                "Time to quote from 5 days to 1 day by 2027-06-30 (due 30 Jun 2027, "
                "passed: ask the customer how it went)."
            ],
        ),
        (
            "Health",
            ["Health 72.5 of 100 on 01 Oct 2027.", "+12.5 since 15 Jun 2027 (60.0)."],
        ),
        (
            "Usage",
            [
                "2 days with use in this term, 1 in the last 90 days.",
                "1 feature used, 8 uses, 1 error.",
                "Last used on 01 Sep 2027.",
            ],
        ),
        (
            "Subscriptions",
            [
                "1 paid subscription open (Pro), 20 seats, USD 500.00 a month.",
                "1 of 1 renew automatically.",
            ],
        ),
        (
            "Support",
            [
                "2 tickets in this term, 1 escalated.",
                "Satisfaction 4.0 of 5 over 1 rated ticket.",
                "Median resolution 15.0 h.",
            ],
        ),
    ]
    assert report.credits == [
        "Usage data: RavenStack synthetic SaaS data by River @ Rivalytics."
    ]


def test_the_owner_opens_the_roi_report_and_exports_it_as_pdf(client, customer_record):
    url = reverse("renewal-roi-report", args=[customer_record.pk])
    stranger = PersonFactory(role="am")

    with time_machine.travel(at(PLAY_DAY, 9), tick=False):
        client.force_login(stranger.user)
        hidden = client.get(url)
        client.force_login(customer_record.owner.user)
        page = client.get(url)
        pdf = client.get(url, {"format": "pdf"})

    assert hidden.status_code == 404
    assert page.status_code == 200
    text = page.content.decode()
    assert "ROI report: Globex" in text
    assert "Health 72.5 of 100 on 01 Oct 2027." in text
    assert "River @ Rivalytics" in text
    assert pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")


def test_the_renewal_book_lists_a_person_s_open_renewals_in_few_queries(
    client, world, renewal, django_assert_num_queries
):
    # Closed a day apart, later first: the book is in order of term end.
    for days, name in enumerate(["Initech", "Umbrella", "Hooli"]):
        other = another_won_deal(world, name, CLOSED_AT - timedelta(days=days))
        Deal.objects.filter(pk=other.pk).update(owner=renewal.owner)
    Deal.objects.filter(pk=renewal.pk).update(is_historical=True)
    sweep_renewal_actions(CLOSED_AT)

    with time_machine.travel(at(PLAY_DAY, 9), tick=False):
        client.force_login(renewal.owner.user)
        with django_assert_num_queries(7):
            page = client.get(reverse("renewal-book"))

    assert page.status_code == 200
    rows = page.context["rows"]
    assert [row["renewal"].account.name for row in rows] == [
        "Hooli",
        "Umbrella",
        "Initech",
    ]
    assert [item["due_on"] for item in rows[2]["actions"]] == [PLAY_DAY, TASK_DAY]
    assert "Renewal: Globex platform" not in page.content.decode()


def test_the_sweep_task_records_its_heartbeat(renewal):
    with time_machine.travel(at(PLAY_DAY), tick=False):
        tasks.sweep_renewal_actions()

    beat = JobHeartbeat.objects.get(name="sweep-renewal-actions")
    assert (beat.run_count, beat.last_error) == (1, "")
    assert beat.last_result == str({"planned": 2, "moved": 0, "fired": 1, "skipped": 0})
    assert beat.expected_every_seconds == 3600


def test_renewal_book_keeps_open_live_renewals_only(world, renewal):
    closed = another_won_deal(world, "Initech", CLOSED_AT)
    Deal.objects.filter(pk=closed.pk).update(
        stage=closed.pipeline.stages.get(outcome=Stage.Outcome.LOST)
    )
    Deal.objects.create(
        name="Renewal typed in by hand",
        pipeline=Pipeline.objects.get(kind="renewals"),
        stage=Stage.objects.get(pipeline__kind="renewals", name="Upcoming"),
    )

    assert list(renewal_book()) == [renewal]


def test_an_action_of_a_renewal_one_cannot_open_answers_404(client, renewal):
    action = RenewalAction.objects.create(
        deal=renewal, kind=RenewalAction.Kind.OWNER_TASK, due_on=date(2027, 11, 1)
    )
    client.force_login(PersonFactory(role="ae").user)

    answer = client.post(reverse("renewal-action-done", args=[action.pk]))

    assert answer.status_code == 404
    assert RenewalAction.objects.get(pk=action.pk).done_at is None
