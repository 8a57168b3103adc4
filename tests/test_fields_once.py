"""Serializer fields built once per class still belong to one serializer each."""

import pytest
from rest_framework import serializers

from handoffs.api.serializers import LeadSerializer, lead_representation
from tests.factories import LeadFactory, PersonFactory, TeamFactory


def test_fields_are_those_drf_builds_from_the_model():
    serializer = LeadSerializer()

    built_by_drf = serializers.ModelSerializer.get_fields(serializer)

    assert repr(serializer.get_fields()) == repr(built_by_drf)


def test_no_two_serializers_share_a_field():
    first, second = LeadSerializer(), LeadSerializer()

    assert first.fields["email"] is not second.fields["email"]
    assert first.fields["owner"].parent is first
    assert second.fields["owner"].parent is second


@pytest.mark.django_db
def test_the_intake_answer_is_what_the_serializer_says():
    lead = LeadFactory(owner=PersonFactory(), team=TeamFactory())
    lead.first_response_due_at = lead.received_at
    lead.routing_reason = "Round-robin in the team."

    answers = [lead_representation(lead), lead_representation(lead)]

    assert answers[0] == answers[1] == dict(LeadSerializer(lead).data)
    assert answers[0]["routing_reason"] == "Round-robin in the team."
    assert answers[0]["owner"]["id"] == lead.owner.pk
