"""Closed Won: the packet gate names what is missing; the close happens once."""

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace

import pytest
from django.db import connection
from django.urls import reverse
from djmoney.money import Money

from bowtie.models import Deal, Notification, Pipeline, Stage
from handoffs.closing import (
    PacketIncomplete,
    close_deal_won,
    save_deal_packet,
)
from handoffs.models import Handoff, Milestone
from handoffs.packets import assess_packet
from tests.factories import AccountFactory, PersonFactory, TeamFactory

# 31 January: the renewal lands on a month end.
NOW = datetime(2027, 1, 31, 10, 0, tzinfo=UTC)

COMPLETE_PACKET = {
    "deal_history": "Inbound demo request, won on the migration plan.",
    "goals": [
        {
            "metric": "Time to quote",
            "baseline": "5 days",
            "target": "1 day",
            "by_when": "2027-06-30",
        }
    ],
    "stakeholders": [
        {"person": "Ada Lind", "role": "champion", "sentiment": "positive"},
        {"person": "Bo Ek", "role": "economic buyer", "sentiment": "neutral"},
    ],
    "commitments": [
        {
            "commitment": "SSO in the first month",
            "kind": "explicit",
            "owner": "Implementation",
            "due_on": "2027-02-28",
        }
    ],
    "risks": "IT prefers the incumbent.",
    "technical_requirements": [
        {"area": "integration", "requirement": "Salesforce sync"},
    ],
    "timeline": [{"event": "Board review", "on": "2027-03-15"}],
}


@pytest.fixture
def open_deal(db):
    sales = TeamFactory(name="Enterprise AEs")
    ae = PersonFactory(full_name="Alex AE", role="ae", team=sales)
    implementation = TeamFactory(name="Implementation", function="implementation")
    lead = PersonFactory(full_name="Ivy Impl", role="implementation")
    implementation.head = lead
    implementation.save()
    pipeline = Pipeline.objects.get(kind="new_business", is_default=True)
    deal = Deal.objects.create(
        name="Globex platform",
        account=AccountFactory(name="Globex", owner=PersonFactory(role="am")),
        owner=ae,
        pipeline=pipeline,
        stage=pipeline.stages.get(name="Engaging"),
        amount=Money(24_000, "EUR"),
        term_months=12,
    )
    return SimpleNamespace(deal=deal, ae=ae, implementation=implementation, head=lead)


def test_missing_items_are_named_part_by_part():
    items = [
        SimpleNamespace(
            key="history",
            section="Deal history",
            label="Origin",
            kind="text",
            parts=[],
            is_required=True,
        ),
        SimpleNamespace(
            key="goals",
            section="Goals",
            label="Goals",
            kind="rows",
            parts=[
                {"key": "metric", "label": "Metric"},
                {"key": "target", "label": "Target"},
            ],
            is_required=True,
        ),
        SimpleNamespace(
            key="notes",
            section="Notes",
            label="Notes",
            kind="text",
            parts=[],
            is_required=False,
        ),
        SimpleNamespace(
            key="timeline",
            section="Timeline",
            label="Events",
            kind="rows",
            parts=[{"key": "event", "label": "Event"}],
            is_required=True,
        ),
    ]
    packet = {
        "history": "  ",
        "goals": [{"metric": "NPS", "target": ""}],
        "timeline": [{"event": "Go-live"}],
    }

    assessment = assess_packet(items, packet)

    assert [missing.text for missing in assessment.missing] == [
        "Deal history: Origin: missing.",
        "Goals: Goals: row 1 lacks Target.",
    ]
    assert (assessment.required_count, assessment.present_count) == (3, 1)
    assert assessment.completeness == 33


def test_close_is_refused_naming_every_missing_item_and_changes_nothing(open_deal):
    save_deal_packet(open_deal.deal, {"deal_history": "Inbound.", "risks": "None."})

    with pytest.raises(PacketIncomplete) as refused:
        close_deal_won(open_deal.deal, now=NOW)

    deal = Deal.objects.get(pk=open_deal.deal.pk)
    assert [missing.key for missing in refused.value.assessment.missing] == [
        "goals",
        "stakeholders",
        "commitments",
        "technical_requirements",
        "timeline",
    ]
    assert "Goals: Goals with measurable success criteria: add at least one." in str(
        refused.value
    )
    assert (deal.stage.name, deal.packet_completeness) == ("Engaging", 28)
    assert Handoff.objects.count() == 0
    assert Deal.objects.filter(renews=deal).count() == 0


def test_a_complete_packet_closes_won_with_handoff_clocks_and_renewal(open_deal):
    save_deal_packet(open_deal.deal, COMPLETE_PACKET)

    result = close_deal_won(open_deal.deal, now=NOW)

    deal = result.deal
    assert (deal.stage.name, deal.closed_on, deal.packet_completeness) == (
        "Won",
        date(2027, 1, 31),
        100,
    )
    handoff = result.handoff
    assert (handoff.kind, handoff.receiving_team, handoff.sender) == (
        "sales_to_implementation",
        open_deal.implementation,
        open_deal.ae,
    )
    assert handoff.packet == COMPLETE_PACKET
    assert dict(
        Milestone.objects.filter(handoff=handoff).values_list("key", "due_at")
    ) == {
        "ae_briefing": NOW + timedelta(hours=48),
        "kickoff_scheduled": NOW + timedelta(hours=72),
        "intro_email": NOW + timedelta(days=7),
        "first_meeting": NOW + timedelta(days=7),
    }
    renewal = result.renewal
    assert (renewal.pipeline.kind, renewal.stage.name, renewal.renews) == (
        "renewals",
        "Upcoming",
        deal,
    )
    # A twelve-month term from 31 January 2027 ends on 30 January 2028.
    assert renewal.expected_close_on == date(2028, 1, 30)
    assert renewal.amount == Money(24_000, "EUR")
    assert list(Notification.objects.values_list("recipient", "subject")) == [
        (open_deal.head.pk, "Closed won, for implementation: Globex platform")
    ]


def test_closing_twice_changes_nothing_the_second_time(open_deal):
    save_deal_packet(open_deal.deal, COMPLETE_PACKET)
    first = close_deal_won(open_deal.deal, now=NOW)

    second = close_deal_won(open_deal.deal, now=NOW + timedelta(minutes=1))

    assert (first.is_new, second.is_new) == (True, False)
    assert (second.handoff, second.renewal) == (first.handoff, first.renewal)
    assert Handoff.objects.count() == 1
    assert Notification.objects.count() == 1


def test_a_lost_deal_cannot_be_closed_won(open_deal):
    deal = open_deal.deal
    deal.stage = deal.pipeline.stages.get(outcome=Stage.Outcome.LOST)
    deal.save()

    with pytest.raises(Exception, match="A lost deal cannot be closed won"):
        close_deal_won(deal, now=NOW)


@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_closes_make_one_handoff_one_renewal_one_notice(
    transactional_db, open_deal
):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL's row locks")
    save_deal_packet(open_deal.deal, COMPLETE_PACKET)
    start = threading.Barrier(2)

    def close():
        try:
            start.wait()
            return close_deal_won(open_deal.deal, now=NOW).is_new
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=2) as pool:
        outcomes = sorted(pool.map(lambda _: close(), range(2)))

    assert outcomes == [False, True]
    assert Handoff.objects.filter(kind="sales_to_implementation").count() == 1
    assert Deal.objects.filter(renews=open_deal.deal).count() == 1
    assert Notification.objects.count() == 1


def test_the_admin_refuses_closed_won_naming_the_missing_items(admin_client, open_deal):
    deal = open_deal.deal
    url = reverse("admin:bowtie_deal_change", args=[deal.pk])
    won = deal.pipeline.stages.get(outcome=Stage.Outcome.WON)
    data = {
        "name": deal.name,
        "account": deal.account.pk,
        "owner": deal.owner.pk,
        "pipeline": deal.pipeline.pk,
        "stage": won.pk,
        "amount_0": "24000",
        "amount_1": "EUR",
        "term_months": 12,
        "packet": '{"deal_history": "Inbound."}',
        "packet_completeness": 0,
    }

    refused = admin_client.post(url, data)
    data["packet"] = json.dumps(COMPLETE_PACKET)
    accepted = admin_client.post(url, data)

    assert refused.status_code == 200
    errors = refused.context["adminform"].form.errors["stage"]
    assert (
        errors[0] == "Goals: Goals with measurable success criteria: add at least one."
    )
    assert len(errors) == 6
    assert accepted.status_code == 302
    deal.refresh_from_db()
    assert deal.stage == won
    assert Handoff.objects.filter(deal=deal).count() == 1
