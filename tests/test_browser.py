"""One lead's path through the real pages, driven in headless Chromium.

A visitor sends the public form, the rep it was routed to finds it in "My
queue" with a running countdown, reads why it came to them, logs a call, and
the speed-to-lead dashboard shows how long that took.

Server time is frozen and moved on by hand, so the response time is exact; the
page's clock is Playwright's, so the countdown can be read to the second.
Without Chromium the test skips, unless BOWTIE_REQUIRE_BROWSER=1 (as in CI)
makes that a failure.
"""

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from bowtie.templatetags.bowtie_format import format_duration
from handoffs.models import Handoff, Lead, LeadType, SlaPolicy
from tests.factories import PASSWORD, PersonFactory, RoutingRuleFactory, TeamFactory

pytestmark = pytest.mark.browser

HAND_RAISER_TARGET = timedelta(minutes=5)
RESPONSE_DELAY = timedelta(minutes=2, seconds=40)


@pytest.fixture
def dach_team(db):
    """Two German-speaking reps behind a language rule; the rest goes global."""
    dach = TeamFactory(name="Inbound DACH")
    reps = [
        PersonFactory(full_name=name, team=dach, languages=["de", "en"])
        for name in ("Jonas Weber", "Lena Fischer")
    ]
    everyone_else = TeamFactory(name="Inbound Global")
    PersonFactory(full_name="Liam Byrne", team=everyone_else, languages=["en"])
    RoutingRuleFactory(
        name="German speakers to DACH",
        team=dach,
        priority=10,
        conditions=[{"field": "language", "operator": "in", "value": ["de"]}],
    )
    RoutingRuleFactory(
        name="Everyone else", team=everyone_else, is_default=True, priority=1000
    )
    # A transactional test may start after another one flushed the defaults
    # that the migrations wrote, so the target is set here.
    SlaPolicy.objects.update_or_create(
        handoff_kind=Handoff.Kind.LEAD_TO_SALES,
        lead_type=LeadType.HAND_RAISER,
        milestone_key="first_response",
        defaults={
            "label": "First response",
            "is_active": True,
            "target_seconds": int(HAND_RAISER_TARGET.total_seconds()),
        },
    )
    return {"team": dach, "reps": reps}


def send_public_form(page, base_url: str) -> None:
    page.goto(f"{base_url}/form/")
    page.get_by_label("First name").fill("Anna")
    page.get_by_label("Last name").fill("Schmidt")
    page.get_by_label("Work e-mail").fill("Anna.Schmidt@Kraftwerk-Solar.de")
    page.get_by_label("Company").fill("Kraftwerk Solar")
    page.get_by_label("Job title").fill("Leiterin Vertrieb")
    page.get_by_label("Country").select_option("DE")
    page.get_by_label("Preferred language").select_option("de")
    page.get_by_label("I want to").select_option("demo_request")
    page.get_by_role("button", name="Send").click()


def log_in(page, base_url: str, username: str) -> None:
    page.goto(f"{base_url}/login/")
    page.get_by_label("User name").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


def test_hand_raiser_goes_from_form_to_dashboard(
    live_server, page, frozen_now, dach_team
):
    from playwright.sync_api import expect

    start = timezone.now()
    page.clock.install(time=start)

    send_public_form(page, live_server.url)

    expect(page.get_by_role("heading", name="Thank you")).to_be_visible()
    lead = Lead.objects.get(email="anna.schmidt@kraftwerk-solar.de")
    owner = lead.owner
    assert owner in dach_team["reps"]
    assert lead.team == dach_team["team"]
    assert lead.language == "de"
    assert lead.lead_type == LeadType.HAND_RAISER
    assert lead.received_at == start
    reason = lead.decisions.get().reason
    assert "German speakers to DACH" in reason

    log_in(page, live_server.url, owner.user.username)

    expect(page).to_have_url(f"{live_server.url}/queue/")
    expect(page.get_by_role("heading", name="My queue")).to_be_visible()
    row = page.locator(f"tr[data-lead='{lead.pk}']")
    expect(row.get_by_role("link", name="Anna Schmidt")).to_be_visible()
    countdown = row.locator("time.countdown")
    page.clock.pause_at(start + timedelta(minutes=2))
    expect(countdown).to_have_text("3:00 left")
    page.clock.run_for(1000)
    expect(countdown).to_have_text("2:59 left")

    row.get_by_role("link", name="Anna Schmidt").click()

    expect(page.get_by_role("heading", name="Anna Schmidt")).to_be_visible()
    received = timezone.localtime(lead.received_at, ZoneInfo(owner.time_zone))
    expect(
        page.get_by_text(f"received {received.day} {received:%b %Y, %H:%M %Z}")
    ).to_be_visible()
    expect(page.locator(".routing-reason")).to_have_text(reason)
    expect(page.get_by_text(f"Owner: {owner.full_name}")).to_be_visible()

    frozen_now.shift(RESPONSE_DELAY)
    page.get_by_label("What did you do?").select_option("call")
    page.get_by_label("Notes").fill("Demo booked for Tuesday.")
    page.get_by_role("button", name="Log touch").click()

    expect(page.get_by_role("status")).to_have_text("Touch logged.")
    lead.refresh_from_db()
    response_time = lead.first_response_at - lead.received_at
    assert response_time == RESPONSE_DELAY
    shown = format_duration(response_time)
    assert shown == "2 min 40 s"
    expect(page.locator(".response-time")).to_have_text(shown)

    page.get_by_role("link", name="Speed to lead").click()

    expect(page.locator("#median-response")).to_have_text(shown)
    expect(page.locator("#p90-response")).to_have_text(shown)
    expect(page.get_by_text("1 of 1 lead responded")).to_be_visible()
    hand_raisers = page.locator("table.metrics tr", has_text="Hand-raiser")
    expect(hand_raisers.locator("td")).to_have_text(
        # Elapsed and business time agree: the team sets no working hours.
        ["Hand-raiser", "1", "1", shown, shown, shown, shown, "0 % (0)", "– (0/0)"]
    )
