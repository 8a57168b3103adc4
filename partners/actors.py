"""Who acts on an engagement: a vendor person, a partner's person or token.

Services take an `Actor` so one rule holds on every path: the partner area,
the vendor pages, the partner API and the admin all name their caller the
same way, and a partner's caller always carries its partner.
"""

from dataclasses import dataclass

from bowtie.models import ApiToken, Person
from partners.models import Partner, PartnerMember


@dataclass(frozen=True)
class Actor:
    name: str
    user: object | None = None
    person: Person | None = None
    member: PartnerMember | None = None
    partner: Partner | None = None
    token: ApiToken | None = None
    time_zone: str = "UTC"

    @property
    def is_partner(self) -> bool:
        return self.member is not None or self.token is not None

    def __str__(self):
        return self.name


def actor_for_person(person: Person) -> Actor:
    return Actor(
        name=person.full_name,
        user=person.user,
        person=person,
        time_zone=person.time_zone,
    )


def actor_for_member(member: PartnerMember) -> Actor:
    return Actor(
        name=f"{member.full_name} ({member.partner})",
        user=member.user,
        member=member,
        partner=member.partner if member.can_sign_in() else None,
        time_zone=member.time_zone,
    )


def actor_for_token(token: ApiToken) -> Actor:
    """A partner's system; with no partner link it reaches nothing."""
    link = getattr(token, "partner_link", None)
    partner = link.partner if link is not None and link.partner.is_active else None
    return Actor(name=f"{token.name} (API)", token=token, partner=partner)


def actor_for_user(user) -> Actor | None:
    """The actor behind a signed-in user, or None for one linked to neither."""
    member = getattr(user, "partner_member", None)
    if member is not None:
        return actor_for_member(member)
    person = getattr(user, "person", None)
    if person is not None:
        return actor_for_person(person)
    return None
