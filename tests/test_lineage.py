"""Lineage from imported account histories, and the whitespace beside it.

The expected figures of the Maven export were counted from
sales_pipeline.csv on its own, with the csv module (CRLF kept, "GTXPro"
folded into "GTX Pro"): 4,238 won deals at 85 accounts, so 4,153 linked
deals and 85 accounts with lineage; 734 won deals share a close day with
another of their account's.
"""

import io
from datetime import date
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import transaction
from django.db.models import F

from bowtie.models import Account, Deal
from expansion.lineage import link_account_history, link_history
from expansion.models import RenewalAction
from expansion.renewal_actions import renewal_book, sweep_renewal_actions
from expansion.reports import REPEAT_SALE, Period, load_facts, time_between_deals
from expansion.whitespace import find_whitespace
from handoffs.history import import_crm_history

EXPORT = {
    "accounts.csv": (
        "account,sector,year_established,revenue,employees,office_location,"
        "subsidiary_of\r\n"
        "Acme,software,1996,12.5,40,Germany,\r\n"
        "Initech,software,2001,3.5,20,Germany,\r\n"
    ),
    "products.csv": (
        "product,series,sales_price\r\nGTX Pro,GTX,4821\r\nMG Special,MG,55\r\n"
        "GTK 500,GTK,26768\r\n"
    ),
    "sales_teams.csv": "sales_agent,manager,regional_office\r\nAda Lind,Bo Ek,East\r\n",
    "sales_pipeline.csv": (
        "opportunity_id,sales_agent,product,account,deal_stage,engage_date,"
        "close_date,close_value\r\n"
        "B2,Ada Lind,GTXPro,Acme,Won,2017-01-02,2017-02-03,4500\r\n"
        "A1,Ada Lind,MG Special,Acme,Won,2017-01-02,2017-02-03,55\r\n"
        "C3,Ada Lind,GTX Pro,Acme,Won,2017-02-01,2017-03-10,4700\r\n"
        "D4,Ada Lind,GTX Pro,Acme,Lost,2017-02-01,2017-03-01,0\r\n"
        "E5,Ada Lind,GTX Pro,,Engaging,2017-02-05,,\r\n"
        "F6,Ada Lind,MG Special,Initech,Won,2017-04-01,2017-05-01,60\r\n"
    ),
}


def write_export(folder: Path, **changes: str) -> Path:
    files = EXPORT | {
        name.replace("_csv", ".csv"): text for name, text in changes.items()
    }
    for name, text in files.items():
        (folder / name).write_bytes(text.encode())
    return folder


def links() -> dict[str, str | None]:
    return dict(
        Deal.objects.filter(is_historical=True, pipeline__kind="new_business")
        .order_by("external_id")
        .values_list("external_id", "expands__external_id")
    )


def test_each_won_deal_grows_from_the_one_won_before_it(db, tmp_path):
    import_crm_history(write_export(tmp_path))
    acme = Account.objects.get(name="Acme")

    result = link_account_history(acme)

    # A1 and B2 closed the same day: the external id orders them.
    assert links() == {
        "A1": None,
        "B2": "A1",
        "C3": "B2",
        "D4": None,
        "E5": None,
        "F6": None,
    }
    assert (result.origin.external_id, result.linked_count) == ("A1", 2)
    assert result.changed_count == 2
    assert [product.name for product in find_whitespace(acme)] == ["GTK 500"]


def test_linking_again_changes_nothing(db, tmp_path):
    import_crm_history(write_export(tmp_path))
    first = link_history()

    again = link_history()

    assert [(r.account.name, r.changed_count) for r in first] == [
        ("Acme", 2),
        ("Initech", 0),
    ]
    assert [(r.account.name, r.changed_count) for r in again] == [
        ("Acme", 0),
        ("Initech", 0),
    ]
    assert Deal.history.filter(history_change_reason__startswith="lineage").count() == 2


def test_a_deal_no_longer_won_leaves_the_chain(db, tmp_path):
    import_crm_history(write_export(tmp_path))
    link_history()
    pipeline = EXPORT["sales_pipeline.csv"].replace(
        "B2,Ada Lind,GTXPro,Acme,Won,2017-01-02,2017-02-03,4500",
        "B2,Ada Lind,GTXPro,Acme,Lost,2017-01-02,2017-02-03,0",
    )
    import_crm_history(write_export(tmp_path, sales_pipeline_csv=pipeline))

    link_history()

    assert links() == {
        "A1": None,
        "B2": None,
        "C3": "A1",
        "D4": None,
        "E5": None,
        "F6": None,
    }


# The real export, imported and linked once for the module, inside a
# transaction rolled back when the module's tests are done.
@pytest.fixture(scope="module")
def maven(django_db_setup, django_db_blocker):
    folder = Path(settings.BOWTIE_SAMPLE_DATA) / "maven-crm-sales-opportunities"
    if not folder.is_dir():
        pytest.skip(f"sample data folder {folder} is absent (set BOWTIE_SAMPLE_DATA)")
    with django_db_blocker.unblock(), transaction.atomic():
        call_command("import_crm", folder, stdout=io.StringIO())
        output = io.StringIO()
        call_command("link_lineage", stdout=output)
        yield output.getvalue()
        transaction.set_rollback(True)


@pytest.mark.sample_data
def test_maven_histories_give_4153_linked_deals_at_85_accounts(maven, db):
    linked = Deal.objects.filter(expands__isnull=False)
    won = Deal.objects.filter(pipeline__kind="new_business", stage__outcome="won")

    assert maven.splitlines() == [
        "4153 deals linked at 85 of 85 accounts; 4153 links written.",
        "73 accounts have products they never won (whitespace).",
    ]
    assert linked.count() == 4153
    assert linked.values("account").distinct().count() == 85
    assert won.filter(expands__isnull=True).count() == 85
    # Every link stays inside its account and never goes forward in time.
    assert not linked.exclude(account=F("expands__account")).exists()
    assert not linked.filter(closed_on__lt=F("expands__closed_on")).exists()


@pytest.mark.sample_data
def test_maven_named_lineage_and_whitespace(maven, db):
    deals = {
        deal.external_id: deal for deal in Deal.objects.filter(external_source="maven")
    }
    acme = Account.objects.get(name="Acme Corporation")

    origin = Deal.objects.get(account=acme, stage__outcome="won", expands=None)
    assert (origin.external_id, origin.closed_on, origin.product.name) == (
        "N4SD17JR",
        date(2017, 3, 1),
        "GTX Basic",
    )
    assert deals["6RJE18RW"].expands == origin
    # Two won on 11 May 2017: by external id, CZ3XOD03 grew from 7ASDRLM5.
    assert deals["CZ3XOD03"].expands == deals["7ASDRLM5"]
    # Acme's last: spelt GTXPro in the export, one product with GTX Pro.
    assert (deals["7OIR36P2"].expands, deals["7OIR36P2"].product.name) == (
        deals["J3K9EXW0"],
        "GTX Pro",
    )
    assert Deal.objects.filter(account=acme, expands__isnull=False).count() == 33
    assert [product.name for product in find_whitespace(acme)] == ["GTK 500"]
    assert find_whitespace(Account.objects.get(name="Cheers")) == []


@pytest.mark.sample_data
def test_maven_link_again_writes_nothing(maven, db):
    results = link_history()

    assert sum(result.changed_count for result in results) == 0
    assert sum(result.linked_count for result in results) == 4153


@pytest.mark.sample_data
def test_maven_renewals_stay_out_of_the_renewal_book(maven, db):
    counts = sweep_renewal_actions(Deal.objects.latest("created_at").created_at)

    assert Deal.objects.filter(pipeline__kind="renewals").count() == 4238
    assert renewal_book().count() == 0
    assert counts == {"planned": 0, "moved": 0, "fired": 0, "skipped": 0}
    assert RenewalAction.objects.count() == 0


@pytest.mark.sample_data
def test_maven_time_between_repeat_sales(maven, db):
    facts = load_facts(date(2017, 12, 31))

    year = time_between_deals(facts, Period(date(2017, 1, 1), date(2017, 12, 31)))
    autumn = time_between_deals(facts, Period(date(2017, 10, 1), date(2017, 12, 31)))

    repeat = next(row for row in year if row.key == REPEAT_SALE)
    assert (repeat.deal_count, repeat.median_days, repeat.p90_days) == (4153, 4, 14)
    repeat = next(row for row in autumn if row.key == REPEAT_SALE)
    assert (repeat.deal_count, repeat.median_days, repeat.p90_days) == (1196, 4, 16)
