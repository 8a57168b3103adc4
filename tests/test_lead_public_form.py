"""The public embeddable form: signed token, spam trap, rate limit, one intake."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core.cache import cache

from bowtie.models import Notification
from handoffs.forms import is_valid_form_token, issue_form_token
from handoffs.models import Lead, Milestone, RoutingDecision
from tests.factories import ApiTokenFactory

NOW = datetime(2025, 3, 4, 9, 0, tzinfo=UTC)
FORM_URL = "/form/"
THANKS_URL = "/form/thanks/"


@pytest.fixture(autouse=True)
def _fresh_rate_limit():
    # The rate-limit counters live in a process-wide local-memory cache.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def form_data(**changes):
    data = {
        "form_token": issue_form_token(),
        "first_name": "Zoë",
        "last_name": "Doe",
        "email": " Zoe@Globex.com ",
        "company_name": "Globex",
        "job_title": "Head of Operations",
        "country": "DE",
        "language": "de",
        "form_type": "demo_request",
        "website": "",
    }
    return data | changes


def test_form_renders_with_a_valid_token(client, db):
    response = client.get(FORM_URL)

    assert response.status_code == 200
    assert is_valid_form_token(response.context["form_token"]) is True
    assert 'name="form_token"' in response.content.decode()
    assert 'name="website"' in response.content.decode()


def test_form_may_be_embedded_on_other_sites(client, db):
    response = client.get(FORM_URL)

    assert "X-Frame-Options" not in response


def test_form_creates_a_lead_routed_like_the_api(client, sales_team, frozen):
    ApiTokenFactory(key="bt_form_test_key", scopes=["leads:write"])

    response = client.post(FORM_URL, form_data())
    api = client.post(
        "/api/leads",
        {"email": "yan@globex.com", "form_type": "demo_request"},
        content_type="application/json",
        HTTP_AUTHORIZATION="Bearer bt_form_test_key",
    )

    lead = Lead.objects.get(email="zoe@globex.com")
    decision = RoutingDecision.objects.get(lead=lead)
    assert response.status_code == 302
    assert response["Location"] == THANKS_URL
    assert lead.channel == "form"
    assert lead.lead_type == "hand_raiser"
    assert lead.country == "DE"
    assert lead.language == "de"
    assert lead.owner == sales_team["reps"][0]
    assert decision.reason == (
        "Matched rule “Everything else” to Inbound EMEA; next eligible in the "
        "round-robin: Rep A."
    )
    assert Milestone.objects.get(handoff__lead=lead, key="first_response").due_at == (
        NOW + timedelta(minutes=5)
    )
    assert api.json()["owner"]["name"] == "Rep B"


def test_form_repeat_is_a_touch_on_the_same_lead(client, sales_team, frozen):
    client.post(FORM_URL, form_data())

    response = client.post(FORM_URL, form_data())

    assert response.status_code == 302
    assert Lead.objects.get().touch_count == 2


def test_form_refuses_a_bad_email_naming_the_field_and_stores_nothing(
    client, sales_team
):
    response = client.post(FORM_URL, form_data(email="zoe@"))

    assert response.status_code == 400
    assert response.context["form"].errors == {
        "email": [
            "Not a valid e-mail address: There must be something after the @-sign."
        ]
    }
    assert "There must be something after the @-sign." in response.content.decode()
    assert Lead.objects.count() == 0


def test_form_refuses_an_unknown_country_naming_the_field(client, sales_team):
    response = client.post(FORM_URL, form_data(country="Atlantis"))

    assert response.status_code == 400
    assert response.context["form"].errors == {
        "country": ["'Atlantis' is not a known country."]
    }
    assert Lead.objects.count() == 0


def test_form_refuses_missing_required_fields(client, sales_team):
    response = client.post(FORM_URL, form_data(first_name="", company_name=""))

    assert response.status_code == 400
    assert response.context["form"].errors == {
        "first_name": ["This field is required."],
        "company_name": ["This field is required."],
    }
    assert Lead.objects.count() == 0


def test_form_filled_trap_thanks_the_bot_and_stores_nothing(client, sales_team):
    response = client.post(FORM_URL, form_data(website="https://spam.example"))

    assert response.status_code == 302
    assert response["Location"] == THANKS_URL
    assert Lead.objects.count() == 0
    assert Notification.objects.count() == 0


@pytest.mark.parametrize(
    "token",
    [
        "",
        "lead-form",
        "lead-form:1tGz0q:forgedsignatureforgedsignature00",
        "something-else",
    ],
)
def test_form_refuses_a_missing_or_forged_token_and_stores_nothing(
    client, sales_team, token
):
    response = client.post(FORM_URL, form_data(form_token=token))

    assert response.status_code == 400
    assert response.context["form"].non_field_errors() == [
        "This form expired. Reload the page and send it again."
    ]
    assert Lead.objects.count() == 0


def test_form_refuses_a_token_older_than_six_hours(client, sales_team):
    with time_machine.travel(NOW, tick=False):
        token = issue_form_token()

    with time_machine.travel(NOW + timedelta(hours=6, seconds=1), tick=False):
        response = client.post(FORM_URL, form_data(form_token=token))

    assert response.status_code == 400
    assert Lead.objects.count() == 0


def test_form_accepts_a_token_just_under_six_hours_old(client, sales_team):
    with time_machine.travel(NOW, tick=False):
        token = issue_form_token()

    with time_machine.travel(NOW + timedelta(hours=6), tick=False):
        response = client.post(FORM_URL, form_data(form_token=token))

    assert response.status_code == 302
    assert Lead.objects.count() == 1


def test_form_answers_429_after_the_rate_limit(client, sales_team, settings, frozen):
    settings.BOWTIE_FORM_RATE_LIMIT = "2/m"

    codes = [
        client.post(FORM_URL, form_data(email=f"person{number}@globex.com")).status_code
        for number in range(3)
    ]

    assert codes == [302, 302, 429]
    assert Lead.objects.count() == 2


def test_form_rate_limit_counts_each_address_apart(
    client, sales_team, settings, frozen
):
    settings.BOWTIE_FORM_RATE_LIMIT = "1/m"
    client.post(FORM_URL, form_data(email="a@globex.com"), REMOTE_ADDR="10.0.0.1")

    other = client.post(
        FORM_URL, form_data(email="b@globex.com"), REMOTE_ADDR="10.0.0.2"
    )
    again = client.post(
        FORM_URL, form_data(email="c@globex.com"), REMOTE_ADDR="10.0.0.1"
    )

    assert (other.status_code, again.status_code) == (302, 429)


def test_form_rate_limit_lets_the_next_minute_through(
    client, sales_team, settings, frozen
):
    settings.BOWTIE_FORM_RATE_LIMIT = "1/m"
    client.post(FORM_URL, form_data(email="a@globex.com"))
    frozen.shift(timedelta(minutes=1))

    response = client.post(FORM_URL, form_data(email="b@globex.com"))

    assert response.status_code == 302
    assert Lead.objects.count() == 2


def test_thanks_page_renders(client, db):
    response = client.get(THANKS_URL)

    assert response.status_code == 200
