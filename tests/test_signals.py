"""Expansion signals: raised once per open kind, dismissed with a reason, and
the rules over usage, on made-up rows and on the RavenStack files."""

import io
import threading
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection, connections
from django.urls import reverse

from bowtie.models import JobHeartbeat, Notification, ProductUsage, Subscription
from bowtie.usage_import import DEFAULT_FOLDER_NAME
from expansion import rules, services
from expansion.models import Signal, SignalKind, SignalRule
from expansion.rules import (
    AccountFacts,
    SubscriptionFact,
    UsageFact,
    check_actives_rising,
    check_budget_cycle,
    check_feature_adoption,
    check_headcount_growth,
    check_seats_nearly_full,
    evaluate_signal_rules,
    next_anniversary,
)
from expansion.services import NotAllowed, SignalRefused, dismiss_signal, raise_signal
from expansion.tasks import evaluate_signal_rules as evaluate_task
from tests.factories import AccountFactory, PersonFactory

NOW = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
ON = date(2025, 3, 2)
EIGHTY = Decimal(80)


def subscription(pk, seats, started_on=date(2024, 1, 1), **values):
    return SubscriptionFact(
        pk=pk,
        started_on=started_on,
        ended_on=values.get("ended_on"),
        seats=seats,
        is_trial=values.get("is_trial", False),
        was_upgraded=values.get("was_upgraded", False),
        billing_frequency=values.get("billing_frequency", "monthly"),
    )


def use(subscription_id, used_on, feature="feature_1"):
    return UsageFact(subscription_id, used_on, feature)


# The rules, as pure functions


def test_seats_rule_fires_at_exactly_the_threshold():
    facts = AccountFacts(
        subscriptions=[subscription(1, 8), subscription(2, 2)],
        usage=[use(1, ON)],
    )

    hit = check_seats_nearly_full(facts, ON, EIGHTY, 30)
    below = check_seats_nearly_full(facts, ON, Decimal("80.1"), 30)

    assert hit.kind == SignalKind.SEATS_NEARLY_FULL
    assert hit.details["seats_in_use"] == 8
    assert hit.details["seats"] == 10
    assert hit.details["percent"] == "80.0"
    assert hit.evidence == (
        "8 of 10 paid seats (80.0 %) are on subscriptions used in the 30 days to "
        "02 Mar 2025."
    )
    assert below is None


def test_seats_rule_counts_neither_trials_nor_ended_nor_old_use():
    facts = AccountFacts(
        subscriptions=[
            subscription(1, 8),
            subscription(2, 50, is_trial=True),
            subscription(3, 40, ended_on=ON),
            subscription(4, 2),
        ],
        # Subscription 4's use is 30 days old: just outside the window.
        usage=[use(1, ON - timedelta(days=29)), use(4, ON - timedelta(days=30))],
    )

    hit = check_seats_nearly_full(facts, ON, EIGHTY, 30)

    assert (hit.details["seats_in_use"], hit.details["seats"]) == (8, 10)


def test_seats_rule_needs_paid_seats():
    facts = AccountFacts(subscriptions=[subscription(1, 5, is_trial=True)])

    assert check_seats_nearly_full(facts, ON, EIGHTY, 30) is None


def test_feature_rule_names_the_features_new_since_the_window_before():
    before = ON - timedelta(days=40)
    facts = AccountFacts(
        usage=[
            use(1, before, "feature_1"),
            use(1, ON, "feature_1"),
            use(1, ON, "feature_7"),
            use(1, ON - timedelta(days=3), "feature_3"),
        ]
    )

    hit = check_feature_adoption(facts, ON, Decimal(1), 30)
    two = check_feature_adoption(facts, ON, Decimal(2), 30)
    three = check_feature_adoption(facts, ON, Decimal(3), 30)

    assert hit.details["new_features"] == ["feature_3", "feature_7"]
    assert hit.details["features_before"] == ["feature_1"]
    assert two is not None
    assert three is None


def test_actives_rule_needs_a_rise_of_the_threshold_over_active_days_before():
    window_days = [ON - timedelta(days=n) for n in range(6)]
    before_days = [ON - timedelta(days=31 + n) for n in range(5)]
    facts = AccountFacts(usage=[use(1, day) for day in window_days + before_days])

    hit = check_actives_rising(facts, ON, Decimal(20), 30)
    higher = check_actives_rising(facts, ON, Decimal("20.1"), 30)

    assert hit.details["active_day_count"] == 6
    assert hit.details["active_day_count_before"] == 5
    assert hit.details["rise_percent"] == "20.0"
    assert higher is None


def test_actives_rule_sees_no_rise_from_nothing():
    facts = AccountFacts(usage=[use(1, ON), use(1, ON - timedelta(days=1))])

    assert check_actives_rising(facts, ON, Decimal(20), 30) is None


def test_headcount_rule_fires_on_seat_growth_or_an_upgrade():
    start = ON - timedelta(days=30)
    grown = AccountFacts(
        subscriptions=[subscription(1, 20), subscription(2, 2, started_on=ON)]
    )
    upgraded = AccountFacts(
        subscriptions=[
            subscription(1, 20),
            subscription(2, 1, started_on=start + timedelta(days=1), was_upgraded=True),
        ]
    )
    flat = AccountFacts(subscriptions=[subscription(1, 20)])

    growth = check_headcount_growth(grown, ON, Decimal(10), 30)
    upgrade = check_headcount_growth(upgraded, ON, Decimal(10), 30)
    too_little = check_headcount_growth(grown, ON, Decimal("10.1"), 30)

    assert (growth.details["seats_before"], growth.details["seats"]) == (20, 22)
    assert growth.evidence == (
        "In the 30 days to 02 Mar 2025: paid seats rose from 20 to 22 (+10.0 %)."
    )
    assert upgrade.details["upgraded_subscription_ids"] == [2]
    assert too_little is None
    assert check_headcount_growth(flat, ON, Decimal(10), 30) is None


def test_budget_cycle_rule_counts_annual_renewals_ahead():
    facts = AccountFacts(
        subscriptions=[
            subscription(
                1, 5, started_on=date(2024, 5, 31), billing_frequency="annual"
            ),
            subscription(2, 5, started_on=date(2023, 6, 2), billing_frequency="annual"),
            subscription(3, 5, started_on=date(2024, 4, 1)),
        ]
    )

    hit = check_budget_cycle(facts, ON, Decimal(1), 90)
    both = check_budget_cycle(facts, ON, Decimal(1), 92)

    # 31 May renews on 31 May; 2 June falls after the 90 days (31 May).
    assert hit.details["renews_on"] == ["2025-05-31"]
    assert both.details["renews_on"] == ["2025-05-31", "2025-06-02"]


def test_anniversaries_follow_the_month_end_rule():
    assert next_anniversary(date(2023, 2, 28), date(2024, 1, 1)) == date(2024, 2, 29)
    assert next_anniversary(date(2024, 2, 29), date(2024, 12, 31)) == date(2025, 2, 28)
    assert next_anniversary(date(2022, 6, 1), date(2024, 12, 31)) == date(2025, 6, 1)


# Raising and dismissing


@pytest.fixture
def csm(db):
    return PersonFactory(full_name="Cleo CSM", role="csm")


@pytest.fixture
def account(db):
    owner = PersonFactory(full_name="Ann Owner", role="am")
    return AccountFactory(name="Initech", owner=owner)


def test_a_signal_is_raised_and_its_account_owner_told(account, csm):
    signal = raise_signal(
        account,
        SignalKind.CHAMPION_PROMOTED,
        Signal.Source.CSM,
        csm,
        evidence="  Our champion is now VP Operations.  ",
        now=NOW,
    )

    assert signal.is_repeat is False
    assert (signal.status, signal.raised_by, signal.raised_at) == ("open", csm, NOW)
    assert signal.evidence == "Our champion is now VP Operations."
    notice = Notification.objects.get()
    assert notice.recipient == account.owner
    assert notice.event_key == f"signal:{signal.pk}:raised"
    assert notice.subject == (
        "Expansion signal at Initech: Relationship: champion promoted"
    )
    assert notice.url == f"/accounts/{account.pk}/#signals"


def test_an_open_signal_of_the_same_kind_is_not_raised_twice(account, csm):
    first = raise_signal(
        account, SignalKind.POSITIVE_NPS, "csm", csm, evidence="NPS 9", now=NOW
    )

    again = raise_signal(account, SignalKind.POSITIVE_NPS, "api", None, now=NOW)
    other_kind = raise_signal(account, SignalKind.NEW_USE_CASES, "api", None, now=NOW)

    assert again.pk == first.pk
    assert again.is_repeat is True
    assert again.evidence == "NPS 9"
    assert other_kind.is_repeat is False
    assert Signal.objects.count() == 2
    assert Notification.objects.count() == 2


def test_the_unique_index_settles_a_raise_that_lost_the_race(account, csm, monkeypatch):
    winner = Signal.objects.create(
        account=account,
        kind=SignalKind.ROI_EXCEEDED,
        source="api",
        raised_at=NOW,
    )
    # This raise read before the other committed: it saw nothing open.
    first_read = True

    def read_once(account_id, kind):
        nonlocal first_read
        if first_read:
            first_read = False
            return None
        return Signal.objects.get(pk=winner.pk)

    monkeypatch.setattr(services, "find_open_signal", read_once)

    signal = raise_signal(account, SignalKind.ROI_EXCEEDED, "api", None, now=NOW)

    assert (signal.pk, signal.is_repeat) == (winner.pk, True)
    assert Signal.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_raises_at_once_make_one_signal():
    if connection.vendor != "postgresql":
        pytest.skip("SQLite runs one writer at a time: there is no race to lose.")
    account = AccountFactory(name="Racing Ltd")
    barrier = threading.Barrier(2)
    answers = []

    def raise_it():
        try:
            barrier.wait()
            answers.append(
                raise_signal(account, SignalKind.NEW_STAKEHOLDER, "api", None).is_repeat
            )
        finally:
            connections.close_all()

    threads = [threading.Thread(target=raise_it) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(answers) == [False, True]
    assert Signal.objects.filter(account=account).count() == 1


def test_an_unknown_kind_is_refused_by_field_and_nothing_stored(account, csm):
    with pytest.raises(SignalRefused) as refused:
        raise_signal(account, "usage.vibes", "csm", csm, evidence="", details=[])

    assert refused.value.errors == {
        "kind": [
            "Unknown kind 'usage.vibes'; use one of "
            + ", ".join(SignalKind.values)
            + "."
        ],
        "evidence": ["Say what you saw: the expansion owner reads it."],
        "details": ["Give the details as an object of named figures."],
    }
    assert Signal.objects.count() == 0


def test_only_customer_success_and_account_managers_flag_signals(account):
    ae = PersonFactory(role="ae")

    with pytest.raises(NotAllowed):
        raise_signal(account, SignalKind.POSITIVE_NPS, "csm", ae, evidence="NPS 10")

    assert Signal.objects.count() == 0


def test_a_signal_flagged_by_its_account_owner_tells_nobody(account):
    signal = raise_signal(
        account, SignalKind.POSITIVE_NPS, "csm", account.owner, evidence="NPS 10"
    )

    assert signal.is_repeat is False
    assert Notification.objects.count() == 0


def test_a_dismissed_signal_keeps_its_reason_and_frees_its_kind(account, csm):
    signal = raise_signal(account, SignalKind.POSITIVE_NPS, "api", None, now=NOW)

    dismissed = dismiss_signal(signal, csm, "  One happy user only.  ", now=NOW)
    again = raise_signal(account, SignalKind.POSITIVE_NPS, "api", None, now=NOW)

    assert dismissed.status == "dismissed"
    assert dismissed.dismissed_reason == "One happy user only."
    assert dismissed.closed_at == NOW
    assert again.is_repeat is False
    assert again.pk != signal.pk


def test_dismissing_needs_a_reason_and_an_open_signal(account, csm):
    signal = raise_signal(account, SignalKind.POSITIVE_NPS, "api", None, now=NOW)
    dismiss_signal(signal, csm, "Not now.", now=NOW)

    with pytest.raises(SignalRefused) as no_reason:
        dismiss_signal(signal, csm, "  ")
    with pytest.raises(SignalRefused) as closed:
        dismiss_signal(signal, csm, "Twice.")

    assert no_reason.value.errors == {"reason": ["Say why the signal is dismissed."]}
    assert closed.value.errors == {"non_field_errors": ["This signal is dismissed."]}


# The rules over stored rows


def add_subscription(account, external_id, seats, started_on, **values):
    return Subscription.objects.create(
        account=account,
        source="test",
        external_id=external_id,
        started_on=started_on,
        seats=seats,
        **values,
    )


def add_use(account, subscription, *days, feature="feature_1"):
    for number, used_on in enumerate(days):
        ProductUsage.objects.create(
            account=account,
            subscription=subscription,
            source="test",
            external_id=f"{subscription.external_id}-{feature}-{number}",
            used_on=used_on,
            feature=feature,
            usage_count=2,
        )


@pytest.fixture
def busy_account(account):
    """Seats 9 of 10 in use, two new features, active days up from 2 to 4."""
    big = add_subscription(account, "S-1", 9, date(2024, 6, 1))
    add_subscription(account, "S-2", 1, date(2024, 6, 1))
    add_use(account, big, ON - timedelta(days=40), ON - timedelta(days=45))
    add_use(
        account,
        big,
        *(ON - timedelta(days=n) for n in range(2)),
        feature="feature_2",
    )
    add_use(
        account,
        big,
        *(ON - timedelta(days=n) for n in range(2, 4)),
        feature="feature_3",
    )
    return account


def test_the_rules_raise_each_kind_once_and_a_second_run_nothing(busy_account):
    first = evaluate_signal_rules(ON, NOW)
    second = evaluate_signal_rules(ON, NOW)

    assert {
        kind: counts["raised"] for kind, counts in first.items() if counts["raised"]
    } == {
        SignalKind.SEATS_NEARLY_FULL: 1,
        SignalKind.FEATURE_ADOPTION: 1,
        SignalKind.ACTIVES_RISING: 1,
    }
    assert sum(counts["raised"] for counts in second.values()) == 0
    assert sum(counts["repeats"] for counts in second.values()) == 3
    signal = Signal.objects.get(kind=SignalKind.ACTIVES_RISING)
    assert (signal.source, signal.raised_by, signal.raised_at) == ("rule", None, NOW)
    assert signal.details == {
        "on": "2025-03-02",
        "threshold": "20.00",
        "window_days": 30,
        "active_day_count": 4,
        "active_day_count_before": 2,
        "rise_percent": "100.0",
    }
    # The account owner hears of each signal once.
    assert Notification.objects.filter(recipient=busy_account.owner).count() == 3


def test_a_signal_dismissed_within_its_window_is_not_raised_again(busy_account):
    evaluate_signal_rules(ON, NOW)
    seats = Signal.objects.get(kind=SignalKind.SEATS_NEARLY_FULL)
    dismiss_signal(seats, None, "They are consolidating teams.", now=NOW)

    held = evaluate_signal_rules(ON, NOW)
    # Dismissed 31 days before the day evaluated: outside the 30-day window.
    Signal.objects.filter(pk=seats.pk).update(closed_at=NOW - timedelta(days=32))
    later = evaluate_signal_rules(ON, NOW)

    assert held[SignalKind.SEATS_NEARLY_FULL] == {
        "raised": 0,
        "repeats": 0,
        "held_back": 1,
    }
    assert later[SignalKind.SEATS_NEARLY_FULL] == {
        "raised": 1,
        "repeats": 0,
        "held_back": 0,
    }


def test_a_rule_switched_off_raises_nothing(busy_account):
    SignalRule.objects.filter(kind=SignalKind.SEATS_NEARLY_FULL).update(is_active=False)

    counts = evaluate_signal_rules(ON, NOW)

    assert SignalKind.SEATS_NEARLY_FULL not in counts
    assert not Signal.objects.filter(kind=SignalKind.SEATS_NEARLY_FULL).exists()


def test_the_scheduled_job_evaluates_today_and_records_its_heartbeat(busy_account):
    with time_machine.travel(NOW, tick=False):
        counts = evaluate_task()

    beat = JobHeartbeat.objects.get(name="evaluate-signal-rules")
    assert counts[SignalKind.SEATS_NEARLY_FULL]["raised"] == 1
    assert beat.last_succeeded_at == NOW
    assert beat.expected_every_seconds == 6 * 3600
    assert Signal.objects.filter(details__on="2025-03-03").count() == 3


# The RavenStack files (RavenStack synthetic data by River @ Rivalytics).

RAVENSTACK_ON = date(2024, 12, 31)
# Worked out from the CSVs by a separate script (as-of 31 December 2024, the
# default rules: 80 % of paid seats on subscriptions used in 30 days, one new
# feature against the 30 days before, active days up 20 %, paid seats up 10 %
# or an upgrade in 30 days, an annual renewal in the 90 days after), not by
# this code.
RAVENSTACK_COUNTS = {
    SignalKind.SEATS_NEARLY_FULL: 4,
    SignalKind.FEATURE_ADOPTION: 423,
    SignalKind.ACTIVES_RISING: 139,
    SignalKind.HEADCOUNT_GROWTH: 223,
    SignalKind.NEW_BUDGET_CYCLE: 131,
}


@pytest.mark.sample_data
def test_ravenstack_usage_raises_the_expected_signals_once(sample_data, db):
    call_command(
        "import_usage", str(sample_data / DEFAULT_FOLDER_NAME), stdout=io.StringIO()
    )

    first = evaluate_signal_rules(RAVENSTACK_ON, NOW)
    second = evaluate_signal_rules(RAVENSTACK_ON, NOW)

    assert {kind: counts["raised"] for kind, counts in first.items()} == (
        RAVENSTACK_COUNTS
    )
    assert {kind: counts["repeats"] for kind, counts in second.items()} == (
        RAVENSTACK_COUNTS
    )
    assert Signal.objects.count() == 920
    assert Signal.objects.values("account").distinct().count() == 469
    seats = Signal.objects.filter(kind=SignalKind.SEATS_NEARLY_FULL)
    assert sorted(seats.values_list("account__name", flat=True)) == [
        "Company_157",
        "Company_196",
        "Company_201",
        "Company_253",
    ]
    assert seats.get(account__name="Company_157").details["seats_in_use"] == 350
    assert seats.get(account__name="Company_157").details["seats"] == 420
    company_12 = Signal.objects.filter(account__name="Company_12")
    assert sorted(company_12.values_list("kind", flat=True)) == [
        "commercial.new_budget_cycle",
        "usage.actives_rising",
        "usage.feature_adoption",
    ]
    actives = company_12.get(kind=SignalKind.ACTIVES_RISING)
    assert (
        actives.details["active_day_count"],
        actives.details["active_day_count_before"],
    ) == (6, 1)


# Pages


def test_the_signals_page_filters_by_category_in_six_queries(
    client, account, csm, django_assert_num_queries
):
    for kind in (SignalKind.POSITIVE_NPS, SignalKind.SEATS_NEARLY_FULL):
        raise_signal(account, kind, "api", None, evidence=f"Seen: {kind}", now=NOW)
    client.force_login(csm.user)
    url = reverse("signal-list")

    # Session, user, person; the counts by kind; the rows; the unread badge.
    with django_assert_num_queries(6):
        page = client.get(url, {"category": "usage"})
    export = client.get(url, {"category": "relationship", "format": "csv"})

    assert page.status_code == 200
    rows = page.context["signals"]
    assert [signal.kind for signal in rows] == [SignalKind.SEATS_NEARLY_FULL]
    assert "<svg" in page.content.decode()
    lines = export.content.decode().strip().splitlines()
    assert len(lines) == 2
    assert lines[1].split(",")[1:6] == [
        "Initech",
        "relationship.positive_nps",
        "relationship",
        "api",
        "open",
    ]


def test_a_csm_flags_a_signal_on_the_account_page_once(client, account, csm):
    client.force_login(csm.user)
    url = reverse("signal-flag", args=[account.pk])
    values = {"kind": SignalKind.NEW_BUDGET_CYCLE, "evidence": "FY starts in April."}

    first = client.post(url, values, follow=True)
    second = client.post(url, values, follow=True)
    refused = client.post(url, {"kind": "", "evidence": ""}, follow=True)

    signal = Signal.objects.get()
    assert (signal.source, signal.raised_by) == ("csm", csm)
    page = first.content.decode()
    assert "Signal flagged: Commercial: new budget cycle." in page
    assert "FY starts in April." in page
    assert "Turn into an expansion deal" in page
    assert "is open already" in second.content.decode()
    messages = [str(message) for message in refused.context["messages"]]
    assert messages == [
        "Signal: This field is required.",
        "What you saw: This field is required.",
    ]


def test_people_outside_customer_success_see_signals_without_forms(client, account):
    raise_signal(account, SignalKind.POSITIVE_NPS, "api", None, evidence="NPS 10")
    implementation_lead = PersonFactory(role="implementation")
    client.force_login(implementation_lead.user)

    page = client.get(reverse("account-detail", args=[account.pk])).content.decode()

    assert "Relationship: positive NPS" in page
    assert "Turn into an expansion deal" not in page
    assert "Flag a signal" not in page


def test_rules_leave_accounts_without_usage_alone(account):
    counts = evaluate_signal_rules(ON, NOW)

    assert rules.load_facts(ON, 60) == {}
    assert all(kind["raised"] == 0 for kind in counts.values())
