"""Two partners, each with a person and one engagement of a won deal.

Shared by the tests of the partner area, the partner API, isolation, the
hand-over to customer success and health: `build_partner_world()` closes two
deals won and gives one to each partner.
"""

from types import SimpleNamespace

from django.contrib.auth import get_user_model
from django.utils import timezone
from djmoney.money import Money

from bowtie.models import Deal, Pipeline
from handoffs.closing import close_deal_won, save_deal_packet
from partners.actors import actor_for_member, actor_for_person
from partners.models import Partner, PartnerMember
from partners.services import assign_partner
from tests.deal_fixtures import COMPLETE_PACKET
from tests.factories import AccountFactory, ContactFactory, PersonFactory, TeamFactory

PASSWORD = "partner-pass-1234"


def build_partner_member(partner: Partner, email: str, full_name: str):
    user = get_user_model().objects.create_user(
        username=email, email=email, password=PASSWORD
    )
    return PartnerMember.objects.create(
        user=user,
        partner=partner,
        full_name=full_name,
        email=email,
        invited_at=timezone.now(),
        joined_at=timezone.now(),
    )


def build_won_deal(name: str, ae, pipeline) -> Deal:
    account = AccountFactory(name=name, owner=PersonFactory(role="csm"))
    ContactFactory(account=account, first_name="Ada", last_name=f"{name} Lind")
    deal = Deal.objects.create(
        name=f"{name} platform",
        account=account,
        owner=ae,
        pipeline=pipeline,
        stage=pipeline.stages.get(name="Engaging"),
        amount=Money(24_000, "EUR"),
        term_months=12,
    )
    save_deal_packet(deal, COMPLETE_PACKET)
    return close_deal_won(deal, actor=ae).deal


def build_partner_world() -> SimpleNamespace:
    """Acme and Birch, a person each, and an engagement each.

    The implementation lead (`head`) is a vendor person of the implementation
    team; `ae` sold both deals.
    """
    sales = TeamFactory(name="Enterprise AEs")
    ae = PersonFactory(full_name="Alex AE", role="ae", team=sales)
    implementation = TeamFactory(name="Implementation", function="implementation")
    head = PersonFactory(
        full_name="Ivy Impl", role="implementation", team=implementation
    )
    implementation.head = head
    implementation.save()
    success = TeamFactory(name="Customer success", function="customer_success")
    csm = PersonFactory(full_name="Cass CSM", role="csm", team=success)
    success.head = csm
    success.save()
    pipeline = Pipeline.objects.get(kind="new_business", is_default=True)

    acme = Partner.objects.create(name="Acme Partners", slug="acme")
    birch = Partner.objects.create(name="Birch Consulting", slug="birch")
    acme_member = build_partner_member(acme, "pia@acme.example", "Pia Acme")
    birch_member = build_partner_member(birch, "bo@birch.example", "Bo Birch")

    vendor = actor_for_person(head)
    acme_deal = build_won_deal("Globex", ae, pipeline)
    birch_deal = build_won_deal("Initech", ae, pipeline)
    acme_engagement = assign_partner(acme_deal.handoffs.get(), vendor, acme)
    birch_engagement = assign_partner(birch_deal.handoffs.get(), vendor, birch)
    return SimpleNamespace(
        ae=ae,
        head=head,
        csm=csm,
        implementation=implementation,
        success=success,
        acme=acme,
        birch=birch,
        acme_member=acme_member,
        birch_member=birch_member,
        acme_actor=actor_for_member(acme_member),
        birch_actor=actor_for_member(birch_member),
        vendor=vendor,
        acme_engagement=acme_engagement,
        birch_engagement=birch_engagement,
    )
