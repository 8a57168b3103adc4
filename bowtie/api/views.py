"""/api/accounts, /api/contacts, /api/people and /api/teams.

Every signed-in person sees all of these: customers and the company's staff
are what every lead, deal and handoff names, not one team's work. Narrowing
by person is for the work itself (leads, deals, handoffs). Scopes:
`accounts:read` and `accounts:write` for accounts and contacts,
`people:read` for people and teams.
"""

from rest_framework.mixins import ListModelMixin, RetrieveModelMixin

from bowtie.api.filters import (
    AccountFilterSet,
    ContactFilterSet,
    PersonFilterSet,
    TeamFilterSet,
)
from bowtie.api.serializers import (
    AccountSerializer,
    ContactSerializer,
    PersonSerializer,
    TeamSerializer,
)
from bowtie.api.viewsets import ResourceViewSet, ServiceWriteMixin
from bowtie.models import Account, Contact, Person, Team
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
