"""A CSM's signal becomes an upsell for the right owner, in headless Chromium.

The CSM flags a signal on the account page and converts it to an upsell; the
cross-sell question shows only for cross-sells. The owner the bands give the
deal (EUR 24,000 a year: the account manager) finds it in their expansion
queue with the Upsell stages and the CSM brief, and accepts it.
"""

import pytest

from bowtie.models import Deal
from expansion.models import Signal
from handoffs.models import Handoff
from tests.test_browser import log_in
from tests.test_expansion_deals import build_expansion_world

pytestmark = pytest.mark.browser


@pytest.fixture
def world(transactional_db):
    return build_expansion_world(with_signal=False)


def test_a_csm_signal_becomes_an_upsell_the_owner_finds_with_its_brief(
    live_server, page, frozen_now, world
):
    from playwright.sync_api import expect

    log_in(page, live_server.url, world.csm.user.username)
    page.goto(f"{live_server.url}/accounts/{world.account.pk}/")
    panel = page.locator("#signals")
    expect(panel).to_contain_text("No open signal for Globex.")

    panel.get_by_label("Signal", exact=True).select_option(
        label="Usage: 80 % or more of seats used"
    )
    panel.get_by_label("What you saw").fill("18 of 20 seats taken; they want more.")
    panel.get_by_role("button", name="Flag the signal").click()

    expect(
        page.get_by_text("Signal flagged: Usage: 80 % or more of seats used.")
    ).to_be_visible()
    signal = Signal.objects.get(account=world.account)
    card = page.locator(f"#signal-{signal.pk}")
    expect(card).to_contain_text("18 of 20 seats taken; they want more.")

    card.get_by_text("Turn into an expansion deal").click()
    litmus = card.locator("fieldset.litmus")
    expect(litmus).to_be_hidden()
    card.get_by_label("Type").select_option(label="Cross-sell (warm)")
    expect(litmus).to_be_visible()
    card.get_by_label("Type").select_option(label="Upsell")
    expect(litmus).to_be_hidden()
    card.get_by_label("Deal name").fill("Globex: 20 more seats")
    card.get_by_label("Amount").fill("24000")
    card.get_by_role("button", name="Open the expansion deal").click()

    expect(
        page.get_by_text("Upsell deal “Globex: 20 more seats” opened for Ann Meyer")
    ).to_be_visible()
    deal = Deal.objects.get(name="Globex: 20 more seats")
    handoff = Handoff.objects.get(deal=deal)
    assert (deal.owner, handoff.sender) == (world.am, world.csm)

    page.get_by_role("button", name="Log out").click()
    log_in(page, live_server.url, world.am.user.username)
    page.get_by_role("link", name="Expansion deals").click()
    page.locator("#expansion-handoffs").get_by_role(
        "link", name="Globex: 20 more seats"
    ).click()

    expect(page.locator("#expansion-owner")).to_have_text("Ann Meyer")
    expect(page.locator("#stage-list li")).to_have_text(
        ["Identified", "Proposal", "Won won", "Lost lost"]
    )
    expect(page.locator("#stage-list [aria-current=step]")).to_have_text("Identified")
    brief = page.locator("#csm-brief")
    for heading in ("Health", "Usage", "Stakeholders", "Whitespace"):
        expect(brief.get_by_role("heading", name=heading, exact=True)).to_be_visible()
    expect(brief).to_contain_text("Health 72.5 of 100")
    expect(brief).to_contain_text("Not yet bought: GTX Pro, MG Advanced.")
    expect(brief.get_by_role("row", name="Ada Lind champion positive")).to_be_visible()
    expect(page.locator("#expansion-signals")).to_contain_text(
        "18 of 20 seats taken; they want more."
    )

    page.get_by_role("button", name="Accept").click()

    expect(
        page.get_by_text("Expansion accepted: the 48-hour clock stopped.")
    ).to_be_visible()
    assert Handoff.objects.get(pk=handoff.pk).state == "accepted"
