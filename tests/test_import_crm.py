"""Importing a CRM export: accounts, people, teams, products and deals as history."""

import io
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import transaction
from djmoney.money import Money

from bowtie.crm_import import CrmImportError, person_email
from bowtie.models import Account, Deal, Person, Pipeline, Product, Team
from handoffs.history import import_crm_history
from handoffs.models import Handoff

SMALL_EXPORT = {
    "accounts.csv": (
        "subsidiary_of,account,sector,year_established,revenue,employees,"
        "office_location\r\n"
        ",Acme,technolgy,1996,1100.04,2822,Philipines\r\n"
        "Acme,Acme Labs,software,2010,12.5,40,Korea\r\n"
    ),
    "products.csv": "product,series,sales_price\r\nGTX Pro,GTX,4821\r\n",
    "sales_teams.csv": (
        "sales_agent,manager,regional_office\r\nZoë Ångström,Mara Lind,East\r\n"
    ),
    "sales_pipeline.csv": (
        "opportunity_id,sales_agent,product,account,deal_stage,engage_date,"
        "close_date,close_value\r\n"
        "OPP1,Zoë Ångström,GTXPro,Acme Labs,Won,2017-01-02,2017-02-03,4500\r\n"
        "OPP2,Zoë Ångström,GTX Pro,,Engaging,2017-01-05,,\r\n"
        "OPP3,Zoë Ångström,GTX Pro,Acme,Lost,2017-01-06,2017-03-01,0\r\n"
    ),
}


def write_export(folder: Path, **changes: str) -> Path:
    """Write the small export; sales_pipeline_csv="..." replaces that file."""
    files = SMALL_EXPORT | {
        name.replace("_csv", ".csv"): text for name, text in changes.items()
    }
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def test_crm_import_creates_accounts_people_teams_products_and_deals(db, tmp_path):
    folder = write_export(tmp_path)

    summary = import_crm_history(folder, email_domain="crm.example")

    labs = Account.objects.get(name="Acme Labs")
    agent = Person.objects.get(full_name="Zoë Ångström")
    won, open_deal, lost = (
        Deal.objects.get(external_id=id_) for id_ in ("OPP1", "OPP2", "OPP3")
    )
    assert summary.changes.created == {
        "accounts": 2,
        "products": 1,
        "teams": 2,
        "people": 2,
        "deals": 3,
        "renewals": 1,
    }
    assert (labs.parent.name, labs.parent.industry, labs.parent.country) == (
        "Acme",
        "technology",
        "PH",
    )
    assert (labs.country, labs.annual_revenue) == ("KR", Money("12500000", "USD"))
    assert agent.email == "zoe.angstrom@crm.example"
    assert (agent.role, agent.manager.full_name, agent.team.name) == (
        "ae",
        "Mara Lind",
        "Mara Lind's team",
    )
    assert (won.product.name, won.amount, won.stage.name) == (
        "GTX Pro",
        Money("4500", "USD"),
        "Won",
    )
    assert (open_deal.account, open_deal.amount, open_deal.closed_on) == (
        None,
        None,
        None,
    )
    assert (lost.amount, lost.closed_on) == (None, date(2017, 3, 1))


def test_crm_import_keeps_a_won_deal_as_history_with_packet_and_renewal(db, tmp_path):
    folder = write_export(tmp_path)

    import_crm_history(folder, email_domain="crm.example")

    won = Deal.objects.get(external_id="OPP1")
    renewal = won.renewal
    assert won.packet == {
        "deal_history": "GTX Pro for Acme Labs, engaged on 02 Jan 2017, at "
        "$4,500.00. Owned by Zoë Ångström (Mara Lind's team). From maven as OPP1. "
        "The account's first closed deal.",
        "risks": "Acme Labs is a subsidiary of Acme: decisions may need the parent "
        "company too.",
        "timeline": [
            {"event": "First engaged", "on": "2017-01-02"},
            {"event": "Contract signed", "on": "2017-02-03"},
            {"event": "Term ends", "on": "2018-02-02"},
        ],
    }
    # History, risks and timeline of the seven required items.
    assert won.packet_completeness == 42
    assert (renewal.pipeline.kind, renewal.stage.outcome, renewal.is_historical) == (
        "renewals",
        "open",
        True,
    )
    assert (renewal.expected_close_on, renewal.amount, renewal.owner) == (
        date(2018, 2, 2),
        Money("4500", "USD"),
        won.owner,
    )
    assert Deal.objects.get(external_id="OPP3").packet == {}
    assert Handoff.objects.count() == 0


def test_crm_import_moves_the_renewal_when_the_close_date_changes(db, tmp_path):
    folder = write_export(tmp_path)
    import_crm_history(folder)
    # Closed on the last day of February in a leap year, for more.
    moved = SMALL_EXPORT["sales_pipeline.csv"].replace(
        "2017-01-02,2017-02-03,4500", "2015-12-01,2016-02-29,5000"
    )
    write_export(tmp_path, sales_pipeline_csv=moved)

    again = import_crm_history(folder)

    renewal = Deal.objects.get(renews__external_id="OPP1")
    assert again.changes.updated["renewals"] == 1
    assert (renewal.expected_close_on, renewal.amount) == (
        date(2017, 2, 27),
        Money("5000", "USD"),
    )


def test_crm_import_drops_the_renewal_of_a_deal_no_longer_won(db, tmp_path):
    folder = write_export(tmp_path)
    import_crm_history(folder)
    lost_now = SMALL_EXPORT["sales_pipeline.csv"].replace(
        "Acme Labs,Won,2017-01-02,2017-02-03,4500",
        "Acme Labs,Lost,2017-01-02,2017-02-03,0",
    )
    write_export(tmp_path, sales_pipeline_csv=lost_now)

    again = import_crm_history(folder)

    assert again.changes.removed == {"renewals": 1}
    assert Deal.objects.filter(pipeline__kind="renewals").count() == 0


def test_crm_import_refuses_to_overwrite_a_live_deal(db, tmp_path):
    pipeline = Pipeline.objects.get(kind="new_business", is_default=True)
    live = Deal.objects.create(
        name="Live Acme Labs deal",
        pipeline=pipeline,
        stage=pipeline.stages.get(name="Engaging"),
        external_source="maven",
        external_id="OPP1",
    )

    with pytest.raises(CrmImportError) as refused:
        import_crm_history(write_export(tmp_path))

    assert refused.value.problems == [
        "sales_pipeline.csv: opportunity_id 'OPP1' is a live deal in Bowtie; "
        "update it through the deal API or import_deal_updates."
    ]
    live.refresh_from_db()
    assert (live.stage.name, live.is_historical, Deal.objects.count()) == (
        "Engaging",
        False,
        1,
    )


def test_crm_import_refuses_an_export_with_unknown_references(db, tmp_path):
    folder = write_export(
        tmp_path,
        sales_pipeline_csv=SMALL_EXPORT["sales_pipeline.csv"]
        + "OPP4,Nobody,GTX Mega,Acme,Won,2017-01-02,2017-01-32,12\r\n",
    )

    with pytest.raises(CrmImportError) as refused:
        import_crm_history(folder)

    assert refused.value.problems == [
        "sales_pipeline.csv, row 5: close_date '2017-01-32' is not a date "
        "(YYYY-MM-DD).",
        "sales_pipeline.csv: 1 opportunities name the unknown product key 'gtxmega'.",
        "sales_pipeline.csv: 1 opportunities name the unknown sales agent 'Nobody'.",
    ]
    assert Account.objects.count() == 0
    assert Deal.objects.count() == 0


def test_crm_import_command_reports_problems_and_stores_nothing(db, tmp_path):
    folder = write_export(
        tmp_path,
        accounts_csv=SMALL_EXPORT["accounts.csv"]
        + ",Atlantis Inc,retail,,,,Atlantis\r\n",
    )
    stderr = io.StringIO()

    with pytest.raises(CommandError) as refused:
        call_command("import_crm", str(folder), stdout=io.StringIO(), stderr=stderr)

    assert str(refused.value) == (
        f"{folder}: nothing was imported, because of the problems above."
    )
    assert stderr.getvalue() == (
        "accounts.csv, row 4: office_location 'Atlantis' is not a country.\n"
    )
    assert Account.objects.count() == 0


def test_person_email_is_ascii_and_keeps_hyphens():
    assert person_email("Mei-Mei Johns", "maven.example") == (
        "mei-mei.johns@maven.example"
    )
    assert person_email("Zoë Ångström", "maven.example") == (
        "zoe.angstrom@maven.example"
    )


# The real export is imported once for the module, inside a transaction that
# is rolled back when the module's tests are done.
@pytest.fixture(scope="module")
def maven_import(django_db_setup, django_db_blocker):
    folder = Path(settings.BOWTIE_SAMPLE_DATA) / "maven-crm-sales-opportunities"
    if not folder.is_dir():
        pytest.skip(f"sample data folder {folder} is absent (set BOWTIE_SAMPLE_DATA)")
    with django_db_blocker.unblock(), transaction.atomic():
        yield folder, import_crm_history(folder)
        transaction.set_rollback(True)


@pytest.mark.sample_data
def test_maven_import_counts(maven_import, db):
    _, summary = maven_import

    parents = Account.objects.filter(subsidiaries__isnull=False).distinct()
    assert Account.objects.count() == 85
    assert Account.objects.filter(parent__isnull=False).count() == 15
    assert parents.count() == 7
    assert Person.objects.count() == 41
    assert Person.objects.filter(role="manager").count() == 6
    assert Person.objects.filter(role="ae", manager__isnull=False).count() == 35
    assert Team.objects.filter(parent__isnull=True).count() == 3
    assert Team.objects.filter(parent__isnull=False, head__isnull=False).count() == 6
    assert Product.objects.count() == 7
    assert Deal.objects.filter(pipeline__kind="new_business").count() == 8800
    assert Deal.objects.filter(stage__name="Won").count() == 4238
    assert Deal.objects.filter(stage__name="Lost").count() == 2473
    assert Deal.objects.filter(account__isnull=True).count() == 1425
    assert (
        Deal.objects.filter(is_historical=True, external_source="maven").count() == 8800
    )
    assert Handoff.objects.count() == 0
    assert summary.changes.created.total() == 85 + 41 + 9 + 7 + 8800 + 4238


@pytest.mark.sample_data
def test_maven_won_deals_are_history_with_partial_packets_and_renewals(
    maven_import, db
):
    renewals = Deal.objects.filter(pipeline__kind="renewals")
    isdom = Deal.objects.get(external_id="Z063OYW0")
    treequote = Deal.objects.get(external_id="TTA9LYBS")
    golddex = Deal.objects.get(external_id="JXLERZ9O")

    # One open renewal per won deal, history like the deal, no clock anywhere.
    assert renewals.count() == 4238
    assert renewals.filter(is_historical=True, stage__outcome="open").count() == 4238
    assert renewals.values("renews").distinct().count() == 4238
    assert not renewals.filter(renews__stage__outcome__in=["open", "lost"]).exists()
    assert Handoff.objects.count() == 0
    # Every won deal has a derived packet: history and timeline (2 of 7), and
    # the 738 at a subsidiary the parent company as a risk too (3 of 7).
    won = Deal.objects.filter(pipeline__kind="new_business", stage__name="Won")
    assert won.filter(packet_completeness=28).count() == 4238 - 738
    assert won.filter(packet_completeness=42).count() == 738
    assert not Deal.objects.filter(stage__name="Lost").exclude(packet={}).exists()

    assert isdom.packet_completeness == 28
    assert isdom.packet["deal_history"] == (
        "GTX Pro for Isdom, engaged on 25 Oct 2016, at $4,514.00. Owned by Darcel "
        "Schlecht (Melvin Marxen's team). From maven as Z063OYW0. Before it the "
        "account had 4 won and 1 lost deals."
    )
    assert isdom.renewal.expected_close_on == date(2018, 3, 10)
    assert treequote.packet_completeness == 42
    assert treequote.packet["risks"] == (
        "Treequote is a subsidiary of Sonron: decisions may need the parent "
        "company too."
    )
    # Signed on the last day of March: the term ends the day before the last
    # day of March a year on.
    assert golddex.packet["timeline"][-1] == {"event": "Term ends", "on": "2018-03-30"}
    assert golddex.renewal.expected_close_on == date(2018, 3, 30)
    assert golddex.renewal.amount == Money("559", "USD")


@pytest.mark.sample_data
def test_maven_import_values(maven_import, db):
    deal = Deal.objects.get(external_source="maven", external_id="Z063OYW0")
    lost = Deal.objects.get(external_source="maven", external_id="KWVA7VR1")
    unmatched = Deal.objects.get(external_source="maven", external_id="3LCLVRVV")
    acme = Account.objects.get(name="Acme Corporation")
    agent = Person.objects.get(full_name="Darcel Schlecht")

    assert (deal.amount, deal.stage.name, deal.pipeline.name) == (
        Money("4514", "USD"),
        "Won",
        "New business",
    )
    assert (deal.product.name, deal.account.name, deal.owner) == (
        "GTX Pro",
        "Isdom",
        agent,
    )
    assert (deal.engaged_on, deal.closed_on) == (date(2016, 10, 25), date(2017, 3, 11))
    assert (lost.amount, lost.stage.name, lost.product.name) == (
        None,
        "Lost",
        "GTX Pro",
    )
    assert (unmatched.account, unmatched.stage.name, unmatched.engaged_on) == (
        None,
        "Prospecting",
        None,
    )
    assert unmatched.name == "GTX Basic, account not matched yet"
    assert (
        Deal.objects.filter(
            product__name="GTX Pro", pipeline__kind="new_business"
        ).count()
        == 1480
    )
    assert Account.objects.get(name="Bluth Company").parent == acme
    assert (acme.industry, acme.country, acme.employee_count, acme.founded_year) == (
        "technology",
        "US",
        2822,
        1996,
    )
    assert acme.annual_revenue == Money(Decimal("1100040000"), "USD")
    assert Account.objects.filter(industry="technology").count() == 12
    assert Account.objects.get(name="Hottechi").country == "KR"
    assert Account.objects.filter(country="PH").count() == 1
    assert (agent.email, agent.role, agent.team.name) == (
        "darcel.schlecht@maven.example",
        "ae",
        "Melvin Marxen's team",
    )
    assert agent.manager.team.head == agent.manager
    assert agent.team.parent.name == "Central"


@pytest.mark.sample_data
def test_maven_import_twice_changes_nothing(maven_import, db):
    folder, _ = maven_import
    history_count = Deal.history.count()

    again = import_crm_history(folder)

    assert again.is_unchanged
    assert (again.account_count, again.person_count, again.team_count) == (85, 41, 9)
    assert (again.product_count, again.deal_count) == (7, 8800)
    assert Deal.objects.count() == 8800 + 4238
    assert Deal.history.count() == history_count


@pytest.mark.sample_data
def test_maven_import_again_restores_edited_values(maven_import, db):
    folder, _ = maven_import
    Account.objects.filter(name="Acme Corporation").update(industry="retail")
    Deal.objects.filter(external_id="Z063OYW0").update(amount=Decimal("1"))

    again = import_crm_history(folder)

    assert again.changes.updated == {"accounts": 1, "deals": 1}
    assert Account.objects.get(name="Acme Corporation").industry == "technology"
    assert Deal.objects.get(external_id="Z063OYW0").amount == Money("4514", "USD")
