"""Signal -> CS -> Sales: typed expansion deals, their owners by the bands,
the CSM brief, the clocks, and the owner's side of the handoff."""

import json
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest
import time_machine
from django.urls import reverse
from djmoney.money import Money

from bowtie.models import (
    Deal,
    EventType,
    ExchangeRate,
    Notification,
    Pipeline,
    Product,
    ProductUsage,
    Subscription,
    Team,
    WebhookEndpoint,
    WebhookEvent,
    WorkingPeriod,
)
from expansion.models import Signal, SignalKind
from expansion.services import (
    NotAllowed,
    SignalRefused,
    accept_expansion,
    convert_signal,
    move_expansion_stage,
    raise_signal,
    record_joint_meeting,
    send_expansion_again,
    send_expansion_back,
)
from handoffs.deal_changes import DealChangeRefused, change_deal
from handoffs.models import Handoff
from partners.models import HealthScore
from tests.factories import AccountFactory, ContactFactory, PersonFactory, TeamFactory

# A Monday, 10:00 in Berlin, where every team works 9 to 17.
NOW = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
WON_PACKET = {
    "stakeholders": [
        {"person": "Ada Lind", "role": "champion", "sentiment": "positive"},
        {"person": "Bo Ek", "role": "economic buyer", "sentiment": "neutral"},
    ]
}


def office_hours(team: Team) -> None:
    WorkingPeriod.objects.bulk_create(
        WorkingPeriod(team=team, weekday=day, starts_at=time(9), ends_at=time(17))
        for day in range(5)
    )


def build_expansion_world(with_signal: bool = True) -> SimpleNamespace:
    """A customer with a won deal, its CSM, an AM and an AE, usage and health.

    Globex won GTX Basic in 2024 (sold by Alex AE, stakeholders mapped); its
    account owner is the CSM. Three products are active, one retired. With
    `with_signal`, the CSM flagged its seats as nearly full.
    """
    cs = TeamFactory(name="Customer Success", function="customer_success")
    am_team = TeamFactory(name="Account Management", function="account_management")
    sales = TeamFactory(name="Enterprise AEs")
    for team in (cs, am_team, sales):
        office_hours(team)
    head = PersonFactory(full_name="Hana Head", role="manager", team=cs)
    cs.head = head
    cs.save()
    csm = PersonFactory(full_name="Cleo Carter", role="csm", team=cs, manager=head)
    am = PersonFactory(full_name="Ann Meyer", role="am", team=am_team)
    ae = PersonFactory(full_name="Alex Andersen", role="ae", team=sales)

    account = AccountFactory(name="Globex", owner=csm)
    ContactFactory(account=account, first_name="Ada", last_name="Lind")
    ContactFactory(
        account=account, first_name="Kim", last_name="Wu", job_title="Head of Ops"
    )
    basic = Product.objects.create(name="GTX Basic")
    Product.objects.create(name="GTX Pro")
    Product.objects.create(name="MG Advanced")
    Product.objects.create(name="Old Kit", is_active=False)
    new_business = Pipeline.objects.get(kind="new_business", is_default=True)
    won = Deal.objects.create(
        name="Globex GTX Basic",
        account=account,
        owner=ae,
        pipeline=new_business,
        stage=new_business.stages.get(outcome="won"),
        product=basic,
        amount=Money(30_000, "EUR"),
        closed_on=date(2024, 6, 28),
        packet=WON_PACKET,
    )

    plan = Subscription.objects.create(
        account=account,
        source="test",
        external_id="S-1",
        started_on=date(2024, 7, 1),
        seats=20,
        plan_tier="Pro",
    )
    for days_ago, feature in ((1, "reports"), (2, "reports"), (3, "api"), (40, "sso")):
        ProductUsage.objects.create(
            account=account,
            subscription=plan,
            source="test",
            external_id=f"U-{days_ago}",
            used_on=date(2025, 3, 3) - timedelta(days=days_ago),
            feature=feature,
            usage_count=4,
        )
    for scored_on, score in ((date(2025, 1, 31), "68.0"), (date(2025, 3, 2), "72.5")):
        HealthScore.objects.create(
            account=account,
            scored_on=scored_on,
            score=Decimal(score),
            components={
                "customer_responsiveness": {"value": 90.0, "weight": 20},
                "admin_logins": {"value": 40.0, "weight": 20},
            },
            computed_at=NOW,
        )
    signal = None
    if with_signal:
        signal = raise_signal(
            account,
            SignalKind.SEATS_NEARLY_FULL,
            Signal.Source.CSM,
            csm,
            evidence="18 of 20 seats taken; they asked for a quote.",
            now=NOW,
        )
    return SimpleNamespace(
        cs=cs,
        am_team=am_team,
        sales=sales,
        head=head,
        csm=csm,
        am=am,
        ae=ae,
        account=account,
        won=won,
        signal=signal,
    )


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def world(db, frozen):
    return build_expansion_world()


UPSELL_AMOUNT = Money(24_000, "EUR")


def convert(world, expansion_type="upsell", amount=UPSELL_AMOUNT, **values):
    return convert_signal(
        world.signal,
        values.pop("actor", world.csm),
        expansion_type,
        values.pop("name", "Globex: 20 more seats"),
        amount,
        values.pop("affects_existing_unit", None),
        now=NOW,
    )


def test_an_upsell_goes_to_the_owner_of_its_band_with_the_brief(world, frozen):
    WebhookEndpoint.objects.create(
        name="CRM", url="https://crm.example/hooks", event_types=["expansion.created"]
    )

    conversion = convert(world)

    deal = conversion.deal
    assert deal.pipeline.name == "Upsell"
    assert deal.stage.name == "Identified"
    assert [stage.name for stage in deal.pipeline.stages.all()] == [
        "Identified",
        "Proposal",
        "Won",
        "Lost",
    ]
    # EUR 24,000 a year: the 10-50K band, an account manager's.
    assert deal.owner == world.am
    assert (conversion.band.lower_eur, conversion.band.owner_role) == (10_000, "am")
    assert deal.expands == world.won
    assert deal.source == "expansion"
    assert (deal.base_rate, deal.base_rate_on) == (Decimal(1), date(2025, 3, 3))
    signal = Signal.objects.get(pk=world.signal.pk)
    assert (signal.status, signal.deal, signal.closed_at) == ("converted", deal, NOW)

    handoff = conversion.handoff
    assert handoff.kind == Handoff.Kind.CS_TO_SALES
    assert (handoff.sender, handoff.sending_team) == (world.csm, world.cs)
    assert (handoff.receiver, handoff.receiving_team) == (world.am, world.am_team)
    assert (handoff.state, handoff.involvement) == ("open", "in_meetings")
    assert handoff.annual_value_eur == Decimal("24000.00")
    assert {m.key: m.due_at for m in handoff.milestones.all()} == {
        "owner_accepted": NOW + timedelta(hours=48),
        # Five working days of 8 hours from Monday 10:00 in Berlin.
        "joint_meeting": datetime(2025, 3, 10, 9, 0, tzinfo=UTC),
    }

    notice = Notification.objects.get(recipient=world.am)
    assert notice.subject == "Expansion for you: Globex: 20 more seats"
    assert notice.url == f"/expansions/{handoff.pk}/"
    event = json.loads(WebhookEvent.objects.get(type=EventType.EXPANSION_CREATED).body)
    assert event["data"]["expansion_type"] == "upsell"
    assert event["data"]["deal"]["expands_id"] == world.won.pk
    assert event["data"]["owner"]["id"] == world.am.pk
    assert event["data"]["handoff"]["kind"] == "cs_to_sales"


def test_the_csm_brief_holds_health_usage_stakeholders_and_whitespace(world, frozen):
    packet = convert(world).handoff.packet

    assert packet["health"] == (
        "Health 72.5 of 100 on 02 Mar 2025, up 4.5 from 68.0 on 31 Jan 2025. "
        "Measured: customer responsiveness 90.0, admin login frequency 40.0."
    )
    assert packet["usage"].splitlines() == [
        "Seats: 20 paid on 1 open subscription(s); 20 (100.0 %) on subscriptions "
        "used in the 30 days to 03 Mar 2025.",
        "Active days: 3 in the 30 days to 03 Mar 2025, 1 in the 30 days before.",
        "Features used: api, reports; new since the window before: api, reports.",
    ]
    assert packet["stakeholders"] == [
        {"person": "Ada Lind", "role": "champion", "sentiment": "positive"},
        {"person": "Bo Ek", "role": "economic buyer", "sentiment": "neutral"},
        {"person": "Kim Wu, Head of Ops", "role": "", "sentiment": ""},
    ]
    assert packet["whitespace"] == (
        "Not yet bought: GTX Pro, MG Advanced. Owns: GTX Basic."
    )


def test_a_cross_sell_needs_the_litmus_answer(world, frozen):
    with pytest.raises(SignalRefused) as refused:
        convert(world, "cross_sell")

    assert refused.value.errors == {
        "affects_existing_unit": [
            "A cross-sell needs the answer: would losing the contract in the "
            "existing unit affect closing this one? Yes or no."
        ]
    }
    assert Deal.objects.count() == 1
    assert Handoff.objects.count() == 0
    assert Signal.objects.get(pk=world.signal.pk).status == "open"


def test_a_warm_cross_sell_has_its_own_stages(world, frozen):
    deal = convert(world, "cross_sell", affects_existing_unit=True).deal

    assert deal.pipeline.name == "Cross-sell (warm)"
    assert [stage.name for stage in deal.pipeline.stages.all()] == [
        "Identified",
        "Needs assessment",
        "Proposal",
        "Negotiation",
        "Won",
        "Lost",
    ]
    assert (deal.stage.name, deal.source, deal.expands) == (
        "Identified",
        "expansion",
        world.won,
    )


def test_a_new_buying_group_starts_with_discovery(world, frozen):
    deal = convert(world, "new_buying_group", affects_existing_unit=True).deal

    assert deal.pipeline.name == "Cross-sell (new buying group)"
    assert deal.stage.name == "Discovery"


def test_a_cross_sell_independent_of_the_contract_is_a_referred_new_logo(world, frozen):
    deal = convert(world, "new_buying_group", affects_existing_unit=False).deal

    assert deal.pipeline.name == "New business"
    assert deal.stage.name == "Prospecting"
    assert (deal.source, deal.expands) == ("customer_referral", None)


def test_only_customer_success_and_account_managers_convert(world, frozen):
    with pytest.raises(NotAllowed):
        convert(world, actor=world.ae)

    assert Deal.objects.count() == 1


def test_bad_values_are_refused_each_by_field(world, frozen):
    with pytest.raises(SignalRefused) as refused:
        convert_signal(
            world.signal, world.csm, "downsell", " ", Money(0, "EUR"), now=NOW
        )

    assert refused.value.errors == {
        "expansion_type": ["Choose one of upsell, cross_sell, new_buying_group."],
        "name": ["Give the deal a name."],
        "amount": ["Give an amount above 0."],
    }


def test_a_small_upsell_stays_with_the_csm_who_closes_it(world, frozen):
    conversion = convert(world, amount=Money(6_000, "EUR"))

    handoff = conversion.handoff
    assert conversion.deal.owner == world.csm
    assert handoff.receiver == world.csm
    assert (handoff.state, handoff.involvement) == ("accepted", "closes")
    # Nothing changed hands: accepted at once, and no joint meeting owed.
    assert [(m.key, m.met_at) for m in handoff.milestones.all()] == [
        ("owner_accepted", NOW)
    ]
    assert not Notification.objects.filter(recipient=world.csm).exists()


def test_a_large_upsell_goes_to_an_account_executive(world, frozen):
    deal = convert(world, amount=Money(60_000, "EUR")).deal

    assert deal.owner == world.ae
    assert Handoff.objects.get(deal=deal).involvement == "advisory"


def test_another_currency_converts_at_the_rate_of_the_day_and_keeps_it(world, frozen):
    ExchangeRate.objects.create(
        currency="USD", units_per_base=Decimal("1.25"), effective_on=date(2025, 1, 1)
    )

    conversion = convert(world, amount=Money(60_000, "USD"))
    ExchangeRate.objects.create(
        currency="USD", units_per_base=Decimal("0.9"), effective_on=date(2025, 3, 3)
    )

    deal = Deal.objects.get(pk=conversion.deal.pk)
    # USD 60,000 at 1.25 a euro is EUR 48,000: the AM's band, not the AE's.
    assert conversion.handoff.annual_value_eur == Decimal("48000.00")
    assert deal.owner == world.am
    assert (deal.base_rate, deal.base_rate_on) == (Decimal("1.25"), date(2025, 3, 3))


def test_a_currency_without_a_rate_is_refused_by_field(world, frozen):
    with pytest.raises(SignalRefused) as refused:
        convert(world, amount=Money(60_000, "SEK"))

    assert refused.value.errors == {
        "currency": [
            "No rate for SEK today: RevOps adds one in the admin (Exchange rates) "
            "first."
        ]
    }
    assert Deal.objects.count() == 1


def test_a_converted_signal_is_not_converted_twice(world, frozen):
    convert(world)

    with pytest.raises(SignalRefused) as refused:
        convert(world)

    assert refused.value.errors == {
        "non_field_errors": ["This signal is turned into an expansion deal."]
    }
    assert Deal.objects.filter(source="expansion").count() == 1


# The owner's side


@pytest.fixture
def handed(world, frozen):
    conversion = convert(world)
    world.handoff = conversion.handoff
    world.deal = conversion.deal
    return world


def test_the_owner_accepts_and_schedules_the_joint_meeting(handed, frozen):
    frozen.move_to(NOW + timedelta(hours=5))
    accepted_at = NOW + timedelta(hours=5)
    meeting_at = datetime(2025, 3, 6, 13, 0, tzinfo=UTC)

    accept_expansion(handed.handoff, handed.am, now=accepted_at)
    record_joint_meeting(
        handed.handoff, handed.am, meeting_at, now=accepted_at + timedelta(hours=1)
    )

    handoff = Handoff.objects.get(pk=handed.handoff.pk)
    assert (handoff.state, handoff.accepted_at) == ("accepted", accepted_at)
    met = {m.key: (m.met_at, m.breached_at) for m in handoff.milestones.all()}
    assert met == {
        "owner_accepted": (accepted_at, None),
        "joint_meeting": (accepted_at + timedelta(hours=1), None),
    }
    task = handoff.tasks.get()
    assert (task.title, task.owner, task.due_at) == (
        "Joint meeting with Cleo Carter",
        handed.am,
        meeting_at,
    )
    told = Notification.objects.filter(recipient=handed.csm).order_by("pk")
    assert [notice.subject for notice in told] == [
        "Expansion accepted: Globex: 20 more seats",
        "Expansion meeting: Globex: 20 more seats",
    ]
    assert told[1].body == (
        "Ann Meyer meets you about Globex: 20 more seats on 2025-03-06 14:00 CET."
    )


def test_a_meeting_needs_the_expansion_accepted_first(handed):
    with pytest.raises(Exception) as refused:
        record_joint_meeting(handed.handoff, handed.am, NOW + timedelta(days=1))

    assert str(refused.value) == "This handoff is open."


def test_nobody_outside_the_receiving_side_accepts(handed):
    with pytest.raises(NotAllowed):
        accept_expansion(handed.handoff, handed.ae)

    assert Handoff.objects.get(pk=handed.handoff.pk).state == "open"


def test_sent_back_with_a_reason_then_sent_again_with_fresh_clocks(handed, frozen):
    with pytest.raises(SignalRefused):
        send_expansion_back(handed.handoff, handed.am, " ")

    send_expansion_back(
        handed.handoff,
        handed.am,
        "No budget owner named.",
        now=NOW + timedelta(hours=2),
    )
    back = Handoff.objects.get(pk=handed.handoff.pk)
    again_at = NOW + timedelta(hours=30)
    send_expansion_again(back, handed.csm, now=again_at)

    handoff = Handoff.objects.get(pk=handed.handoff.pk)
    assert back.state == "rejected"
    assert back.rejection_reason == "No budget owner named."
    assert Notification.objects.filter(
        recipient=handed.csm, subject="Expansion sent back: Globex: 20 more seats"
    ).exists()
    assert handoff.state == "open"
    assert {m.key: m.started_at for m in handoff.milestones.all()} == {
        "owner_accepted": again_at,
        "joint_meeting": again_at,
    }


def test_only_the_csm_or_their_manager_sends_it_again(handed):
    send_expansion_back(handed.handoff, handed.am, "Too early.")

    with pytest.raises(NotAllowed):
        send_expansion_again(handed.handoff, handed.am)
    send_expansion_again(handed.handoff, handed.head)

    assert Handoff.objects.get(pk=handed.handoff.pk).state == "open"


def test_the_deal_moves_along_its_own_stages_and_a_win_completes_the_handoff(
    handed, frozen
):
    upsell = Pipeline.objects.get(expansion_type="upsell")
    with pytest.raises(Exception) as too_soon:
        move_expansion_stage(handed.handoff, handed.am, upsell.stages.get(name="Won"))
    accept_expansion(handed.handoff, handed.am, now=NOW)

    with pytest.raises(DealChangeRefused) as foreign:
        move_expansion_stage(handed.handoff, handed.am, "Engaging")
    move_expansion_stage(handed.handoff, handed.am, "Proposal", now=NOW)
    won = move_expansion_stage(handed.handoff, handed.am, "Won", now=NOW)

    assert str(too_soon.value) == "Accept the expansion before moving its deal."
    assert foreign.value.errors == {
        "stage": [
            "Upsell has no stage 'Engaging'; its stages are Identified, Proposal, "
            "Won, Lost."
        ]
    }
    assert (won.stage.name, won.closed_on) == ("Won", date(2025, 3, 3))
    handoff = Handoff.objects.get(pk=handed.handoff.pk)
    assert (handoff.state, handoff.closed_at) == ("completed", NOW)


def test_a_referred_new_logo_wins_only_through_the_packet_gate(world, frozen):
    conversion = convert(world, "cross_sell", affects_existing_unit=False)
    accept_expansion(conversion.handoff, world.am, now=NOW)

    with pytest.raises(DealChangeRefused) as refused:
        move_expansion_stage(conversion.handoff, world.am, "Won", now=NOW)

    assert refused.value.errors["stage"][0].startswith(
        "Closed Won needs a complete handoff packet"
    )
    assert Deal.objects.get(pk=conversion.deal.pk).stage.name == "Prospecting"


# Pages


def test_the_owner_finds_the_expansion_with_its_stages_and_brief(client, handed):
    client.force_login(handed.am.user)

    queue = client.get(reverse("expansion-queue"))
    page = client.get(reverse("expansion-detail", args=[handed.handoff.pk]))

    assert "Globex: 20 more seats" in queue.content.decode()
    text = page.content.decode()
    assert [stage.name for stage in page.context["stages"]] == [
        "Identified",
        "Proposal",
        "Won",
        "Lost",
    ]
    assert "CSM brief" in text
    assert "Not yet bought: GTX Pro, MG Advanced. Owns: GTX Basic." in text
    assert "18 of 20 seats taken; they asked for a quote." in text
    missing = [item.text for item in page.context["brief"]["assessment"].missing]
    assert missing == ["Stakeholders: Stakeholders: row 3 lacks Role, Sentiment."]


def test_the_csm_converts_from_the_account_page(client, world, frozen):
    client.force_login(world.csm.user)
    prefix = f"convert-{world.signal.pk}"

    refused = client.post(
        reverse("signal-convert", args=[world.signal.pk]),
        {
            f"{prefix}-expansion_type": "cross_sell",
            f"{prefix}-name": "Globex: analytics",
            f"{prefix}-amount": "12000",
            f"{prefix}-currency": "EUR",
        },
        follow=True,
    )
    done = client.post(
        reverse("signal-convert", args=[world.signal.pk]),
        {
            f"{prefix}-expansion_type": "cross_sell",
            f"{prefix}-name": "Globex: analytics",
            f"{prefix}-amount": "12000",
            f"{prefix}-currency": "eur",
            f"{prefix}-affects_existing_unit": "yes",
        },
    )

    assert [str(message) for message in refused.context["messages"]] == [
        "Would losing the contract in the existing unit affect closing this one?: "
        "A cross-sell needs the answer."
    ]
    deal = Deal.objects.get(name="Globex: analytics")
    handoff = Handoff.objects.get(deal=deal)
    assert done.url == f"/expansions/{handoff.pk}/"
    assert (deal.pipeline.name, deal.owner) == ("Cross-sell (warm)", world.am)


def test_other_doors_move_the_deal_only_once_accepted_and_complete_it(handed, frozen):
    deal = handed.handoff.deal
    upsell = Pipeline.objects.get(expansion_type="upsell")
    won = upsell.stages.get(name="Won")
    with pytest.raises(DealChangeRefused) as refused:
        change_deal(deal, {"stage": won.pk}, source="api", now=NOW)
    accept_expansion(handed.handoff, handed.am, now=NOW)

    change_deal(deal, {"stage": won.pk}, source="api", now=NOW)

    assert refused.value.errors == {
        "stage": [
            "Its owner accepts the expansion handoff first; the stage moves after that."
        ]
    }
    handoff = Handoff.objects.get(pk=handed.handoff.pk)
    assert (handoff.state, handoff.closed_at) == ("completed", NOW)
