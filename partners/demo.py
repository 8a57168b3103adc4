"""The partner part of the demo workspace: a partner, its person, an engagement.

Loaded after the handoffs demo, which closes the Bergmann deal won: Nordlicht
Consulting implements it, the kickoff is planned, three of the five
readiness conditions hold, and Bergmann has a month of generated usage so
its health has a trend. Everything goes through the same services as real
data.
"""

from datetime import time, timedelta

from django.contrib.auth import get_user_model
from django.utils import timezone

from bowtie.models import Account, Person, ProductUsage, Team, WorkingPeriod
from handoffs.models import Handoff
from partners import health
from partners.actors import actor_for_member, actor_for_person
from partners.invitations import accept_invitation
from partners.models import Partner, PartnerMember
from partners.services import (
    add_comment,
    assign_partner,
    log_milestone,
    update_readiness,
)

DEMO_PASSWORD = "bowtie-demo"
PARTNER_EMAIL = "pia@nordlicht.example"
DEMO_SOURCE = "demo"

READY = [
    ("tasks_work", "IVY", "Order-to-invoice run end to end on staging."),
    ("data_migrated", "Pia Nordlicht", "12,400 customer records loaded, 0 errors."),
    ("support_plan", "Cara Schmidt", "Support rota and escalation path agreed."),
]


def load_partner_demo(now=None) -> dict:
    """Create the demo partner and its engagement; return the extra log-ins."""
    now = now or timezone.now()
    csm = create_customer_success(now)
    member = create_partner_member(now)
    ivy = Person.objects.get(user__username="ivy")

    handoff = Handoff.objects.get(
        kind=Handoff.Kind.SALES_TO_IMPLEMENTATION,
        deal__name="Bergmann order platform",
    )
    engagement = assign_partner(
        handoff, actor_for_person(ivy), member.partner, implementation_lead=ivy, now=now
    )
    partner = actor_for_member(member)
    log_milestone(
        engagement,
        "kickoff",
        partner,
        planned_on=(now + timedelta(days=2)).date(),
        notes="On site in Stuttgart; the AE joins.",
        now=now,
    )
    for key, owner, evidence in READY:
        update_readiness(
            engagement,
            key,
            partner,
            owner_name=ivy.full_name if owner == "IVY" else owner,
            evidence=evidence,
            is_met=True,
            now=now,
        )
    add_comment(
        engagement,
        partner,
        "Kickoff agenda sent to Bergmann's IT lead; waiting for the room booking.",
        now=now,
    )
    add_comment(engagement, actor_for_person(ivy), "Thanks, I'll be there.", now=now)

    create_usage(engagement.account, now)
    health.score_account_health(engagement.account, now.date(), now=now)
    create_account_manager(csm)
    return {"cara": DEMO_PASSWORD, "max": DEMO_PASSWORD, PARTNER_EMAIL: DEMO_PASSWORD}


def create_customer_success(now) -> Person:
    team = Team.objects.create(
        name="Customer Success",
        time_zone="Europe/Berlin",
        country="DE",
        function=Team.Function.CUSTOMER_SUCCESS,
    )
    for weekday in range(5):
        WorkingPeriod.objects.create(
            team=team, weekday=weekday, starts_at=time(9), ends_at=time(18)
        )
    user = get_user_model().objects.create_user(username="cara", password=DEMO_PASSWORD)
    csm = Person.objects.create(
        user=user,
        full_name="Cara Schmidt",
        email="cara@bowtie.example",
        role=Person.Role.CSM,
        team=team,
        time_zone=team.time_zone,
    )
    team.head = csm
    team.save(update_fields=["head"])
    Account.objects.filter(name="Bergmann Maschinenbau AG").update(owner=csm)
    return csm


def create_account_manager(csm: Person) -> Person:
    """The owner of the middle ownership band (EUR 10-50K expansion deals)."""
    team = Team.objects.create(
        name="Account Management",
        time_zone="Europe/Berlin",
        country="DE",
        function=Team.Function.ACCOUNT_MANAGEMENT,
    )
    for weekday in range(5):
        WorkingPeriod.objects.create(
            team=team, weekday=weekday, starts_at=time(9), ends_at=time(18)
        )
    user = get_user_model().objects.create_user(username="max", password=DEMO_PASSWORD)
    manager = Person.objects.create(
        user=user,
        full_name="Max Bauer",
        email="max@bowtie.example",
        role=Person.Role.AM,
        team=team,
        time_zone=team.time_zone,
    )
    team.head = manager
    team.save(update_fields=["head"])
    return manager


def create_partner_member(now) -> PartnerMember:
    """A partner's person who has accepted the invitation already."""
    partner = Partner.objects.create(
        name="Nordlicht Consulting",
        slug="nordlicht",
        contact_email="hello@nordlicht.example",
    )
    user = get_user_model().objects.create_user(
        username=PARTNER_EMAIL, email=PARTNER_EMAIL, password=None
    )
    member = PartnerMember.objects.create(
        user=user,
        partner=partner,
        full_name="Pia Nordlicht",
        email=PARTNER_EMAIL,
        time_zone="Europe/Berlin",
        invited_at=now,
    )
    accept_invitation(member, DEMO_PASSWORD, now)
    return member


def create_usage(account: Account, now) -> None:
    """A month of use that grows, most days of the working week."""
    today = now.date()
    rows = []
    for days_ago in range(30, 0, -1):
        day = today - timedelta(days=days_ago)
        if day.weekday() >= 5 or days_ago % 7 == 3:
            continue
        for feature in ("orders", "invoices")[: 1 + (days_ago < 15)]:
            rows.append(
                ProductUsage(
                    account=account,
                    source=DEMO_SOURCE,
                    external_id=f"{day:%Y%m%d}-{feature}",
                    used_on=day,
                    feature=feature,
                    usage_count=40 - days_ago,
                    duration_seconds=600,
                )
            )
    ProductUsage.objects.bulk_create(rows)
