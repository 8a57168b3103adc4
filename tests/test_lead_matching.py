"""Matching leads to accounts by registered domain."""

import pytest

from bowtie.domains import is_free_mail, registered_domain
from handoffs.services import intake_lead, match_account
from tests.factories import AccountDomainFactory, AccountFactory


@pytest.fixture
def acme(db):
    account = AccountFactory(name="Acme")
    AccountDomainFactory(account=account, domain="acme.com")
    return account


@pytest.mark.parametrize(
    ("host", "registered"),
    [
        ("acme.com", "acme.com"),
        ("mail.acme.com", "acme.com"),
        ("MAIL.Acme.COM.", "acme.com"),
        ("mail.eu.acme.co.uk", "acme.co.uk"),
        ("acme.com.evil.io", "evil.io"),
        ("notacme.com", "notacme.com"),
        ("localhost", ""),
        ("com", ""),
    ],
)
def test_registered_domain_follows_the_public_suffix_list(host, registered):
    assert registered_domain(host) == registered


@pytest.mark.parametrize(
    ("domain", "free"),
    [
        ("gmail.com", True),
        ("googlemail.com", True),
        ("yahoo.de", True),
        ("mail.yahoo.co.uk", True),
        ("web.de", True),
        ("acme.com", False),
        ("", False),
    ],
)
def test_free_mail_is_recognised_under_any_suffix(domain, free):
    assert is_free_mail(domain) is free


def test_lead_matches_account_when_from_a_subdomain_of_its_domain(acme, sales_team):
    result = intake_lead({"email": "zoe@mail.acme.com"}, channel="api")

    assert result.lead.email_domain == "acme.com"
    assert result.lead.account == acme


def test_lead_matches_account_when_from_its_registered_domain(acme, sales_team):
    result = intake_lead({"email": "zoe@acme.com"}, channel="api")

    assert result.lead.account == acme


@pytest.mark.parametrize(
    "email",
    ["zoe@notacme.com", "zoe@acme.com.evil.io", "zoe@acmeco.com", "zoe@acme.co"],
)
def test_lead_matches_no_account_when_domain_only_contains_the_name(
    acme, sales_team, email
):
    result = intake_lead({"email": email}, channel="api")

    assert result.lead.account is None


@pytest.mark.parametrize("email", ["zoe@gmail.com", "zoe@yahoo.de"])
def test_lead_matches_no_account_when_free_mail_even_if_registered(sales_team, email):
    misfiled = AccountFactory(name="Misfiled")
    AccountDomainFactory(account=misfiled, domain="gmail.com")
    AccountDomainFactory(account=misfiled, domain="yahoo.de")

    result = intake_lead({"email": email}, channel="api")

    assert result.lead.account is None


def test_match_account_returns_none_when_domain_is_empty(acme):
    assert match_account("") is None


def test_match_account_fills_company_from_the_account(acme, sales_team):
    acme.industry = "logistics"
    acme.employee_count = 1200
    acme.save()

    result = intake_lead({"email": "zoe@acme.com"}, channel="api")

    assert result.lead.company_name == "Acme"
    assert result.lead.industry == "logistics"
    assert result.lead.employee_count == 1200
