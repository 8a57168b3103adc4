"""Closed Won: the packet gate names what is missing; the close happens once."""

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.db import connection
from django.urls import reverse
from djmoney.money import Money

from bowtie.exchange import in_base
from bowtie.models import Deal, ExchangeRate, Notification, Stage, Team, WorkingPeriod
from handoffs import quality
from handoffs.closing import (
    PacketIncomplete,
    RatingRefused,
    accept_implementation_handoff,
    close_deal_won,
    rate_handoff,
    reject_implementation_handoff,
    resubmit_implementation_handoff,
    save_deal_packet,
)
from handoffs.escalation import sweep
from handoffs.models import Handoff, Milestone
from handoffs.packets import assess_packet
from handoffs.services import ActionRefused
from tests.deal_fixtures import COMPLETE_PACKET, build_open_deal
from tests.factories import PersonFactory

# 31 January: the renewal lands on a month end.
NOW = datetime(2027, 1, 31, 10, 0, tzinfo=UTC)


def form_of(packet: dict) -> dict:
    """The deal page's fields for a packet: `<key>` and `<key>-<n>-<part>`."""
    fields = {}
    for key, value in packet.items():
        if isinstance(value, str):
            fields[key] = value
            continue
        for number, row in enumerate(value):
            fields |= {f"{key}-{number}-{part}": text for part, text in row.items()}
    return fields


@pytest.fixture
def open_deal(db):
    return build_open_deal()


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


@pytest.fixture
def won(open_deal):
    save_deal_packet(open_deal.deal, COMPLETE_PACKET)
    open_deal.handoff = close_deal_won(open_deal.deal, now=NOW).handoff
    return open_deal


MARKS = {
    "completeness": "4",
    "promise_alignment": "2",
    "sentiment_continuity": "3",
    "context_transfer": "4",
    "stakeholder_mapping": "2",
}


def test_accepting_stops_the_briefing_clock(won):
    handoff = accept_implementation_handoff(
        won.handoff, won.head, now=NOW + timedelta(hours=3)
    )

    assert (handoff.state, handoff.receiver) == ("accepted", won.head)
    briefing = Milestone.objects.get(handoff=handoff, key="ae_briefing")
    assert briefing.met_at == NOW + timedelta(hours=3)


def test_sending_back_needs_a_reason_and_tells_the_ae(won):
    with pytest.raises(ActionRefused, match="Say what is missing"):
        reject_implementation_handoff(won.handoff, won.head, "  ")

    handoff = reject_implementation_handoff(
        won.handoff, won.head, "No migration plan.", now=NOW
    )

    assert (handoff.state, handoff.rejection_reason) == (
        "rejected",
        "No migration plan.",
    )
    assert Notification.objects.get(recipient=won.ae).subject == (
        "Handoff sent back: Globex platform"
    )


def test_only_the_receiving_team_works_the_handoff(won):
    with pytest.raises(ActionRefused, match="Only the receiving team"):
        accept_implementation_handoff(won.handoff, won.ae)


def test_ratings_are_refused_by_name_then_reported_per_ae_and_team(won):
    with pytest.raises(ActionRefused, match="Accept the handoff before rating"):
        rate_handoff(won.handoff, won.head, MARKS)
    won.handoff = accept_implementation_handoff(won.handoff, won.head, now=NOW)
    bad = MARKS | {"promise_alignment": "6", "context_transfer": ""}
    with pytest.raises(RatingRefused) as refused:
        rate_handoff(won.handoff, won.head, bad)
    assert refused.value.errors == {
        "promise_alignment": "Promise alignment: give a whole mark from 1 to 5.",
        "context_transfer": "Context transfer: give a whole mark from 1 to 5.",
    }

    rating = rate_handoff(won.handoff, won.head, MARKS, "Thin on promises.", now=NOW)
    report = quality.handoff_quality(Team.objects.all(), since=NOW - timedelta(days=7))

    assert rating.average == 3.0
    assert report.by_ae == [
        quality.QualityRow("Alex AE", 1, 100, 1, 3.0),
    ]
    assert report.by_team == [
        quality.QualityRow("Enterprise AEs", 1, 100, 1, 3.0),
    ]
    assert report.lowest == [rating]


def test_deal_page_saves_drafts_and_shows_what_is_missing(client, open_deal):
    client.force_login(open_deal.ae.user)
    url = reverse("deal-detail", args=[open_deal.deal.pk])

    draft = client.post(
        url,
        {"deal_history": "Inbound.", "goals-0-metric": "NPS", "goals-0-target": "50"},
        headers={"HX-Request": "true"},
    )

    text = draft.content.decode()
    assert draft.status_code == 200
    assert '<strong id="completeness-percent">14 %</strong>' in text
    assert (
        "<li>Goals: Goals with measurable success criteria: row 1 lacks "
        "Baseline, By when.</li>" in text
    )
    deal = Deal.objects.get(pk=open_deal.deal.pk)
    assert deal.packet["goals"] == [
        {"metric": "NPS", "baseline": "", "target": "50", "by_when": ""}
    ]
    assert deal.packet_completeness == 14


def test_another_ae_cannot_open_the_deal(client, open_deal):
    other = PersonFactory(role="ae", team=open_deal.ae.team)
    client.force_login(other.user)

    page = client.get(reverse("deal-detail", args=[open_deal.deal.pk]))

    assert page.status_code == 404


def test_the_brief_links_every_statement_to_its_field(client, won, settings):
    settings.BOWTIE_BASE_URL = "https://bowtie.example"
    client.force_login(won.head.user)
    url = reverse("handoff-brief", args=[won.handoff.pk])

    markdown = client.get(url, {"format": "md"}).content.decode()
    pdf = client.get(url, {"format": "pdf"})
    page = client.get(url)

    deal_url = f"https://bowtie.example/handoffs/{won.handoff.pk}/"
    assert markdown.splitlines()[:4] == [
        "# Handoff brief: Globex platform",
        "",
        "## The deal",
        "",
    ]
    assert (
        "- Metric: Time to quote; Baseline: 5 days; Target: 1 day; By when: "
        f"2027-06-30. ([Goals with measurable success criteria, row 1]({deal_url}"
        "#item-goals))"
    ) in markdown
    assert (
        f"- IT prefers the incumbent. ([Risks and internal politics]({deal_url}"
        "#item-risks))"
    ) in markdown
    assert f"- Account: Globex. ([Deal account]({deal_url}#deal-account))" in markdown
    assert pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    assert page.content.decode().count('class="source"') == markdown.count("](")
    # Every link lands on an anchor of the handoff's page, for the receivers
    # and for the AE alike.
    anchors = {
        line.rsplit("#", 1)[1].rstrip(")")
        for line in markdown.splitlines()
        if "](" in line
    }
    for reader in (won.head, won.ae):
        client.force_login(reader.user)
        handoff_page = client.get(f"/handoffs/{won.handoff.pk}/").content.decode()
        assert all(f'id="{anchor}"' in handoff_page for anchor in anchors)


@pytest.mark.parametrize(
    ("amount", "term_months", "model", "titles"),
    [
        (
            9_999,
            12,
            "clean_break",
            ["Send the welcome and onboarding e-mail (no AE overlay)"],
        ),
        (
            10_000,
            12,
            "warm_overlay",
            [
                "AE joins the kickoff",
                "AE copied on customer e-mails for two weeks",
            ],
        ),
        (
            50_000,
            12,
            "warm_overlay",
            [
                "AE joins the kickoff",
                "AE copied on customer e-mails for two weeks",
            ],
        ),
        # EUR 60,000 over 24 months is 30,000 a year: a warm overlay.
        (
            60_000,
            24,
            "warm_overlay",
            [
                "AE joins the kickoff",
                "AE copied on customer e-mails for two weeks",
            ],
        ),
        (
            50_001,
            12,
            "pre_sale_cs",
            [
                "CSM joins the kickoff",
                "AE joins the kickoff",
                "AE copied on customer e-mails for two weeks",
            ],
        ),
    ],
)
def test_involvement_follows_the_annual_value(
    open_deal, amount, term_months, model, titles
):
    deal = open_deal.deal
    deal.amount = Money(amount, "EUR")
    deal.term_months = term_months
    deal.save()
    save_deal_packet(deal, COMPLETE_PACKET)

    handoff = close_deal_won(deal, now=NOW).handoff

    assert handoff.involvement == model
    assert [task.title for task in handoff.tasks.all()] == titles


def test_warm_overlay_tasks_belong_to_the_ae_at_kickoff_and_for_two_weeks(open_deal):
    save_deal_packet(open_deal.deal, COMPLETE_PACKET)

    handoff = close_deal_won(open_deal.deal, now=NOW).handoff

    assert [(task.owner, task.due_at) for task in handoff.tasks.all()] == [
        (open_deal.ae, NOW + timedelta(hours=72)),
        (open_deal.ae, NOW + timedelta(weeks=2)),
    ]


# Sunday 31 January: two working days on the AE's Berlin calendar end on
# Tuesday at 17:00 there.
AE_CLOCK_DUE = datetime(2027, 2, 2, 16, 0, tzinfo=UTC)


def office_hours(team) -> None:
    WorkingPeriod.objects.bulk_create(
        WorkingPeriod(team=team, weekday=day, starts_at=time(9), ends_at=time(17))
        for day in range(5)
    )


def test_sending_back_ends_the_receivers_clocks_and_starts_the_aes(won):
    office_hours(won.ae.team)
    reject_implementation_handoff(won.handoff, won.head, "No migration plan.", now=NOW)

    clock = Milestone.objects.get(handoff=won.handoff, met_at=None)
    done = sweep(NOW + timedelta(days=30))

    assert (clock.key, clock.owed_by, clock.due_at) == (
        "packet_resubmitted",
        "sender",
        AE_CLOCK_DUE,
    )
    # Only the AE's clock ran out; the receivers owed nothing once it went back.
    assert done == {"breaches": 1, "steps": 1}
    clock.refresh_from_db()
    assert clock.owner_at_breach == won.ae
    assert list(
        Notification.objects.filter(recipient=won.ae)
        .order_by("pk")
        .values_list("subject", flat=True)
    ) == [
        "Handoff sent back: Globex platform",
        "SLA breached: Packet completed and sent again for Globex platform",
    ]
    assert not Notification.objects.filter(
        recipient=won.head, subject__startswith="SLA"
    ).exists()


def test_a_breach_before_the_send_back_stays_but_escalates_no_further(won):
    sweep(NOW + timedelta(hours=49))
    reject_implementation_handoff(
        won.handoff, won.head, "No migration plan.", now=NOW + timedelta(hours=50)
    )

    sweep(NOW + timedelta(days=30))

    briefing = Milestone.objects.get(handoff=won.handoff, key="ae_briefing")
    assert briefing.breached_at == NOW + timedelta(hours=49)
    assert not briefing.ladder_steps.filter(fired=True, action="escalate").exists()
    assert not Notification.objects.filter(subject__startswith="Escalation").exists()


def test_the_ae_sends_the_completed_packet_again_to_fresh_clocks(won):
    reject_implementation_handoff(won.handoff, won.head, "Risks are thin.", now=NOW)
    thin = COMPLETE_PACKET | {"risks": " "}
    save_deal_packet(won.deal, thin)
    later = NOW + timedelta(days=1)

    with pytest.raises(PacketIncomplete, match="Risks and politics"):
        resubmit_implementation_handoff(won.handoff, won.ae, now=later)
    with pytest.raises(ActionRefused, match="Only the deal's AE"):
        resubmit_implementation_handoff(won.handoff, won.head, now=later)
    save_deal_packet(won.deal, COMPLETE_PACKET | {"risks": "IT and finance."})
    handoff = resubmit_implementation_handoff(won.handoff, won.ae, now=later)

    clocks = {m.key: m for m in handoff.milestones.all()}
    assert (handoff.state, handoff.packet["risks"]) == ("open", "IT and finance.")
    assert clocks["packet_resubmitted"].met_at == later
    assert clocks["ae_briefing"].started_at == later
    assert clocks["ae_briefing"].due_at == later + timedelta(hours=48)
    assert Notification.objects.filter(
        recipient=won.head, subject="Handoff sent again: Globex platform"
    ).exists()
    # Sent back a second time, the AE's clock starts a round of its own; the
    # first stays on record as it was met.
    reject_implementation_handoff(handoff, won.head, "Still thin.", now=later)
    rounds = Milestone.objects.filter(handoff=handoff, owed_by="sender")
    assert [(m.key, m.started_at, m.met_at) for m in rounds.order_by("pk")] == [
        ("packet_resubmitted", NOW, later),
        ("packet_resubmitted-2", later, None),
    ]


def test_the_send_back_page_lets_the_ae_edit_and_send_again(client, won):
    reject_implementation_handoff(won.handoff, won.head, "Risks are thin.", now=NOW)
    client.force_login(won.ae.user)
    url = reverse("deal-detail", args=[won.deal.pk])

    page = client.get(url).content.decode()
    response = client.post(
        reverse("deal-send-again", args=[won.deal.pk]),
        form_of(COMPLETE_PACKET | {"risks": "IT and finance."}),
        follow=True,
    )

    assert "Sent back by implementation" in page
    assert "Risks are thin." in page and 'id="send-again"' in page
    assert "Sent again to implementation" in response.content.decode()
    assert Handoff.objects.get(pk=won.handoff.pk).state == "open"


def test_participants_follow_the_involvement_and_are_copied_for_two_weeks(
    open_deal,
):
    deal = open_deal.deal
    deal.amount = Money(60_000, "EUR")
    deal.save()
    save_deal_packet(deal, COMPLETE_PACKET)
    handoff = close_deal_won(deal, now=NOW).handoff
    csm = deal.account.owner

    accept_implementation_handoff(handoff, open_deal.head, now=NOW)

    assert [(p.person, p.role, p.copy_ends_at) for p in handoff.participants.all()] == [
        (csm, "pre_sale_cs", None),
        (open_deal.ae, "sales_overlay", NOW + timedelta(weeks=2)),
    ]
    assert (
        Notification.objects.filter(subject="Handoff accepted: Globex platform").count()
        == 2
    )
    reject_implementation_handoff(
        handoff, open_deal.head, "Wrong contact.", now=NOW + timedelta(weeks=3)
    )
    # Past two weeks only the CSM is copied; the AE is told as the deal's owner.
    assert list(
        Notification.objects.filter(
            subject="Handoff sent back: Globex platform"
        ).values_list("recipient__full_name", flat=True)
    ) == ["Alex AE", csm.full_name]


def test_a_deal_in_dollars_converts_at_the_rate_revops_keeps(open_deal):
    ExchangeRate.objects.create(
        currency="USD", units_per_base=Decimal("1.10"), effective_on=date(2000, 1, 1)
    )
    deal = open_deal.deal
    # A change of currency keeps the rate of the day of the change.
    deal.amount = Money(66_000, "USD")
    deal.save()
    save_deal_packet(deal, COMPLETE_PACKET)

    handoff = close_deal_won(deal, now=NOW).handoff

    assert (handoff.annual_value_eur, handoff.involvement) == (
        Decimal("60000.00"),
        "pre_sale_cs",
    )


def test_a_deal_without_a_rate_gets_the_default_and_says_why(client, open_deal):
    deal = open_deal.deal
    deal.amount = Money(66_000, "SEK")
    deal.save()
    save_deal_packet(deal, COMPLETE_PACKET)
    handoff = close_deal_won(deal, now=NOW).handoff
    client.force_login(open_deal.head.user)

    page = client.get(reverse("handoff-detail", args=[handoff.pk])).content.decode()

    assert (handoff.annual_value_eur, handoff.involvement) == (None, "warm_overlay")
    assert "not converted: no EUR rate for SEK" in page


def test_the_admin_keeps_rates_and_refuses_a_bad_currency(admin_client):
    url = reverse("admin:bowtie_exchangerate_add")
    today = datetime.now(UTC).date().isoformat()

    refused = admin_client.post(
        url, {"currency": "XYZ", "units_per_base": "1.1", "effective_on": today}
    )
    admin_client.post(
        url, {"currency": "usd", "units_per_base": "1.08", "effective_on": today}
    )

    assert "XYZ: not an ISO 4217 currency code." in refused.content.decode()
    rate = ExchangeRate.objects.get()
    assert (rate.currency, rate.units_per_base, rate.effective_on.isoformat()) == (
        "USD",
        Decimal("1.08"),
        today,
    )
    assert in_base(Money(108, "USD")) == Money(100, "EUR")


def test_a_renewal_deal_does_not_close_won_through_the_gate(won):
    Deal.objects.filter(renews=won.deal).update(packet=COMPLETE_PACKET)
    renewal = Deal.objects.get(renews=won.deal)

    with pytest.raises(ActionRefused, match="Only new-business deals close won"):
        close_deal_won(renewal, now=NOW)


def test_a_draft_cannot_land_on_a_won_deal(won):
    # As an autosave that arrives just after the close committed.
    with pytest.raises(ActionRefused, match="packet is final"):
        save_deal_packet(won.deal, {"risks": "Overwritten."})

    assert Deal.objects.get(pk=won.deal.pk).packet == COMPLETE_PACKET


def test_a_deal_without_an_owner_is_not_closed(open_deal):
    Deal.objects.filter(pk=open_deal.deal.pk).update(owner=None)
    save_deal_packet(open_deal.deal, COMPLETE_PACKET)

    with pytest.raises(ActionRefused, match="Give the deal an owner"):
        close_deal_won(Deal.objects.get(pk=open_deal.deal.pk), now=NOW)


def test_the_admin_keeps_a_won_deal_won(admin_client, won):
    deal = Deal.objects.get(pk=won.deal.pk)
    url = reverse("admin:bowtie_deal_change", args=[deal.pk])
    data = {
        "name": deal.name,
        "account": deal.account.pk,
        "owner": deal.owner.pk,
        "pipeline": deal.pipeline.pk,
        "stage": deal.pipeline.stages.get(name="Engaging").pk,
        "amount_0": "24000",
        "amount_1": "EUR",
        "term_months": 12,
        "packet": json.dumps({"risks": "x"}),
        "packet_completeness": 100,
    }

    admin_client.post(url, data)
    page = admin_client.get(url).content.decode()

    # Every field is read-only: the post changes nothing, score included.
    stored = Deal.objects.get(pk=deal.pk)
    assert (stored.stage.name, stored.amount, stored.term_months) == (
        "Won",
        deal.amount,
        12,
    )
    assert (stored.packet, stored.packet_completeness) == (COMPLETE_PACKET, 100)
    assert 'name="stage"' not in page


def test_the_admin_scores_a_packet_it_edits_and_asks_for_an_owner(
    admin_client, open_deal
):
    deal = open_deal.deal
    url = reverse("admin:bowtie_deal_change", args=[deal.pk])
    data = {
        "name": deal.name,
        "account": deal.account.pk,
        "owner": "",
        "pipeline": deal.pipeline.pk,
        "stage": deal.pipeline.stages.get(name="Engaging").pk,
        "amount_0": "24000",
        "amount_1": "EUR",
        "term_months": 12,
        "packet": json.dumps({"risks": "IT prefers the incumbent."}),
    }

    admin_client.post(url, data)
    refused = admin_client.post(
        url,
        data
        | {
            "stage": deal.pipeline.stages.get(name="Won").pk,
            "packet": json.dumps(COMPLETE_PACKET),
        },
    )

    # One required item of seven.
    assert Deal.objects.get(pk=deal.pk).packet_completeness == 14
    assert refused.context["adminform"].form.errors["owner"] == [
        "Give the deal an owner, the AE, before closing it."
    ]
    assert Deal.objects.get(pk=deal.pk).stage.name == "Engaging"


def test_pre_sale_cs_brings_no_csm_when_the_ae_owns_the_account(open_deal):
    deal = open_deal.deal
    deal.amount = Money(60_000, "EUR")
    deal.save()
    deal.account.owner = open_deal.ae
    deal.account.save()
    save_deal_packet(deal, COMPLETE_PACKET)

    handoff = close_deal_won(deal, now=NOW).handoff

    assert [task.title for task in handoff.tasks.all()] == [
        "AE joins the kickoff",
        "AE copied on customer e-mails for two weeks",
    ]
    assert [p.role for p in handoff.participants.all()] == ["sales_overlay"]


def test_a_deal_with_the_longest_name_still_gets_its_renewal(open_deal):
    deal = open_deal.deal
    deal.name = "G" * 200
    deal.save()
    save_deal_packet(deal, COMPLETE_PACKET)

    renewal = close_deal_won(deal, now=NOW).renewal

    assert len(renewal.name) == 200
    assert renewal.name.startswith("Renewal: GGG") and renewal.name.endswith("…")
