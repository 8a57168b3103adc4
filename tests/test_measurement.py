"""The dashboard's foundation: percentiles, scopes, targets and the pages.

The MQL → SQL metric stands in for every registered metric here; each app's
own metrics have their exact values asserted in their own test files.
"""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.utils import timezone

from bowtie import definitions, measurement
from bowtie.aggregates import DaysBetween, Median, Percentile, SecondsBetween
from bowtie.dashboard_forms import ScopeForm
from bowtie.measurement import Scope, Target
from bowtie.models import Deal, MetricTarget, Person
from bowtie.targets import TargetRefused, set_target, targets_for
from handoffs.models import Lead
from tests.deal_fixtures import build_open_deal
from tests.factories import LeadFactory, PersonFactory, TeamFactory

NOW = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)


@pytest.fixture
def leads_with_scores(db):
    # Scores 10, 20, ... 100 on ten leads received a minute apart.
    team = TeamFactory(name="Inbound")
    return [
        LeadFactory(
            team=team,
            score=10 * number,
            received_at=NOW - timedelta(days=3, minutes=number),
            first_response_at=NOW
            - timedelta(days=3, minutes=number)
            + timedelta(seconds=30 * number),
        )
        for number in range(1, 11)
    ]


def test_percentiles_match_nearest_rank_and_the_interpolated_median(
    leads_with_scores,
):
    figures = Lead.objects.aggregate(
        p90=Percentile("score", 0.9),
        p50=Percentile("score", 0.5),
        median=Median("score"),
        lowest=Percentile("score", 0),
    )

    assert figures == {"p90": 90, "p50": 50, "median": 55, "lowest": 10}


def test_seconds_between_two_moments_is_exact(leads_with_scores):
    seconds = sorted(
        Lead.objects.annotate(
            waited=SecondsBetween("first_response_at", "received_at")
        ).values_list("waited", flat=True)
    )

    assert [round(value, 3) for value in seconds] == [30.0 * n for n in range(1, 11)]


def test_days_between_two_days_is_whole(db):
    deal = build_open_deal().deal
    Deal.objects.filter(pk=deal.pk).update(
        engaged_on=date(2026, 1, 30), closed_on=date(2026, 3, 2)
    )

    days = Deal.objects.annotate(
        days=DaysBetween("closed_on", "engaged_on")
    ).values_list("days", flat=True)

    assert list(days) == [31.0]


def test_scope_weeks_are_the_mondays_the_period_touches():
    scope = Scope(date(2026, 3, 4), date(2026, 3, 17))

    assert scope.weeks() == [date(2026, 3, 2), date(2026, 3, 9), date(2026, 3, 16)]
    assert scope.day_count == 14
    assert scope.before() == Scope(date(2026, 2, 18), date(2026, 3, 3))
    assert scope.since == datetime(2026, 3, 4, tzinfo=UTC)
    assert scope.until == datetime(2026, 3, 18, tzinfo=UTC)


def test_target_holds_between_its_bounds_inclusive():
    target = Target(Decimal(25), Decimal(35))

    assert [target.holds(value) for value in (24.9, 25, 35, 35.1, None)] == [
        False,
        True,
        True,
        False,
        None,
    ]
    assert target.describe(measurement.Unit.PERCENT) == "25-35 %"
    assert Target(maximum=Decimal(5)).describe("minutes") == "at most 5 min"


def test_set_target_is_kept_and_read_back(db):
    admin = PersonFactory(role=Person.Role.REVOPS_ADMIN)

    set_target("mql_to_sql_conversion", "20", "40.5", admin, NOW)

    metric = measurement.metric("mql_to_sql_conversion")
    assert targets_for([metric]) == {
        "mql_to_sql_conversion": Target(Decimal(20), Decimal("40.5"))
    }
    assert MetricTarget.objects.get().history.count() == 1


def test_set_target_refuses_bad_bounds_naming_the_field(db):
    admin = PersonFactory(role=Person.Role.REVOPS_ADMIN)

    with pytest.raises(TargetRefused) as refused:
        set_target("mql_to_sql_conversion", "forty", "10", admin, NOW)
    assert refused.value.errors == {"minimum": "'forty' is not a number."}

    with pytest.raises(TargetRefused) as refused:
        set_target("mql_to_sql_conversion", "40", "10", admin, NOW)
    assert refused.value.errors == {"maximum": "The most must not be below the least."}

    with pytest.raises(TargetRefused) as refused:
        set_target("no_such_metric", "1", "", admin, NOW)
    assert refused.value.errors == {"metric": "No metric is called 'no_such_metric'."}
    assert not MetricTarget.objects.exists()


def test_empty_bounds_bring_back_the_default(db):
    admin = PersonFactory(role=Person.Role.REVOPS_ADMIN)
    set_target("mql_to_sql_conversion", "20", "", admin, NOW)

    set_target("mql_to_sql_conversion", "", "", admin, NOW)

    metric = measurement.metric("mql_to_sql_conversion")
    assert targets_for([metric])[metric.key] == metric.target


@pytest.mark.parametrize("role", [Person.Role.MANAGER, Person.Role.MARKETING_OPS])
def test_only_an_active_revops_admin_sets_a_target_on_any_path(db, role):
    inactive_admin = PersonFactory(role=Person.Role.REVOPS_ADMIN, is_active=False)

    for person in (PersonFactory(role=role), inactive_admin, None):
        with pytest.raises(PermissionDenied):
            set_target("mql_to_sql_conversion", "1", "2", person, NOW)

    assert not MetricTarget.objects.exists()


def test_scope_form_refuses_half_a_period_and_a_backwards_one(db):
    person = PersonFactory(role=Person.Role.REVOPS_ADMIN)

    half = ScopeForm(
        {"starts_on": "2026-03-01"}, person=person, today=date(2026, 3, 20)
    )
    backwards = ScopeForm(
        {"starts_on": "2026-03-10", "ends_on": "2026-03-01"},
        person=person,
        today=date(2026, 3, 20),
    )

    assert half.errors == {"ends_on": ["Give both days of a period, or neither."]}
    assert backwards.errors == {
        "ends_on": ["The period must not end before it starts."]
    }
    assert half.scope() == Scope(date(2025, 12, 20), date(2026, 3, 20))


def test_a_manager_sees_only_the_teams_they_manage(db):
    mine, other = TeamFactory(name="Mine"), TeamFactory(name="Other")
    manager = PersonFactory(role=Person.Role.MANAGER, team=mine)

    form = ScopeForm({}, person=manager, today=date(2026, 3, 20))

    assert form.scope().team_ids == frozenset({mine.pk})
    assert other not in form.fields["team"].queryset


def sign_in(client, person):
    client.force_login(person.user)


def test_dashboard_shows_each_handoff_with_charts_and_targets(client, db):
    admin = PersonFactory(role=Person.Role.REVOPS_ADMIN)
    sign_in(client, admin)

    response = client.get(reverse("dashboard"))

    assert response.status_code == 200
    page = response.content.decode()
    assert page.count("<svg") >= 1
    assert "MQL → SQL conversion" in page
    assert "Target 25-35 %" in page
    for _, label in measurement.Handoff.choices:
        assert label in page


def test_dashboard_refuses_a_bad_filter_with_the_field_named(client, db):
    sign_in(client, PersonFactory(role=Person.Role.REVOPS_ADMIN))

    response = client.get(reverse("dashboard"), {"segment": "giant"}, follow=True)

    assert response.status_code == 200
    assert "Segment: Select a valid choice. giant is not one of the available" in (
        response.content.decode()
    )


def test_dashboard_csv_has_a_row_per_metric(client, db):
    sign_in(client, PersonFactory(role=Person.Role.REVOPS_ADMIN))

    response = client.get(reverse("dashboard"), {"format": "csv"})

    lines = response.content.decode().splitlines()
    assert lines[0].startswith("handoff,metric,key,value,unit,records")
    assert len(lines) == 1 + len(measurement.metrics())


def test_an_export_with_a_bad_filter_is_refused_naming_the_field(client, db):
    sign_in(client, PersonFactory(role=Person.Role.REVOPS_ADMIN))

    dashboard = client.get(reverse("dashboard"), {"format": "csv", "days": "abc"})
    records = client.get(
        reverse("metric-records", args=["mql_to_sql_conversion"]),
        {"format": "csv", "starts_on": "2026-03-01"},
    )

    assert dashboard.status_code == records.status_code == 400
    assert dashboard.content.decode() == (
        "The export was not made:\nPeriod: Select a valid choice. abc is not one "
        "of the available choices.\n"
    )
    assert records.content.decode() == (
        "The export was not made:\nTo: Give both days of a period, or neither.\n"
    )


def test_targets_page_saves_for_revops_and_shows_errors_in_place(client, db):
    sign_in(client, PersonFactory(role=Person.Role.REVOPS_ADMIN))

    saved = client.post(
        reverse("metric-targets"),
        {"mql_to_sql_conversion-minimum": "22", "mql_to_sql_conversion-maximum": "35"},
    )
    refused = client.post(
        reverse("metric-targets"),
        {"mql_to_sql_conversion-minimum": "x", "mql_to_sql_conversion-maximum": "35"},
    )

    assert saved.status_code == 302
    assert MetricTarget.objects.get().minimum == Decimal(22)
    changes = client.get(reverse("metric-targets")).content.decode()
    assert "<td>mql_to_sql_conversion</td>\n      <td>set</td>" in changes
    assert "&#x27;x&#x27; is not a number." in refused.content.decode()
    assert MetricTarget.objects.get().minimum == Decimal(22)


def test_only_revops_changes_targets(client, db):
    sign_in(client, PersonFactory(role=Person.Role.MANAGER))

    client.post(
        reverse("metric-targets"),
        {"mql_to_sql_conversion-minimum": "1", "mql_to_sql_conversion-maximum": "2"},
    )

    assert not MetricTarget.objects.exists()


def test_readme_names_every_registered_metric():
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    section = readme.split("## The bow-tie dashboard and its alerts")[1].split("\n## ")[
        0
    ]

    missing = [
        metric.key
        for metric in measurement.metrics()
        if f"`{metric.key}`" not in section
    ]

    assert missing == []
    assert len(measurement.metrics()) == 14


def test_readme_prints_each_definition_as_the_registry_has_it():
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()

    start = readme.index(definitions.START)
    end = readme.index(definitions.END) + len(definitions.END) + 1

    assert readme[start:end] == definitions.definitions_markdown()


def test_a_manager_gets_no_other_teams_records_by_naming_that_team(client, db):
    mine, other = TeamFactory(name="Mine"), TeamFactory(name="Other")
    manager = PersonFactory(role=Person.Role.MANAGER, team=mine)
    received_at = timezone.now() - timedelta(days=1)
    LeadFactory(
        first_name="Ours", team=mine, status="qualified", received_at=received_at
    )
    LeadFactory(
        first_name="Theirs", team=other, status="qualified", received_at=received_at
    )
    sign_in(client, manager)
    url = reverse("metric-records", args=["mql_to_sql_conversion"])

    page = client.get(url, {"team": other.pk}).content.decode()
    refused = client.get(url, {"team": other.pk, "format": "csv"})
    export = b"".join(client.get(url, {"format": "csv"}).streaming_content).decode()

    assert "Ours" in page and "Theirs" not in page
    assert refused.status_code == 400
    assert "Team: Select a valid choice." in refused.content.decode()
    assert "Ours" in export and "Theirs" not in export
