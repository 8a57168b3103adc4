"""Reads shared by pages and the API."""

from django.db.models import OuterRef, Q, Subquery

from bowtie.models import Person
from bowtie.visibility import (  # noqa: F401  (read from here by the apps)
    ALL_TEAMS_ROLES,
    MANAGING_ROLES,
    dashboard_teams,
    managed_teams,
)
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


def managed_leads_filter(person: Person, prefix: str = "") -> Q:
    """Leads of the teams a person manages; RevOps also owns the team-less ones.

    A lead that no rule matched has no team; RevOps, who write the rules, are
    the ones to route it by hand.
    """
    condition = Q(**{f"{prefix}team__in": managed_teams(person)})
    if person.role == Person.Role.REVOPS_ADMIN:
        condition |= Q(**{f"{prefix}team__isnull": True})
    return condition


def visible_leads(person: Person):
    """Leads a person may open: their own, their queue, and managed teams'."""
    if person.role in MANAGING_ROLES:
        managed = Lead.objects.filter(managed_leads_filter(person))
        return managed | Lead.objects.filter(owner=person)
    own = Lead.objects.filter(owner=person)
    if person.team_id is None or person.role not in Person.LEAD_TAKING_ROLES:
        # Not `team=None`: that would open every lead no rule routed. And only
        # those who take leads work the team's queue.
        return own
    return own | Lead.objects.filter(owner__isnull=True, team=person.team_id)


def visible_deals(person: Person):
    """Deals a person may open: their own, and those of teams they manage."""
    from bowtie.models import Deal

    own = Deal.objects.filter(owner=person)
    if person.role == Person.Role.REVOPS_ADMIN:
        return Deal.objects.all()
    if person.role in MANAGING_ROLES:
        return own | Deal.objects.filter(owner__team__in=managed_teams(person))
    return own


def received_handoffs(person: Person, kind: str):
    """Handoffs of one kind that a person's team (or managed teams) receives."""
    handoffs = Handoff.objects.filter(kind=kind)
    if person.role == Person.Role.REVOPS_ADMIN:
        return handoffs
    mine = Q(receiver=person) | Q(receiving_team__head=person)
    if person.role in MANAGING_ROLES:
        return handoffs.filter(mine | Q(receiving_team__in=managed_teams(person)))
    if person.team_id is None:
        return handoffs.filter(mine)
    # The receiving team works its handoffs together.
    return handoffs.filter(mine | Q(receiving_team=person.team_id))


def visible_handoffs(person: Person):
    """Handoffs a person may open: those their side receives, and those of
    the leads and deals they may open (the sender's among them)."""
    received = Handoff.objects.none()
    for kind in Handoff.Kind.values:
        received |= received_handoffs(person, kind)
    return (
        received
        | Handoff.objects.filter(sender=person)
        | Handoff.objects.filter(lead__in=visible_leads(person))
        | Handoff.objects.filter(deal__in=visible_deals(person))
    )
