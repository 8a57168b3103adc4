"""A partner's person takes an engagement to go-live, in headless Chromium.

They log in at the partner login, log the kickoff with the AE there, are
refused go-live with the unmet readiness conditions named, meet all five,
go live, and find another partner's engagement answering 404.
"""

import pytest
from django.utils import timezone

from partners.models import Engagement
from tests.partner_fixtures import PASSWORD, build_partner_world

pytestmark = pytest.mark.browser

CONDITIONS = [
    ("tasks_work", "Ivy Impl", "End-to-end run of the quote flow, 3 March."),
    ("people_trained", "Pia Acme", "Admin and user trainings held."),
    ("data_migrated", "Pia Acme", "Migration log signed by Ada."),
    ("support_plan", "Ivy Impl", "Support runbook v2."),
    ("rollback_plan", "Pia Acme", "Rollback tested on staging."),
]


@pytest.fixture
def world(transactional_db, frozen_now):
    return build_partner_world()


def test_partner_logs_kickoff_is_refused_go_live_then_goes_live(
    live_server, page, frozen_now, world
):
    from playwright.sync_api import expect

    # The member reads dates in UTC, the zone their day is judged in.
    today = timezone.now().date().isoformat()
    page.goto(f"{live_server.url}/partner/login/")
    page.get_by_label("E-mail").fill("pia@acme.example")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()

    expect(page).to_have_url(f"{live_server.url}/partner/")
    expect(page.get_by_text("Partner portal · Acme Partners")).to_be_visible()
    expect(page.get_by_role("link", name="Initech platform")).to_have_count(0)
    # The search filters as one types, among their own engagements only.
    page.get_by_label("Search by account or deal").fill("Initech")
    expect(
        page.get_by_text("None of your engagements matches “Initech”.")
    ).to_be_visible()
    page.get_by_label("Search by account or deal").fill("glob")
    page.get_by_role("link", name="Globex platform").click()

    kickoff = page.locator("#milestone-kickoff")
    kickoff.get_by_label("Planned date").fill(today)
    kickoff.get_by_label("Actual date").fill(today)
    kickoff.get_by_label("Notes").fill("Scope and plan agreed with Ada.")
    kickoff.get_by_label("Yes").check()
    kickoff.get_by_role("button", name="Save kickoff").click()

    expect(page.get_by_role("status")).to_have_text("Kickoff logged.")
    expect(page.locator("#engagement-status")).to_have_text("Implementing")
    expect(page.locator("#ae-attended")).to_have_text("attended")

    go_live = page.locator("#milestone-go_live")
    go_live.get_by_label("Actual date").fill(today)
    go_live.get_by_role("button", name="Save go-live").click()

    expect(page.locator("#milestone-go_live").get_by_role("alert")).to_have_text(
        "Go-live needs every readiness condition met. Not yet: Tasks work end to "
        "end, People trained, Data migrated, Support plan in place, Rollback plan "
        "exists."
    )
    expect(
        page.locator("#milestone-go_live").get_by_label("Actual date")
    ).to_have_value(today)
    expect(page.locator("#engagement-status")).to_have_text("Implementing")

    for key, owner, evidence in CONDITIONS:
        condition = page.locator(f"#readiness-{key}")
        condition.get_by_label("Owner").fill(owner)
        condition.get_by_label("Evidence").fill(evidence)
        condition.get_by_label("Met").check()
        condition.get_by_role("button", name="Save").click()
        expect(page.locator(f"#readiness-row-{key} .pill")).to_have_text("met")
    expect(page.locator("#readiness-summary")).to_have_text(
        "All five conditions are met."
    )

    go_live = page.locator("#milestone-go_live")
    go_live.get_by_label("Actual date").fill(today)
    go_live.get_by_role("button", name="Save go-live").click()

    expect(page.get_by_role("status")).to_have_text("Go-live logged.")
    expect(page.locator("#engagement-status")).to_have_text("Live, in hypercare")
    engagement = Engagement.objects.get(pk=world.acme_engagement.pk)
    assert engagement.status == Engagement.Status.HYPERCARE
    assert engagement.ae_attended_kickoff is True

    response = page.goto(
        f"{live_server.url}/partner/engagements/{world.birch_engagement.pk}/"
    )

    assert response.status == 404
    expect(page.get_by_role("heading", name="Not found")).to_be_visible()
    expect(page.get_by_text("Initech")).to_have_count(0)
