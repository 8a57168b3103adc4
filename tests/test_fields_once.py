"""Serializer fields built once per class still belong to one serializer each."""

from rest_framework import serializers

from handoffs.api.serializers import LeadSerializer


def test_fields_are_those_drf_builds_from_the_model():
    serializer = LeadSerializer()

    built_by_drf = serializers.ModelSerializer.get_fields(serializer)

    assert repr(serializer.get_fields()) == repr(built_by_drf)


def test_no_two_serializers_share_a_field():
    first, second = LeadSerializer(), LeadSerializer()

    assert first.fields["email"] is not second.fields["email"]
    assert first.fields["owner"].parent is first
    assert second.fields["owner"].parent is second
