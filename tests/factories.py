"""factory_boy factories shared by every test module."""

import factory
from django.contrib.auth import get_user_model

from bowtie.models import Account, AccountDomain, Contact, Person, Team
from handoffs.models import RoutingRule

PASSWORD = "correct-horse-battery"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ["username"]

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.django.Password(PASSWORD)


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team

    name = factory.Sequence(lambda n: f"Team {n}")
    time_zone = "Europe/Berlin"


class PersonFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Person

    full_name = factory.Sequence(lambda n: f"Rep {n}")
    email = factory.Sequence(lambda n: f"rep{n}@bowtie.test")
    role = Person.Role.SDR
    team = factory.SubFactory(TeamFactory)
    time_zone = "Europe/Berlin"
    user = factory.SubFactory(UserFactory, username=factory.SelfAttribute("..email"))


class AccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Account

    name = factory.Sequence(lambda n: f"Account {n}")
    country = "DE"
    industry = "software"
    employee_count = 500


class AccountDomainFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AccountDomain

    account = factory.SubFactory(AccountFactory)
    domain = factory.Sequence(lambda n: f"account{n}.com")


class ContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contact

    account = factory.SubFactory(AccountFactory)
    email = factory.Sequence(lambda n: f"contact{n}@example.org")
    first_name = "Kim"
    last_name = factory.Sequence(lambda n: f"Contact{n}")


class RoutingRuleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RoutingRule

    name = factory.Sequence(lambda n: f"Rule {n}")
    priority = factory.Sequence(lambda n: 100 + n)
    team = factory.SubFactory(TeamFactory)
    conditions = factory.LazyFunction(list)


def _now():
    from django.utils import timezone

    return timezone.now()


def _a_week_after_start(period):
    from datetime import timedelta

    return period.starts_at + timedelta(days=7)


def _hash_key(token) -> str:
    from bowtie.models import hash_token_key

    return hash_token_key(token.key)


class ApiTokenFactory(factory.django.DjangoModelFactory):
    """An integration token; pass `key` to know the secret a test sends."""

    class Meta:
        model = "bowtie.ApiToken"

    class Params:
        key = factory.Sequence(lambda n: f"bt_test_key_{n:04d}")

    name = factory.Sequence(lambda n: f"Integration {n}")
    key_prefix = factory.LazyAttribute(lambda token: token.key[:10])
    key_hash = factory.LazyAttribute(_hash_key)
    scopes = factory.LazyFunction(lambda: ["leads:write"])


class OutOfOfficeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "bowtie.OutOfOffice"

    person = factory.SubFactory(PersonFactory)
    starts_at = factory.LazyFunction(_now)
    ends_at = factory.LazyAttribute(_a_week_after_start)


class TerritoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "bowtie.Territory"

    name = factory.Sequence(lambda n: f"Territory {n}")
    countries = factory.LazyFunction(list)


class LeadFactory(factory.django.DjangoModelFactory):
    """A lead row as it stands, without intake: no routing, no clock."""

    class Meta:
        model = "handoffs.Lead"

    email = factory.Sequence(lambda n: f"lead{n}@example.net")
    email_domain = "example.net"
    lead_type = "organic"
    channel = "api"
    received_at = factory.LazyFunction(_now)
