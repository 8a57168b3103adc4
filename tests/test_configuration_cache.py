"""Intake's kept configuration: the next lead sees every change, however made.

Each test takes a lead in first, so that the process keeps the configuration,
then changes it the way that skips Django's signals (a queryset update, a bulk
create, raw SQL on another connection), and takes the next lead in.
"""

import threading
from datetime import UTC, datetime, time, timedelta

import pytest
from django.db import connection, connections

from bowtie.models import (
    Delivery,
    NotificationPreference,
    OutOfOffice,
    Person,
    Team,
    Topic,
    WebhookDelivery,
    WebhookEndpoint,
    WorkingPeriod,
)
from handoffs import configuration_cache
from handoffs.models import Milestone, ScoringModel, SlaPolicy
from handoffs.services import intake_lead
from tests.factories import PersonFactory, RoutingRuleFactory, TeamFactory

# A Tuesday, 10:00 in Berlin, where the teams of the factories work.
NOW = datetime(2025, 3, 4, 9, 0, tzinfo=UTC)


def take_in(email: str, **fields):
    submission = {"email": email, "form_type": "demo_request", **fields}
    return intake_lead(submission, channel="api", now=NOW).lead


def first_response_due_at(lead):
    return Milestone.objects.get(handoff__lead=lead, key="first_response").due_at


def hand_raisers_first_response():
    return SlaPolicy.objects.filter(
        handoff_kind="lead_to_sales",
        lead_type="hand_raiser",
        milestone_key="first_response",
    )


def test_next_intake_follows_a_rule_added_after_the_last(sales_team):
    take_in("first@globex.com")
    dach = TeamFactory(name="DACH")
    dach_rep = PersonFactory(full_name="Dora DACH", team=dach)
    RoutingRuleFactory(
        name="German speakers",
        priority=10,
        team=dach,
        conditions=[{"field": "language", "operator": "in", "value": ["de"]}],
    )

    lead = take_in("zoe@globex.com", language="de")

    assert (lead.team, lead.owner) == (dach, dach_rep)


def test_next_intake_runs_on_a_target_changed_by_a_queryset_update(sales_team):
    take_in("first@globex.com")
    hand_raisers_first_response().update(target_seconds=600)

    lead = take_in("zoe@globex.com")

    assert first_response_due_at(lead) == NOW + timedelta(minutes=10)


def test_next_intake_scores_with_weights_changed_by_a_queryset_update(sales_team):
    take_in("first@globex.com", form_type="")
    ScoringModel.objects.update(fit_weight=50, intent_weight=30, third_party_weight=20)

    lead = take_in("zoe@globex.com", form_type="")

    assert lead.score_weights == {"fit": 50, "intent": 30, "third_party": 20}


def test_next_intake_passes_over_a_member_who_went_out_of_office(sales_team):
    rep_a, rep_b, rep_c = sales_team["reps"]
    assert take_in("first@globex.com").owner == rep_a
    OutOfOffice.objects.bulk_create(
        [OutOfOffice(person=rep_b, starts_at=NOW, ends_at=NOW + timedelta(days=1))]
    )

    lead = take_in("zoe@globex.com")

    assert lead.owner == rep_c


def test_next_intake_counts_working_hours_added_by_a_bulk_create(sales_team):
    take_in("first@globex.com")
    WorkingPeriod.objects.bulk_create(
        [
            WorkingPeriod(
                team=sales_team["team"],
                weekday=WorkingPeriod.Weekday.TUESDAY,
                starts_at=time(11),
                ends_at=time(18),
            )
        ]
    )

    lead = take_in("zoe@globex.com")

    # Five working minutes from 11:00 in Berlin.
    assert first_response_due_at(lead) == datetime(2025, 3, 4, 10, 5, tzinfo=UTC)


def test_next_intake_follows_a_preference_changed_by_a_queryset_update(db):
    team = TeamFactory()
    rep = PersonFactory(team=team)
    RoutingRuleFactory(team=team, is_default=True)
    NotificationPreference.objects.create(person=rep, topic=Topic.NEW_WORK)
    take_in("first@globex.com")
    NotificationPreference.objects.update(by_email=False)

    lead = take_in("zoe@globex.com")

    assert lead.owner == rep
    assert (
        list(
            Delivery.objects.filter(
                notification__event_key__startswith=f"lead:{lead.pk}:"
            ).values_list("channel", flat=True)
        )
        == []
    )
    assert Delivery.objects.count() == 1


def test_next_intake_tells_an_endpoint_added_by_a_bulk_create(sales_team):
    take_in("first@globex.com")
    WebhookEndpoint.objects.bulk_create(
        [
            WebhookEndpoint(
                name="CRM",
                url="https://crm.example.com/hooks",
                event_types=["lead.assigned"],
            )
        ]
    )

    take_in("zoe@globex.com")

    assert WebhookDelivery.objects.get().event.type == "lead.assigned"


def test_an_endpoints_failure_count_leaves_the_token_alone(sales_team):
    endpoint = WebhookEndpoint.objects.create(
        name="CRM", url="https://crm.example.com/hooks", event_types=[]
    )
    token = configuration_cache.read_token()

    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        consecutive_failures=3, failing_since=NOW
    )

    assert configuration_cache.read_token() == token


def test_a_team_renamed_moves_the_token_and_a_rotation_does_not(sales_team):
    take_in("first@globex.com")
    token = configuration_cache.read_token()

    take_in("second@globex.com")
    after_rotation = configuration_cache.read_token()
    Team.objects.filter(pk=sales_team["team"].pk).update(name="Inbound Europe")
    lead = take_in("zoe@globex.com")

    assert after_rotation == token
    assert configuration_cache.read_token() != token
    assert lead.team.name == "Inbound Europe"


@pytest.mark.django_db(transaction=True)
def test_next_intake_sees_a_change_committed_by_another_connection(sales_team):
    # Another process's change reaches this one through the database alone:
    # raw SQL on a connection of its own, with no signal in this process.
    take_in("first@globex.com")
    policy_id = hand_raisers_first_response().get().pk
    table = connection.ops.quote_name(SlaPolicy._meta.db_table)

    def change_elsewhere():
        try:
            with connections["default"].cursor() as cursor:
                cursor.execute(
                    f"UPDATE {table} SET target_seconds = 900 WHERE id = %s",
                    [policy_id],
                )
        finally:
            connections["default"].close()

    writer = threading.Thread(target=change_elsewhere)
    writer.start()
    writer.join()
    lead = take_in("zoe@globex.com")

    assert first_response_due_at(lead) == NOW + timedelta(minutes=15)


def test_every_watched_table_has_its_triggers(db):
    expected = configuration_cache.expected_triggers(connection.vendor)

    existing = configuration_cache.existing_triggers(connection)

    assert set(existing) == set(expected)
    assert {table for table, _ in existing.values()} == {
        model._meta.db_table for model in configuration_cache.WATCHED_MODELS
    }


def test_triggers_that_went_missing_are_put_back(db):
    name = configuration_cache.trigger_name("handoffs_slapolicy", "change")
    if connection.vendor == "sqlite":
        name = configuration_cache.trigger_name("handoffs_slapolicy", "update")
    configuration_cache.drop_trigger(connection, name, "handoffs_slapolicy")
    token = configuration_cache.read_token()
    hand_raisers_first_response().update(target_seconds=600)
    assert configuration_cache.read_token() == token

    configuration_cache.ensure_triggers()
    hand_raisers_first_response().update(target_seconds=900)

    assert name in configuration_cache.existing_triggers(connection)
    assert configuration_cache.read_token() != token


def test_each_caller_gets_its_own_copy_of_json_values(db):
    PersonFactory(languages=["de", "en"])
    rows = configuration_cache.Rows.read(Person.objects.all())

    first, second = rows.instances()[0], rows.instances()[0]
    first.languages.append("fr")

    assert rows.json_positions == (rows.names.index("languages"),)
    assert second.languages == ["de", "en"]
