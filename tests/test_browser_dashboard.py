"""A RevOps admin reads the bow-tie dashboard, drills down and edits a target.

Four closed leads of the last week, one of them qualified: MQL → SQL is 25 %,
on the 25-35 % target. The admin opens the records behind the number, then
raises the target's least to 30 %, and the dashboard shows it off target.
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from bowtie.models import MetricTarget, Person
from handoffs.models import Lead
from tests.factories import LeadFactory, PersonFactory, TeamFactory
from tests.test_browser import log_in

pytestmark = pytest.mark.browser


@pytest.fixture
def closed_leads(transactional_db):
    team = TeamFactory(name="Inbound DACH")
    received_at = timezone.now() - timedelta(days=2)
    statuses = [
        Lead.Status.QUALIFIED,
        Lead.Status.DISQUALIFIED,
        Lead.Status.NURTURE,
        Lead.Status.DISQUALIFIED,
    ]
    return [
        LeadFactory(
            first_name=f"Lead{number}",
            team=team,
            status=status,
            received_at=received_at,
        )
        for number, status in enumerate(statuses, start=1)
    ]


def test_an_admin_drills_into_a_metric_and_moves_its_target(
    live_server, page, frozen_now, closed_leads
):
    from playwright.sync_api import expect

    admin = PersonFactory(full_name="Rita RevOps", role=Person.Role.REVOPS_ADMIN)
    log_in(page, live_server.url, admin.user.username)

    page.get_by_role("link", name="Dashboard", exact=True).click()
    card = page.locator("#metric-mql_to_sql_conversion")
    expect(card.locator("svg")).to_be_visible()
    expect(card.locator(".metric-value")).to_have_text("25 %")
    expect(card).to_contain_text("Target 25-35 % · on target")

    card.get_by_role("link", name="MQL → SQL conversion").click()
    records = page.locator("#metric-records")
    expect(records.locator("tbody tr")).to_have_count(4)
    expect(records).to_contain_text("Qualified (SQL)")
    expect(page.get_by_text("Live leads received in the period")).to_be_visible()

    page.goto(f"{live_server.url}/settings/targets/")
    page.get_by_label("MQL → SQL conversion: at least").fill("30")
    page.get_by_role("button", name="Save targets").click()
    expect(page.get_by_text("1 target saved.")).to_be_visible()
    assert MetricTarget.objects.get(metric_key="mql_to_sql_conversion").minimum == 30

    page.goto(f"{live_server.url}/dashboard/")
    expect(card).to_contain_text("Target 30-35 % · off target")
