"""The speed-to-lead figures, on the page and in the CSV export.

The leads are made through the services at set times, so every figure is known:

| lead      | team | type        | received | first response      | outcome      |
|-----------|------|-------------|----------|---------------------|--------------|
| anna      | DACH | hand-raiser | T        | call after 60 s     | open         |
| ben       | EMEA | hand-raiser | T+10 min | e-mail after 120 s  | qualified    |
| carla     | DACH | hand-raiser | T+20 min | closed after 300 s  | disqualified |
| dan       | EMEA | organic     | T+30 min | call after 600 s    | nurture      |
| eva       | EMEA | organic     | T+40 min | none, 10 min target | open         |
| finn      | EMEA | hand-raiser | T+118 min| none, not yet due   | open         |
| history   | EMEA | hand-raiser | T-1 day  | imported            | qualified    |
| old       | EMEA | hand-raiser | T-40 days| outside the period  | open         |

The dashboard looks at the 30 days before NOW = T+2 h.
"""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse

from handoffs import metrics
from handoffs.metrics import GroupStats
from handoffs.models import Handoff, IntakeChannel, Lead, LeadType, SlaPolicy
from handoffs.services import disposition_lead, intake_lead, log_touch
from tests.factories import PersonFactory, RoutingRuleFactory, TeamFactory

T = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
NOW = T + timedelta(hours=2)
MINUTE = timedelta(minutes=1)


@pytest.fixture
def two_teams(sales_team):
    """German speakers go to DACH; everyone else to the EMEA team."""
    dach = TeamFactory(name="Inbound DACH")
    PersonFactory(full_name="Jonas Weber", team=dach)
    RoutingRuleFactory(
        name="German speakers to DACH",
        team=dach,
        priority=10,
        conditions=[{"field": "language", "operator": "in", "value": ["de"]}],
    )
    targets = {LeadType.HAND_RAISER: 5 * MINUTE, LeadType.ORGANIC: 10 * MINUTE}
    for lead_type, target in targets.items():
        SlaPolicy.objects.update_or_create(
            handoff_kind=Handoff.Kind.LEAD_TO_SALES,
            lead_type=lead_type,
            milestone_key="first_response",
            defaults={
                "label": "First response",
                "is_active": True,
                "target_seconds": int(target.total_seconds()),
            },
        )
    return {"dach": dach, "emea": sales_team["team"]}


def receive(name: str, at, *, language="", form_type="demo_request", **options):
    submission = {
        "email": f"{name}@example-customer.com",
        "first_name": name.title(),
        "language": language,
        "form_type": form_type,
    }
    return intake_lead(submission, channel=IntakeChannel.FORM, now=at, **options).lead


@pytest.fixture
def period_leads(two_teams):
    anna = receive("anna", T, language="de")
    log_touch(anna, anna.owner, "call", now=T + timedelta(seconds=60))

    ben = receive("ben", T + 10 * MINUTE)
    log_touch(ben, ben.owner, "email", now=T + 10 * MINUTE + timedelta(seconds=120))
    disposition_lead(ben, ben.owner, Lead.Status.QUALIFIED, now=T + 50 * MINUTE)

    carla = receive("carla", T + 20 * MINUTE, language="de")
    disposition_lead(
        carla,
        carla.owner,
        Lead.Status.DISQUALIFIED,
        "Student project",
        now=T + 20 * MINUTE + timedelta(seconds=300),
    )

    dan = receive("dan", T + 30 * MINUTE, form_type="")
    log_touch(dan, dan.owner, "call", now=T + 30 * MINUTE + timedelta(seconds=600))
    disposition_lead(dan, dan.owner, Lead.Status.NURTURE, now=T + 60 * MINUTE)

    receive("eva", T + 40 * MINUTE, form_type="")
    receive("finn", T + 118 * MINUTE)
    receive(
        "history", T - timedelta(days=1), historical=True, status=Lead.Status.QUALIFIED
    )
    receive("old", T - timedelta(days=40))
    return two_teams


@pytest.fixture
def manager_client(client, period_leads):
    # RevOps sees every team; managers and reps see theirs (tested below).
    manager = PersonFactory(
        full_name="Mara Keller",
        role="revops_admin",
        team=period_leads["dach"],
        time_zone="Europe/Berlin",
    )
    client.force_login(manager.user)
    return client


def test_speed_to_lead_figures_exact_for_known_leads(period_leads):
    leads = metrics.leads_in_period(NOW - timedelta(days=30), NOW)

    stats = metrics.speed_to_lead(leads, NOW)

    assert stats.overall == GroupStats(
        label="All leads",
        lead_count=6,
        responded_count=4,
        median_seconds=210.0,
        p90_seconds=600.0,
        unworked_count=1,
        qualified_count=1,
        closed_count=3,
        business_median_seconds=210.0,
        business_p90_seconds=600.0,
    )
    # The imported qualified lead counts nowhere: its outcome was not ours.
    assert stats.overall.unworked_rate == pytest.approx(1 / 6)
    assert stats.overall.conversion_rate == pytest.approx(1 / 3)
    assert stats.by_lead_type == [
        GroupStats(
            label="Hand-raiser",
            lead_count=4,
            responded_count=3,
            median_seconds=120.0,
            p90_seconds=300.0,
            unworked_count=0,
            qualified_count=1,
            closed_count=2,
            business_median_seconds=120.0,
            business_p90_seconds=300.0,
        ),
        GroupStats(
            label="Organic",
            lead_count=2,
            responded_count=1,
            median_seconds=600.0,
            p90_seconds=600.0,
            unworked_count=1,
            qualified_count=0,
            closed_count=1,
            business_median_seconds=600.0,
            business_p90_seconds=600.0,
        ),
    ]
    assert stats.by_team == [
        GroupStats(
            label="Inbound DACH",
            lead_count=2,
            responded_count=2,
            median_seconds=180.0,
            p90_seconds=300.0,
            unworked_count=0,
            qualified_count=0,
            closed_count=1,
            business_median_seconds=180.0,
            business_p90_seconds=300.0,
        ),
        GroupStats(
            label="Inbound EMEA",
            lead_count=4,
            responded_count=2,
            median_seconds=360.0,
            p90_seconds=600.0,
            unworked_count=1,
            qualified_count=1,
            closed_count=2,
            business_median_seconds=360.0,
            business_p90_seconds=600.0,
        ),
    ]


def test_speed_to_lead_figures_for_one_team_only(period_leads):
    leads = metrics.leads_in_period(NOW - timedelta(days=30), NOW, period_leads["dach"])

    stats = metrics.speed_to_lead(leads, NOW)

    assert stats.overall == GroupStats(
        label="All leads",
        lead_count=2,
        responded_count=2,
        median_seconds=180.0,
        p90_seconds=300.0,
        unworked_count=0,
        qualified_count=0,
        closed_count=1,
        business_median_seconds=180.0,
        business_p90_seconds=300.0,
    )
    assert [row.label for row in stats.by_team] == ["Inbound DACH"]


def test_speed_to_lead_csv_exact(manager_client):
    with time_machine.travel(NOW, tick=False):
        response = manager_client.get(reverse("speed-to-lead"), {"format": "csv"})

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == (
        'attachment; filename="speed-to-lead-2026-01-31-to-2026-03-02.csv"'
    )
    assert response.content.decode() == (
        "group,name,leads,responded,median_seconds,p90_seconds,"
        "business_median_seconds,business_p90_seconds,unworked,"
        "unworked_rate,qualified,closed,conversion_rate\r\n"
        "all,All leads,6,4,210,600,210,600,1,0.1667,1,3,0.3333\r\n"
        "lead type,Hand-raiser,4,3,120,300,120,300,0,0,1,2,0.5\r\n"
        "lead type,Organic,2,1,600,600,600,600,1,0.5,0,1,0\r\n"
        "team,Inbound DACH,2,2,180,300,180,300,0,0,0,1,0\r\n"
        "team,Inbound EMEA,4,2,360,600,360,600,1,0.25,1,2,0.5\r\n"
    )


def test_speed_to_lead_csv_keeps_team_filter(manager_client, period_leads):
    team = period_leads["dach"]

    with time_machine.travel(NOW, tick=False):
        response = manager_client.get(
            reverse("speed-to-lead"), {"format": "csv", "team": team.pk, "days": "7"}
        )

    assert response.content.decode().splitlines() == [
        "group,name,leads,responded,median_seconds,p90_seconds,"
        "business_median_seconds,business_p90_seconds,unworked,"
        "unworked_rate,qualified,closed,conversion_rate",
        "all,All leads,2,2,180,300,180,300,0,0,0,1,0",
        "lead type,Hand-raiser,2,2,180,300,180,300,0,0,0,1,0",
        "team,Inbound DACH,2,2,180,300,180,300,0,0,0,1,0",
    ]


def test_speed_to_lead_page_shows_figures_in_words(manager_client):
    with time_machine.travel(NOW, tick=False):
        response = manager_client.get(reverse("speed-to-lead"))

    page = response.content.decode()
    assert response.status_code == 200
    assert '<strong id="median-response">3 min 30 s</strong>' in page
    assert '<strong id="p90-response">10 min</strong>' in page
    assert '<strong id="unworked-rate">16.7 %</strong>' in page
    assert '<strong id="conversion-rate">33.3 %</strong>' in page
    assert "4 of 6 leads responded" in page
    assert "<script" not in page.split("</head>", 1)[1]
    assert 'href="?days=30&amp;format=csv"' in page


def test_speed_to_lead_page_ignores_unknown_filters(manager_client):
    with time_machine.travel(NOW, tick=False):
        response = manager_client.get(
            reverse("speed-to-lead"), {"days": "5", "team": "nonsense"}
        )

    assert response.status_code == 200
    assert "4 of 6 leads responded" in response.content.decode()


def test_dashboard_shows_a_rep_only_their_own_team(client, sales_team):
    other_team = TeamFactory(name="Other team")
    rep = sales_team["reps"][0]
    client.force_login(rep.user)

    page = client.get("/dashboard/speed-to-lead/")
    forged = client.get(f"/dashboard/speed-to-lead/?team={other_team.pk}&format=csv")

    assert [team.name for team in page.context["filters"].fields["team"].queryset] == [
        "Inbound EMEA"
    ]
    assert forged.status_code == 200
    assert "Other team" not in forged.content.decode()
