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
