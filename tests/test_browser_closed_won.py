"""An AE's packet, refused then accepted at Closed Won, in headless Chromium.

The AE fills in part of the packet, is refused Closed Won with the missing
items listed, completes it, closes the deal; the implementation lead finds
the handoff in the queue with its due times, and the renewal exists.
"""

from datetime import datetime, timedelta

import pytest
from djmoney.money import Money

from bowtie.models import Deal, Pipeline
from handoffs.models import Handoff
from tests.factories import AccountFactory, ContactFactory, PersonFactory, TeamFactory
from tests.test_browser import log_in

pytestmark = pytest.mark.browser


@pytest.fixture
def engaged_deal(transactional_db):
    sales = TeamFactory(name="Enterprise AEs")
    ae = PersonFactory(full_name="Alex Andersen", role="ae", team=sales)
    implementation = TeamFactory(name="Implementation", function="implementation")
    impl_lead = PersonFactory(
        full_name="Ivy Ingram", role="implementation", team=implementation
    )
    implementation.head = impl_lead
    implementation.save()
    account = AccountFactory(name="Globex")
    ContactFactory(account=account, first_name="Ada", last_name="Lind")
    pipeline = Pipeline.objects.get(kind="new_business", is_default=True)
    deal = Deal.objects.create(
        name="Globex platform",
        account=account,
        owner=ae,
        pipeline=pipeline,
        stage=pipeline.stages.get(name="Engaging"),
        amount=Money(24_000, "EUR"),
    )
    return {"deal": deal, "ae": ae, "impl_lead": impl_lead}


def fill_row(page, item: str, number: int, values: dict) -> None:
    for part, value in values.items():
        field = page.locator(f"[name='{item}-{number}-{part}']")
        if field.evaluate("element => element.tagName") == "SELECT":
            field.select_option(value)
        else:
            field.fill(value)


def test_ae_is_refused_then_closes_and_implementation_finds_the_handoff(
    live_server,
    page,
    frozen_now,
    engaged_deal,
):
    from playwright.sync_api import expect

    deal = engaged_deal["deal"]
    log_in(page, live_server.url, engaged_deal["ae"].user.username)
    page.goto(f"{live_server.url}/deals/")
    page.get_by_role("link", name="Globex platform").click()

    # Prefilled from what Bowtie knows: the origin and the account's contact.
    expect(page.get_by_label("How the deal came about")).to_have_value(
        "Globex platform, at €24,000.00. Owned by Alex Andersen (Enterprise AEs)."
    )
    expect(page.locator("[name='stakeholders-0-person']")).to_have_value("Ada Lind")
    fill_row(page, "stakeholders", 0, {"role": "champion", "sentiment": "positive"})
    page.get_by_label("Risks and internal politics").fill("IT prefers the incumbent.")
    # The prefilled history, the stakeholder and the risks: 3 of 7 items.
    expect(page.locator("#completeness-percent")).to_have_text("42 %")

    page.get_by_role("button", name="Close won").click()

    expect(
        page.get_by_text("Not closed: the packet lacks required items.")
    ).to_be_visible()
    for missing in (
        "Goals: Goals with measurable success criteria: add at least one.",
        "Commitments: Every commitment the AE made: add at least one.",
        "Technical requirements: Requirements: add at least one.",
        "Timeline: The customer's timeline and critical events: add at least one.",
    ):
        expect(page.get_by_role("status").filter(has_text=missing)).to_be_visible()
    assert Handoff.objects.count() == 0

    fill_row(
        page,
        "goals",
        0,
        {
            "metric": "Time to quote",
            "baseline": "5 days",
            "target": "1 day",
            "by_when": "2027-06-30",
        },
    )
    fill_row(
        page,
        "commitments",
        0,
        {
            "commitment": "SSO in month one",
            "kind": "explicit",
            "owner": "Ivy",
            "due_on": "2027-02-28",
        },
    )
    fill_row(
        page,
        "technical_requirements",
        0,
        {"area": "integration", "requirement": "Salesforce sync"},
    )
    fill_row(page, "timeline", 0, {"event": "Board review", "on": "2027-03-15"})
    expect(page.locator("#completeness-percent")).to_have_text("100 %")
    page.get_by_role("button", name="Close won").click()

    expect(
        page.get_by_text("Closed won. The implementation handoff is open")
    ).to_be_visible()
    deal.refresh_from_db()
    assert deal.stage.name == "Won"
    renewal = Deal.objects.get(renews=deal)
    assert renewal.pipeline.kind == "renewals"

    page.get_by_role("button", name="Log out").click()
    log_in(page, live_server.url, engaged_deal["impl_lead"].user.username)
    page.goto(f"{live_server.url}/implementation/")

    row = page.locator("#implementation-handoffs tr", has_text="Globex platform")
    expect(row).to_be_visible()
    handoff = Handoff.objects.get(deal=deal)
    briefing_due = handoff.opened_at + timedelta(hours=48)
    expect(row).to_contain_text("Internal AE briefing: due")
    shown = row.locator("time.countdown").first.get_attribute("datetime")
    assert datetime.fromisoformat(shown) == briefing_due
