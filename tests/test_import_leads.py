"""The CSV door for leads: mapping, encodings, row errors, all or nothing."""

import csv
import io
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import transaction

from bowtie.models import Team
from handoffs import clocks
from handoffs.importing import ImportRefused, import_leads
from handoffs.models import Handoff, ImportMapping, Lead, Milestone, Touch
from handoffs.services import intake_lead

BAD_ROWS = (
    "email,first_name,country,do_not_email\r\n"
    "ana@example.org,Ana,Germany,no\r\n"
    "ben@example.org,Ben,Atlantis,no\r\n"
    "cy@example.org,Cy,France,perhaps\r\n"
)


def write_file(folder: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = folder / name
    path.write_bytes(text.encode(encoding))
    return path


def run_import(*args) -> tuple[str, str]:
    stdout, stderr = io.StringIO(), io.StringIO()
    call_command(
        "import_leads", *[str(arg) for arg in args], stdout=stdout, stderr=stderr
    )
    return stdout.getvalue(), stderr.getvalue()


def read_report(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.reader(handle))


def test_import_finds_columns_by_header_in_any_order(db, tmp_path):
    path = write_file(
        tmp_path,
        "contacts.csv",
        "country,company_name,Email,First name\n"
        "Deutschland,Acme GmbH,Kim@Example.org,Kim\n",
    )

    report = import_leads(path, source="webinar-list")

    lead = Lead.objects.get()
    assert report.created_count == 1
    assert (lead.email, lead.first_name, lead.company_name, lead.country) == (
        "kim@example.org",
        "Kim",
        "Acme GmbH",
        "DE",
    )
    assert lead.channel == "import"
    assert lead.external_source == "webinar-list"


def test_import_keeps_accents_of_utf8_file_with_bom(db, tmp_path):
    path = write_file(
        tmp_path,
        "bom.csv",
        "\ufeffemail,first_name,company_name\r\nzoe@example.org,Zoë,Müller GmbH\r\n",
    )

    report = import_leads(path, source="fair")

    lead = Lead.objects.get()
    assert report.encoding == "utf-8"
    assert lead.email == "zoe@example.org"
    assert lead.first_name == "Zoë"
    assert lead.company_name == "Müller GmbH"


def test_import_reads_utf16_file_with_bom_and_semicolons(db, tmp_path):
    path = write_file(
        tmp_path,
        "excel.csv",
        "email;first_name;company_name\r\nzoe@example.org;Zoë;Müller GmbH\r\n",
        encoding="utf-16",
    )

    report = import_leads(path, source="fair")

    lead = Lead.objects.get()
    assert report.encoding == "utf_16"
    assert (lead.first_name, lead.company_name) == ("Zoë", "Müller GmbH")


def test_import_refuses_cp1252_file_whose_encoding_is_uncertain(db, tmp_path):
    path = write_file(
        tmp_path,
        "legacy.csv",
        "email,first_name,company_name\r\nzoe@example.org,Zoë,Müller GmbH\r\n",
        encoding="cp1252",
    )

    with pytest.raises(CommandError) as refused:
        run_import(path, "--source", "fair")

    assert str(refused.value) == (
        "legacy.csv is not UTF-8 (byte 0xEB on line 2 is not valid UTF-8) and its "
        "encoding cannot be detected with certainty, so nothing was imported. "
        "Save the file as UTF-8, or name its encoding with --encoding, for "
        "example --encoding cp1252."
    )
    assert Lead.objects.count() == 0


def test_import_reads_cp1252_file_when_its_encoding_is_named(db, tmp_path):
    path = write_file(
        tmp_path,
        "legacy.csv",
        "email,first_name,company_name\r\nzoe@example.org,Zoë,Müller GmbH\r\n",
        encoding="cp1252",
    )

    run_import(path, "--source", "fair", "--encoding", "cp1252")

    lead = Lead.objects.get()
    assert (lead.first_name, lead.company_name) == ("Zoë", "Müller GmbH")


def test_import_stores_nothing_when_a_row_is_invalid(db, tmp_path):
    path = write_file(tmp_path, "people.csv", BAD_ROWS)
    report_path = tmp_path / "errors.csv"

    with pytest.raises(CommandError) as refused:
        run_import(path, "--source", "fair", "--report", report_path)

    assert str(refused.value) == (
        "people.csv: 2 of 3 rows are invalid, so nothing was stored. Fix them, "
        "or import the valid rows with --skip-invalid."
    )
    assert Lead.objects.count() == 0
    assert Handoff.objects.count() == 0
    assert read_report(report_path) == [
        ["row", "field", "column", "message"],
        ["3", "country", "country", "'Atlantis' is not a known country."],
        ["4", "do_not_email", "do_not_email", "Must be yes or no."],
    ]


def test_import_prints_each_row_error(db, tmp_path):
    path = write_file(tmp_path, "people.csv", BAD_ROWS)

    report = import_leads(path, source="fair")

    assert [str(error) for error in report.errors] == [
        "row 3, country: 'Atlantis' is not a known country.",
        "row 4, do_not_email: Must be yes or no.",
    ]
    assert report.is_stored is False


def test_import_with_skip_invalid_stores_only_the_valid_rows(db, tmp_path):
    path = write_file(tmp_path, "people.csv", BAD_ROWS)
    report_path = tmp_path / "errors.csv"

    stdout, stderr = run_import(
        path, "--source", "fair", "--skip-invalid", "--report", report_path
    )

    assert list(Lead.objects.values_list("email", flat=True)) == ["ana@example.org"]
    assert stderr.splitlines() == [
        "row 3, country: 'Atlantis' is not a known country.",
        "row 4, do_not_email: Must be yes or no.",
    ]
    assert stdout.startswith(
        "people.csv: rows read: 3 (utf-8); new leads: 1 (0 as qualified history); "
        "repeats recorded as touches: 0; invalid rows skipped: 2. Took "
    )
    assert len(read_report(report_path)) == 3


def test_import_records_a_repeated_email_as_a_second_touch(db, tmp_path):
    path = write_file(
        tmp_path,
        "repeats.csv",
        "email,first_name\nana@example.org,Ana\n ANA@Example.org ,Ana\n",
    )

    report = import_leads(path, source="fair")

    lead = Lead.objects.get()
    assert (report.created_count, report.repeat_count) == (1, 1)
    assert lead.touch_count == 2
    assert Touch.objects.filter(lead=lead, channel="import").count() == 2


def test_import_applies_the_saved_mapping_of_the_source(db, tmp_path):
    ImportMapping.objects.create(
        source="messe",
        columns={
            "email": "E-Mail",
            "company_name": "Firma",
            "source": "Quelle",
            "converted": "Kunde",
        },
        values={
            "source": {"Messestand": "trade_show", "*": "other"},
            "converted": {"Ja": "yes", "Nein": "no"},
        },
        constants={"country": "AT"},
    )
    path = write_file(
        tmp_path,
        "messe.csv",
        "Kunde,Firma,E-Mail,Quelle,Notiz\n"
        "Ja,Holz AG,eva@holz.example,Messestand,egal\n"
        "Nein,Stein KG,max@stein.example,Website,egal\n",
    )

    report = import_leads(path, source="messe")

    customer = Lead.objects.get(email="eva@holz.example")
    prospect = Lead.objects.get(email="max@stein.example")
    assert report.qualified_count == 1
    assert (customer.company_name, customer.source, customer.country) == (
        "Holz AG",
        "trade_show",
        "AT",
    )
    assert (customer.status, customer.is_historical) == ("qualified", True)
    assert customer.closed_at is not None
    assert (prospect.source, prospect.status, prospect.is_historical) == (
        "other",
        "new",
        False,
    )


def test_import_takes_a_field_from_the_column_named_by_map(db, tmp_path):
    path = write_file(
        tmp_path,
        "export.csv",
        "E-mail address,Company,email_status\nli@firm.example,Firm Ltd,ok\n",
    )

    run_import(
        path,
        "--source",
        "crm-x",
        "--map",
        "email=E-mail address",
        "--map",
        "company_name=Company",
    )

    lead = Lead.objects.get()
    assert (lead.email, lead.company_name) == ("li@firm.example", "Firm Ltd")


def test_import_refuses_a_mapping_to_a_missing_column(db, tmp_path):
    path = write_file(tmp_path, "leads.csv", "email,first_name\nli@firm.example,Li\n")

    with pytest.raises(ImportRefused) as refused:
        import_leads(path, source="crm-x", overrides={"email": "Mail"})

    assert str(refused.value) == (
        "leads.csv has no column 'Mail' (for email). Its columns are: email, "
        "first_name. Nothing was imported."
    )


def test_import_as_history_starts_no_clock(db, tmp_path):
    path = write_file(tmp_path, "old.csv", "email\nold@firm.example\n")

    run_import(path, "--source", "crm-x", "--historical")

    lead = Lead.objects.get()
    assert lead.is_historical is True
    assert (lead.status, lead.is_open) == ("nurture", False)
    assert Milestone.objects.count() == 0


def test_a_submission_after_imported_history_opens_a_new_cycle(db, tmp_path):
    path = write_file(tmp_path, "old.csv", "email\nold@firm.example\n")
    run_import(path, "--source", "crm-x", "--historical")

    result = intake_lead({"email": "old@firm.example"}, channel="api")

    assert result.created is True
    assert result.lead.cycle == 2
    assert Lead.objects.filter(closed_at__isnull=True).count() == 1


def test_import_of_a_live_lead_starts_its_clocks(db, tmp_path):
    path = write_file(tmp_path, "new.csv", "email\nnew@firm.example\n")

    run_import(path, "--source", "crm-x")

    lead = Lead.objects.get()
    expected = clocks.policies_for(Handoff.Kind.LEAD_TO_SALES, lead.lead_type)
    assert lead.is_historical is False
    assert Milestone.objects.count() == len(expected)


# The real export: imported once for the module (minutes, not seconds), inside
# a transaction that is rolled back when the module's tests are done.
@pytest.fixture(scope="module")
def x_education_import(django_db_setup, django_db_blocker):
    path = Path(settings.BOWTIE_SAMPLE_DATA) / "x-education-lead-scoring" / "Leads.csv"
    if not path.is_file():
        pytest.skip(f"sample data file {path} is absent (set BOWTIE_SAMPLE_DATA)")
    with django_db_blocker.unblock(), transaction.atomic():
        yield import_leads(path, source="x-education", historical=True)
        transaction.set_rollback(True)


@pytest.mark.sample_data
def test_x_education_import_stores_every_lead(x_education_import, db):
    report = x_education_import

    assert report.errors == []
    assert (report.row_count, report.created_count, report.repeat_count) == (
        9240,
        9240,
        0,
    )
    assert Lead.objects.count() == 9240
    assert Lead.objects.filter(status="qualified", is_historical=True).count() == 3561
    assert Lead.objects.filter(status="nurture", is_historical=True).count() == 5679
    assert Lead.objects.filter(closed_at__isnull=True).count() == 0
    assert Milestone.objects.count() == 0


@pytest.mark.sample_data
def test_x_education_import_classifies_lead_types(x_education_import, db):
    counts = {
        lead_type: Lead.objects.filter(lead_type=lead_type).count()
        for lead_type in (
            "nurture",
            "organic",
            "paid",
            "partner_referral",
            "hand_raiser",
        )
    }

    assert counts == {
        "nurture": 4886,
        "organic": 2419,
        "paid": 1216,
        "partner_referral": 534,
        "hand_raiser": 185,
    }


@pytest.mark.sample_data
def test_x_education_import_cleans_the_quirks(x_education_import, db):
    def lead(prospect_id):
        return Lead.objects.get(external_source="x-education", external_id=prospect_id)

    paid = lead("cd4c2dd2-0bf1-475a-a0ed-09ffd030dcb7")
    unknown_country = lead("8850e4e1-0901-438f-b71d-1e2d15546263")
    lower_google = lead("2b5fb07b-5930-4e1f-a1f6-21f8a333ee2c")
    converted = lead("3a0ce10f-d2c1-4213-a2bc-4f97bcd29699")

    assert (paid.country, paid.source, paid.utm_medium) == ("IN", "google", "cpc")
    assert (paid.do_not_email, paid.third_party_intent) == (True, 90)
    assert paid.engagement == {
        "visits": 1.0,
        "time_on_site_seconds": 1759.0,
        "page_views_per_visit": 1.0,
        "last_activity": "Olark Chat Conversation",
    }
    assert (unknown_country.country, unknown_country.third_party_intent) == ("", None)
    assert (lower_google.source, lower_google.form_type) == (
        "google",
        "content_download",
    )
    assert (lower_google.city, lower_google.industry) == ("Other Cities", "")
    assert (converted.status, converted.lead_type) == ("qualified", "partner_referral")
    assert (converted.city, converted.industry) == (
        "Thane & Outskirts",
        "Hospitality Management",
    )
    assert converted.third_party_intent == 60
    assert Lead.objects.filter(do_not_email=True).count() == 734
    assert Lead.objects.filter(do_not_call=True).count() == 2


def test_imported_history_takes_no_rotation_turn_and_hands_nothing_over(
    sales_team, tmp_path
):
    path = write_file(
        tmp_path, "old.csv", "email\nold1@firm.example\nold2@firm.example\n"
    )

    run_import(path, "--source", "crm-x", "--historical")

    team = Team.objects.get(pk=sales_team["team"].pk)
    lead = Lead.objects.get(email="old1@firm.example")
    decision = lead.decisions.get()
    handoff = lead.handoffs.get()
    assert team.rotation_position == 0
    assert (lead.team, lead.owner) == (team, None)
    assert decision.step == "history"
    assert decision.reason == (
        "Imported history: recorded for Inbound EMEA by rule “Everything else”, "
        "without a rotation turn."
    )
    assert (handoff.state, handoff.closed_at) == ("completed", lead.closed_at)
