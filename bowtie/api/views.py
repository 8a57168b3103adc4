"""/api/accounts, /api/contacts, /api/people, /api/teams, /api/ownership-bands.

Every signed-in person sees all of these: customers and the company's staff
are what every lead, deal and handoff names, not one team's work. Narrowing
by person is for the work itself (leads, deals, handoffs). Scopes:
`accounts:read` and `accounts:write` for accounts and contacts,
`people:read` for people and teams, `governance:read` for the ownership
bands (RevOps changes those on their settings page, not here).
"""

from rest_framework.mixins import ListModelMixin, RetrieveModelMixin

from bowtie.api.filters import (
    AccountFilterSet,
    ContactFilterSet,
    OwnershipBandFilterSet,
    PersonFilterSet,
    TeamFilterSet,
)
from bowtie.api.serializers import (
    AccountSerializer,
    ContactSerializer,
    OwnershipBandSerializer,
    PersonSerializer,
    TeamSerializer,
)
from bowtie.api.viewsets import ResourceViewSet, ServiceWriteMixin
from bowtie.models import Account, Contact, OwnershipBand, Person, Team
from bowtie.services import save_account, save_contact


class AccountViewSet(
    ServiceWriteMixin, ListModelMixin, RetrieveModelMixin, ResourceViewSet
):
    """Accounts with their domains; a signed-in person writes only as RevOps."""

    queryset = Account.objects.prefetch_related("domains")
    serializer_class = AccountSerializer
    filterset_class = AccountFilterSet
    service = staticmethod(save_account)
    ordering = ("-created_at", "-id")
    ordering_fields = ["name", "created_at", "updated_at"]
    read_scope = "accounts:read"
    write_scope = "accounts:write"


class ContactViewSet(
    ServiceWriteMixin, ListModelMixin, RetrieveModelMixin, ResourceViewSet
):
    """Contacts of accounts; a signed-in person writes only as RevOps."""

    queryset = Contact.objects.all()
    serializer_class = ContactSerializer
    filterset_class = ContactFilterSet
    service = staticmethod(save_contact)
    ordering = ("-created_at", "-id")
    ordering_fields = ["last_name", "created_at", "updated_at"]
    read_scope = "accounts:read"
    write_scope = "accounts:write"


class PersonViewSet(ListModelMixin, RetrieveModelMixin, ResourceViewSet):
    """People of the company; kept in the admin, read here."""

    queryset = Person.objects.all()
    serializer_class = PersonSerializer
    filterset_class = PersonFilterSet
    ordering = ("-created_at", "-id")
    ordering_fields = ["full_name", "created_at", "updated_at"]
    read_scope = "people:read"


class TeamViewSet(ListModelMixin, RetrieveModelMixin, ResourceViewSet):
    """Teams of the company; kept in the admin, read here."""

    queryset = Team.objects.all()
    serializer_class = TeamSerializer
    filterset_class = TeamFilterSet
    ordering = ("-created_at", "-id")
    ordering_fields = ["name", "created_at", "updated_at"]
    read_scope = "people:read"


class OwnershipBandViewSet(ListModelMixin, ResourceViewSet):
    """The ownership bands in force on a day (`on`, default today), lowest first.

    Every amount belongs to exactly one band: a band includes its lower
    amount and excludes its upper one.
    """

    queryset = OwnershipBand.objects.select_related("policy")
    serializer_class = OwnershipBandSerializer
    filterset_class = OwnershipBandFilterSet
    ordering = ("lower_eur", "id")
    ordering_fields = ["lower_eur"]
    read_scope = "governance:read"
