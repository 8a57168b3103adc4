"""Which engagements an actor may see and work: the partner boundary.

Every page, API view, export and count of the partners app starts from
`visible_engagements`, so a partner's caller never reaches a row of another
partner, and one with no partner reaches none.
"""

from django.db.models import Q

from bowtie.models import Person
from handoffs.queries import visible_deals
from partners.actors import Actor
from partners.models import Engagement

# Vendor roles that see and work every engagement.
IMPLEMENTATION_ROLES = (Person.Role.IMPLEMENTATION, Person.Role.REVOPS_ADMIN)


def visible_engagements(actor: Actor | None):
    engagements = Engagement.objects.all()
    if actor is None:
        return engagements.none()
    if actor.is_partner:
        if actor.partner is None:
            return engagements.none()
        return engagements.filter(partner=actor.partner)

    person = actor.person
    if person is None:
        return engagements.none()
    if person.role in IMPLEMENTATION_ROLES or person.role == Person.Role.MANAGER:
        return engagements
    return engagements.filter(
        Q(deal__in=visible_deals(person))
        | Q(account__owner=person)
        | Q(ae=person)
        | Q(implementation_lead=person)
    )


def can_work_engagement(actor: Actor, engagement: Engagement) -> bool:
    """Log milestones and readiness: the partner delivering it, or the vendor's
    implementation side (on the partner's behalf, or for an in-house one)."""
    if actor.is_partner:
        return actor.partner is not None and engagement.partner_id == actor.partner.pk
    person = actor.person
    if person is None:
        return False
    return (
        person.role in IMPLEMENTATION_ROLES
        or person.pk == engagement.implementation_lead_id
    )


def can_assign_partners(person: Person | None) -> bool:
    return person is not None and person.role in (
        *IMPLEMENTATION_ROLES,
        Person.Role.MANAGER,
    )
