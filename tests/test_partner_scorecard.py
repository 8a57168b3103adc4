"""The partner scorecard: exact figures per partner, in-house as its own row.

The pure scoring is tested on plain rows; the page and its CSV on four
engagements made through the services at set days:

| engagement | partner  | assigned | kickoff plan / done | go-live plan / done | CS  |
|------------|----------|----------|---------------------|---------------------|-----|
| Globex     | Acme     | 1 Mar    | 5 Mar / 4 Mar       | 20 Mar / 19 Mar     | 4.0 |
| Hooli      | Acme     | 3 Mar    | 8 Mar / 10 Mar      | 25 Mar / –          | –   |
| Initech    | Birch    | 1 Mar    | 10 Mar / –          | 30 Apr / –          | –   |
| Umbrella   | in-house | 1 Mar    | 1 Mar / 2 Mar       | – / –               | –   |

Globex's hypercare ends on 2 April, as planned, when CS takes it over. The
scorecard is read on 5 April 2027.
"""

import re
from datetime import UTC, date, datetime, timedelta
from html import unescape

import pytest
import time_machine
from django.urls import reverse

from bowtie.models import Pipeline
from handoffs.closing import (
    CS_KIND,
    accept_implementation_handoff,
    packet_items,
    rate_handoff,
)
from handoffs.models import Handoff
from partners.handover import save_cs_packet
from partners.models import Engagement, Partner, ReadinessCondition
from partners.scorecard import (
    IN_HOUSE,
    EngagementFacts,
    days_to_kickoff,
    is_go_live_due,
    score_partners,
)
from partners.services import assign_partner, log_milestone, update_readiness
from tests.factories import PersonFactory
from tests.partner_fixtures import build_partner_world, build_won_deal

TODAY = date(2027, 4, 5)
# 10:00 in Berlin, where every vendor person works.
T = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)


def row_text(page: str, row_id: str) -> str:
    row = re.search(rf'<tr id="{row_id}">(.*?)</tr>', page, re.DOTALL).group(1)
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", row)).split())


def on(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 9, 0, tzinfo=UTC)


def test_days_to_kickoff_counts_from_the_latest_assignment():
    facts = EngagementFacts(
        partner_id=1, status="implementing", assigned_on=date(2027, 3, 1)
    )
    held = EngagementFacts(
        partner_id=1,
        status="implementing",
        assigned_on=date(2027, 3, 1),
        kickoff_on=date(2027, 3, 9),
    )
    # Reassigned after the previous partner's kickoff.
    reassigned = EngagementFacts(
        partner_id=1,
        status="implementing",
        assigned_on=date(2027, 3, 10),
        kickoff_on=date(2027, 3, 9),
    )

    assert days_to_kickoff(facts) is None
    assert days_to_kickoff(held) == 8
    assert days_to_kickoff(reassigned) is None


def test_go_live_is_due_once_planned_by_today_or_done():
    base = {"partner_id": None, "status": "implementing", "assigned_on": TODAY}

    assert is_go_live_due(EngagementFacts(**base), TODAY) is False
    assert (
        is_go_live_due(EngagementFacts(**base, go_live_planned_on=TODAY), TODAY) is True
    )
    assert (
        is_go_live_due(
            EngagementFacts(**base, go_live_planned_on=TODAY + timedelta(days=1)),
            TODAY,
        )
        is False
    )
    # Live before the day planned still counts as due: it went live.
    assert (
        is_go_live_due(
            EngagementFacts(
                **base,
                go_live_planned_on=TODAY + timedelta(days=9),
                go_live_on=TODAY,
            ),
            TODAY,
        )
        is True
    )


def test_partners_are_scored_one_row_each_with_in_house_and_the_total():
    march = date(2027, 3, 1)
    facts = [
        EngagementFacts(
            partner_id=1,
            status="handed_to_cs",
            assigned_on=march,
            kickoff_on=date(2027, 3, 4),
            go_live_planned_on=date(2027, 3, 20),
            go_live_on=date(2027, 3, 19),
            milestone_dates=(
                (date(2027, 3, 5), date(2027, 3, 4)),
                (None, date(2027, 3, 8)),
                (date(2027, 3, 20), date(2027, 3, 19)),
                (date(2027, 4, 2), date(2027, 4, 3)),
            ),
            handoff_rating=4.2,
        ),
        EngagementFacts(
            partner_id=1,
            status="implementing",
            assigned_on=date(2027, 3, 3),
            kickoff_on=date(2027, 3, 10),
            go_live_planned_on=date(2027, 3, 25),
            milestone_dates=((date(2027, 3, 8), date(2027, 3, 10)),),
        ),
        EngagementFacts(partner_id=None, status="kickoff_pending", assigned_on=march),
    ]

    card = score_partners([(1, "Acme"), (2, "Birch")], facts, TODAY)

    acme, birch, in_house = card.rows
    assert [row.label for row in card.rows] == ["Acme", "Birch", IN_HOUSE]
    assert (acme.engagement_count, acme.handed_to_cs_count) == (2, 1)
    assert acme.implementing_count == 1
    assert acme.days_to_kickoff == [3, 7]
    assert acme.median_days_to_kickoff == 5
    assert (acme.on_time_count, acme.dated_milestone_count) == (2, 4)
    assert acme.on_time_rate == 0.5
    assert (acme.gone_live_count, acme.go_live_due_count) == (1, 2)
    assert acme.go_live_rate == 0.5
    assert (acme.rated_count, acme.mean_rating) == (1, 4.2)
    assert birch.engagement_count == 0
    assert (birch.median_days_to_kickoff, birch.on_time_rate) == (None, None)
    assert (birch.go_live_rate, birch.mean_rating) == (None, None)
    assert (in_house.engagement_count, in_house.kickoff_pending_count) == (1, 1)
    assert in_house.go_live_rate is None
    assert card.overall.engagement_count == 3
    assert card.overall.median_days_to_kickoff == 5


def test_a_kickoff_over_two_weeks_raises_the_alert():
    facts = [
        EngagementFacts(
            partner_id=1,
            status="implementing",
            assigned_on=date(2027, 3, 1),
            kickoff_on=date(2027, 3, 1) + timedelta(days=days),
        )
        for days in (14, 15, 16)
    ]

    (slow, _in_house) = score_partners([(1, "Slow")], facts, TODAY).rows

    assert slow.median_days_to_kickoff == 15
    assert slow.is_kickoff_alert is True


def complete_cs_packet() -> dict:
    """Every item of the CS packet template filled in."""
    packet = {}
    for item in packet_items(CS_KIND):
        if item.kind == "rows":
            packet[item.key] = [{part["key"]: "Done." for part in item.parts}]
        else:
            packet[item.key] = "Done."
    return packet


def log(engagement, kind, actor, day: date, **dates):
    with time_machine.travel(on(day), tick=False):
        log_milestone(engagement, kind, actor, **dates)


@pytest.fixture
def scored(db, settings):
    settings.BOWTIE_HYPERCARE_DAYS = 14
    with time_machine.travel(T, tick=False):
        world = build_partner_world()
        pipeline = Pipeline.objects.get(kind="new_business", is_default=True)
        umbrella = build_won_deal("Umbrella", world.ae, pipeline)
        in_house = assign_partner(umbrella.handoffs.get(), world.vendor, None)
    with time_machine.travel(T + timedelta(days=2), tick=False):
        hooli_deal = build_won_deal("Hooli", world.ae, pipeline)
        hooli = assign_partner(hooli_deal.handoffs.get(), world.vendor, world.acme)
    acme, globex = world.acme_actor, world.acme_engagement
    initech = world.birch_engagement

    log(globex, "kickoff", acme, date(2027, 3, 2), planned_on=date(2027, 3, 5))
    log(globex, "go_live", acme, date(2027, 3, 2), planned_on=date(2027, 3, 20))
    log(
        globex,
        "kickoff",
        acme,
        date(2027, 3, 4),
        actual_on=date(2027, 3, 4),
        ae_attended=True,
    )
    for key in ReadinessCondition.Key.values:
        update_readiness(
            globex, key, acme, owner_name="Pia", evidence="Signed off.", is_met=True
        )
    log(globex, "go_live", acme, date(2027, 3, 19), actual_on=date(2027, 3, 19))
    save_cs_packet(globex, acme, complete_cs_packet())
    log(globex, "hypercare_end", acme, date(2027, 4, 2), actual_on=date(2027, 4, 2))
    cs_handoff = Handoff.objects.get(kind=CS_KIND, deal=globex.deal)
    cs_handoff = accept_implementation_handoff(
        cs_handoff, world.csm, now=on(date(2027, 4, 2))
    )
    marks = {"completeness": 4, "promise_alignment": 4, "sentiment_continuity": 5}
    rate_handoff(
        cs_handoff,
        world.csm,
        marks | {"context_transfer": 3, "stakeholder_mapping": 4},
        now=on(date(2027, 4, 3)),
    )

    log(hooli, "kickoff", acme, date(2027, 3, 4), planned_on=date(2027, 3, 8))
    log(hooli, "go_live", acme, date(2027, 3, 4), planned_on=date(2027, 3, 25))
    log(
        hooli,
        "kickoff",
        acme,
        date(2027, 3, 10),
        actual_on=date(2027, 3, 10),
        ae_attended=False,
    )

    birch = world.birch_actor
    log(initech, "kickoff", birch, date(2027, 3, 3), planned_on=date(2027, 3, 10))
    log(initech, "go_live", birch, date(2027, 3, 3), planned_on=date(2027, 4, 30))

    vendor = world.vendor
    log(in_house, "kickoff", vendor, date(2027, 3, 1), planned_on=date(2027, 3, 1))
    log(
        in_house,
        "kickoff",
        vendor,
        date(2027, 3, 2),
        actual_on=date(2027, 3, 2),
        ae_attended=True,
    )
    return world


def test_the_scorecard_page_shows_each_partner_exactly(client, scored):
    with time_machine.travel(on(TODAY), tick=False):
        client.force_login(scored.head.user)
        page = client.get(reverse("partner-scorecard"))

    html = page.content.decode()
    assert page.status_code == 200
    assert Engagement.objects.get(deal__name="Globex platform").status == (
        Engagement.Status.HANDED_TO_CS
    )
    assert row_text(html, "scorecard-acme-partners") == (
        "Acme Partners 2 1 5 of 2 75 % 3 of 4 50 % 1 of 2 4.0 of 1"
    )
    assert row_text(html, "scorecard-birch-consulting") == (
        "Birch Consulting 1 0 – – – –"
    )
    assert row_text(html, "scorecard-in-house") == "In-house 1 0 1 of 1 0 % 0 of 1 – –"
    assert row_text(html, "scorecard-all-engagements") == (
        "All engagements 4 1 3 of 3 60 % 3 of 5 50 % 1 of 2 4.0 of 1"
    )
    assert "<svg" in html


def test_the_scorecard_exports_the_same_figures_to_csv(client, scored):
    Partner.objects.create(name="Dormant Ltd", slug="dormant", is_active=False)
    with time_machine.travel(on(TODAY), tick=False):
        client.force_login(scored.head.user)
        export = client.get(reverse("partner-scorecard"), {"format": "csv"})

    assert export["Content-Disposition"] == (
        'attachment; filename="partner-scorecard-2027-04-05.csv"'
    )
    assert export.content.decode().splitlines() == [
        "partner,engagements,kickoff_pending,implementing,hypercare,handed_to_cs,"
        "kickoffs,median_days_to_kickoff,dated_milestones,milestones_on_time,"
        "on_time_rate,go_live_due,gone_live,go_live_rate,rated_handoffs,mean_rating",
        "Acme Partners,2,0,1,0,1,2,5,4,3,0.75,2,1,0.5,1,4",
        "Birch Consulting,1,1,0,0,0,0,,0,0,,0,0,,0,",
        "In-house,1,0,1,0,0,1,1,1,0,0,0,0,,0,",
        "All engagements,4,1,2,0,1,3,3,5,3,0.6,2,1,0.5,1,4",
    ]


def test_the_scorecard_is_for_managers_revops_and_implementation(client, scored):
    manager = PersonFactory(role="manager")
    sdr = PersonFactory(role="sdr")

    client.force_login(scored.ae.user)
    ae = client.get(reverse("partner-scorecard"))
    client.force_login(sdr.user)
    refused = client.get(reverse("partner-scorecard"))
    client.force_login(manager.user)
    allowed = client.get(reverse("partner-scorecard"))

    assert (ae.status_code, refused.status_code) == (403, 403)
    assert allowed.status_code == 200
    assert b'href="/partners/scorecard/"' in allowed.content


def test_the_scorecard_reads_in_the_same_queries_for_more_engagements(
    client, scored, django_assert_num_queries
):
    client.force_login(scored.head.user)
    # Session, user, person, partners, engagements with their rating and
    # who assigned them, and their milestones.
    expected = 6

    with django_assert_num_queries(expected):
        client.get(reverse("partner-scorecard"), {"format": "csv"})
    pipeline = Pipeline.objects.get(kind="new_business", is_default=True)
    deal = build_won_deal("Vandelay", scored.ae, pipeline)
    assign_partner(deal.handoffs.get(), scored.vendor, scored.birch)
    with django_assert_num_queries(expected):
        export = client.get(reverse("partner-scorecard"), {"format": "csv"})

    assert export.content.decode().splitlines()[2].startswith("Birch Consulting,2,")
