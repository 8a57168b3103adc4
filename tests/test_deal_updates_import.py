"""The CSV door for deal updates: row by row through the gate, refusals named."""

import io
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import time_machine
from django.core.management import CommandError, call_command
from djmoney.money import Money

from bowtie.models import Deal
from handoffs.closing import save_deal_packet
from handoffs.deal_updates import DealUpdatesRefused, import_deal_updates
from handoffs.models import Handoff
from tests.deal_fixtures import COMPLETE_PACKET, INCOMPLETE_PACKET, build_open_deal

NOW = datetime(2027, 1, 31, 10, 0, tzinfo=UTC)


@pytest.fixture
def deals(db):
    with time_machine.travel(NOW, tick=False):
        first = build_open_deal("D-1001")
        second = Deal.objects.create(
            name="Initech rollout",
            owner=first.ae,
            pipeline=first.deal.pipeline,
            stage=first.deal.pipeline.stages.get(name="Prospecting"),
            amount=Money(8_000, "EUR"),
            external_source="crm",
            external_id="D-1002",
        )
        yield first.deal, second


def write_file(folder: Path, text: str, name: str = "updates.csv") -> Path:
    path = folder / name
    path.write_bytes(text.encode("utf-8"))
    return path


def run_import(path: Path) -> tuple[str, str, CommandError | None]:
    stdout, stderr = io.StringIO(), io.StringIO()
    try:
        call_command("import_deal_updates", str(path), stdout=stdout, stderr=stderr)
    except CommandError as error:
        return stdout.getvalue(), stderr.getvalue(), error
    return stdout.getvalue(), stderr.getvalue(), None


def test_a_won_row_with_an_incomplete_packet_is_refused_and_the_others_applied(
    deals, tmp_path
):
    globex, initech = deals
    save_deal_packet(globex, INCOMPLETE_PACKET)
    path = write_file(
        tmp_path,
        "external_source,external_id,stage,amount\n"
        "crm,D-1002,Engaging,9500\n"
        "crm,D-1001,Won,30000\n",
    )

    stdout, stderr, error = run_import(path)

    assert stdout == (
        "updates.csv: rows read: 2; closed won: 0; updated: 1; unchanged: 0; "
        "refused: 1 (unknown external ids among them: 0).\n"
    )
    assert stderr.splitlines() == [
        "row 3 (crm D-1001): stage: Closed Won needs a complete handoff packet; 5 "
        "required item(s) missing.",
        "  missing goals: Goals: Goals with measurable success criteria: add at "
        "least one.",
        "  missing stakeholders: Stakeholder map: Stakeholders: add at least one.",
        "  missing commitments: Commitments: Every commitment the AE made: add at "
        "least one.",
        "  missing technical_requirements: Technical requirements: Requirements: "
        "add at least one.",
        "  missing timeline: Timeline: The customer's timeline and critical "
        "events: add at least one.",
    ]
    assert str(error) == "1 of 2 rows were not applied; each is listed above."
    stored = Deal.objects.get(pk=globex.pk)
    assert (stored.stage.name, stored.amount) == ("Engaging", Money(24_000, "EUR"))
    assert Handoff.objects.count() == 0
    assert Deal.objects.filter(renews=globex).count() == 0
    updated = Deal.objects.get(pk=initech.pk)
    assert (updated.stage.name, updated.amount) == ("Engaging", Money(9_500, "EUR"))


def test_a_won_row_with_a_complete_packet_closes_once_however_often_imported(
    deals, tmp_path
):
    globex, _ = deals
    save_deal_packet(globex, COMPLETE_PACKET)
    path = write_file(
        tmp_path,
        "external_source,external_id,stage\ncrm,D-1001,Won\ncrm,D-1001,Won\n",
    )

    with time_machine.travel(NOW, tick=False):
        first, _, first_error = run_import(path)
        again, _, again_error = run_import(path)

    assert (first_error, again_error) == (None, None)
    assert "closed won: 1; updated: 0; unchanged: 1; refused: 0" in first
    assert "closed won: 0; updated: 0; unchanged: 2; refused: 0" in again
    assert Handoff.objects.filter(deal=globex).count() == 1
    assert Deal.objects.filter(renews=globex).count() == 1
    stored = Deal.objects.get(pk=globex.pk)
    assert (stored.stage.name, stored.closed_on) == ("Won", date(2027, 1, 31))


def test_a_file_with_bom_crlf_semicolons_and_any_column_order_is_read(deals, tmp_path):
    _, initech = deals
    path = write_file(
        tmp_path,
        "\ufeffTerm months;Expected close on;External ID;External source;Name\r\n"
        "24;2027-06-30;D-1002;crm;Initech rollout, Zürich\r\n",
    )

    report = import_deal_updates(path)

    stored = Deal.objects.get(pk=initech.pk)
    assert (report.row_count, report.updated_count, report.refusals) == (1, 1, [])
    assert (stored.name, stored.term_months, stored.expected_close_on) == (
        "Initech rollout, Zürich",
        24,
        date(2027, 6, 30),
    )
    assert stored.history.first().history_change_reason == "import"


def test_an_unknown_external_id_is_reported_and_not_created(deals, tmp_path):
    path = write_file(
        tmp_path, "external_source,external_id,stage\ncrm,D-9999,Engaging\n"
    )

    stdout, stderr, error = run_import(path)

    assert stderr == (
        "row 2 (crm D-9999): external_id: No deal has the id 'D-9999' from 'crm'; "
        "updates do not create deals.\n"
    )
    assert "refused: 1 (unknown external ids among them: 1)" in stdout
    assert error is not None
    assert Deal.objects.count() == 2


def test_bad_values_are_refused_by_field_and_change_nothing(deals, tmp_path):
    _, initech = deals
    path = write_file(
        tmp_path,
        "external_source,external_id,amount,currency,term_months,expected_close_on\n"
        'crm,D-1002,"8,000.00",EURO,twelve,2027-02-30\n'
        ",D-1002,9000,,,\n",
    )

    report = import_deal_updates(path)

    assert [str(refusal) for refusal in report.refusals] == [
        "row 2 (crm D-1002): amount: Give the amount as a number with a point for "
        "decimals and no thousands separators, e.g. 24000.50.; currency: Give an "
        "ISO 4217 currency code, e.g. EUR.; expected_close_on: Give a date as "
        "YYYY-MM-DD.; term_months: Give a whole number from 1 to 120.",
        "row 3 (D-1002): external_source: Give the deal's id in its source system.",
    ]
    stored = Deal.objects.get(pk=initech.pk)
    assert (stored.amount, stored.term_months) == (Money(8_000, "EUR"), 12)


def test_a_file_with_unknown_columns_is_refused_before_any_row(deals, tmp_path):
    path = write_file(
        tmp_path,
        "external_source,external_id,stage,owner_email\n"
        "crm,D-1002,Engaging,ana@example.org\n",
    )

    with pytest.raises(DealUpdatesRefused) as refused:
        import_deal_updates(path)

    assert str(refused.value) == (
        "updates.csv: unknown columns 'owner_email'; the columns are "
        "external_source, external_id, name, stage, amount, currency, "
        "expected_close_on, term_months."
    )
    assert Deal.objects.get(external_id="D-1002").stage.name == "Prospecting"


def test_a_file_that_is_not_utf8_is_refused(deals, tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes(
        "external_source,external_id,name\ncrm,D-1002,Zürich\n".encode("cp1252")
    )

    stdout, _, error = run_import(path)

    assert str(error) == (
        "latin1.csv is not UTF-8 (byte 45 is not): save it as UTF-8 and import it "
        "again."
    )
    assert stdout == ""
    assert Deal.objects.get(external_id="D-1002").name == "Initech rollout"
