"""Reads shared by pages and the API."""

from django.db.models import OuterRef, Subquery

from handoffs.models import Handoff, Lead, Milestone


def first_response_due_subquery():
    return Subquery(
        Milestone.objects.filter(
            handoff__lead=OuterRef("pk"),
            handoff__kind=Handoff.Kind.LEAD_TO_SALES,
            key=Milestone.Key.FIRST_RESPONSE,
        ).values("due_at")[:1]
    )


def first_response_due_at(lead: Lead):
    milestone = Milestone.objects.filter(
        handoff__lead=lead, key=Milestone.Key.FIRST_RESPONSE
    ).first()
    return milestone.due_at if milestone else None


def leads_with_due(queryset=None):
    queryset = queryset if queryset is not None else Lead.objects.all()
    return queryset.select_related("owner", "team", "account").annotate(
        first_response_due_at=first_response_due_subquery()
    )
