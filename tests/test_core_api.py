"""/api/accounts, /api/contacts, /api/people, /api/teams, and the schema and
docs the app serves for the whole API."""

import json
import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.contrib import admin
from django.core.management import CommandError, call_command
from rest_framework.pagination import CursorPagination

from bowtie.models import Account, ApiToken, Contact, Person
from tests.factories import (
    AccountDomainFactory,
    AccountFactory,
    ApiTokenFactory,
    ContactFactory,
    PersonFactory,
    TeamFactory,
)

NOW = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
READER_KEY = "bt_core_reader_00001"
WRITER_KEY = "bt_core_writer_00001"
PEOPLE_KEY = "bt_core_people_00001"


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def tokens(db):
    ApiTokenFactory(key=READER_KEY, scopes=["accounts:read"])
    ApiTokenFactory(key=WRITER_KEY, scopes=["accounts:read", "accounts:write"])
    ApiTokenFactory(key=PEOPLE_KEY, scopes=["people:read"])


def bearer(key):
    return {"HTTP_AUTHORIZATION": f"Bearer {key}"}


def send(client, method, url, body, key=WRITER_KEY):
    return getattr(client, method)(
        url, body, content_type="application/json", **bearer(key)
    )


def test_each_resource_needs_its_read_scope(client, tokens):
    answers = {
        url: (
            client.get(url, **bearer(READER_KEY)).status_code,
            client.get(url, **bearer(PEOPLE_KEY)).status_code,
        )
        for url in ("/api/accounts", "/api/contacts", "/api/people", "/api/teams")
    }

    assert answers == {
        "/api/accounts": (200, 403),
        "/api/contacts": (200, 403),
        "/api/people": (403, 200),
        "/api/teams": (403, 200),
    }
    assert client.get("/api/accounts").status_code == 401


def test_writes_need_the_write_scope(client, tokens):
    account = AccountFactory(name="Globex")

    created = send(client, "post", "/api/accounts", {"name": "Umbrella"}, READER_KEY)
    changed = send(
        client, "patch", f"/api/accounts/{account.pk}", {"name": "X"}, READER_KEY
    )

    assert (created.status_code, changed.status_code) == (403, 403)
    assert list(Account.objects.values_list("name", flat=True)) == ["Globex"]


def test_post_creates_an_account_through_the_service(client, tokens, frozen):
    owner = PersonFactory(role="am")
    parent = AccountFactory(name="Globex Holding")

    response = send(
        client,
        "post",
        "/api/accounts",
        {
            "name": "Globex",
            "parent": parent.pk,
            "owner": owner.pk,
            "country": "DE",
            "employee_count": 250,
            "external_id": "crm-77",
        },
    )

    account = Account.objects.get(name="Globex")
    assert response.status_code == 201
    assert response.json() == {
        "id": account.pk,
        "name": "Globex",
        "parent": parent.pk,
        "owner": owner.pk,
        "country": "DE",
        "industry": "",
        "employee_count": 250,
        "size": "mid",
        "annual_revenue": None,
        "annual_revenue_currency": None,
        "founded_year": None,
        "external_id": "crm-77",
        "domains": [],
        "created_at": "2027-03-01T09:00:00Z",
        "updated_at": "2027-03-01T09:00:00Z",
    }
    assert account.history.count() == 1


def test_bad_account_values_answer_400_naming_each_field(client, tokens):
    AccountFactory(name="Globex")

    response = send(
        client,
        "post",
        "/api/accounts",
        {"name": "Globex", "employee_count": "many", "owner": 999},
    )

    assert response.status_code == 400
    assert response.json() == {
        "name": ["account with this name already exists."],
        "owner": ['Invalid pk "999" - object does not exist.'],
        "employee_count": ["A valid integer is required."],
    }
    assert Account.objects.count() == 1


def test_the_models_own_checks_refuse_a_parent_loop_by_name(client, tokens):
    holding = AccountFactory(name="Holding")
    subsidiary = AccountFactory(name="Subsidiary", parent=holding)

    response = send(
        client, "patch", f"/api/accounts/{holding.pk}", {"parent": subsidiary.pk}
    )

    assert response.status_code == 400
    assert response.json() == {"parent": ["An account cannot be its own parent."]}
    holding.refresh_from_db()
    assert holding.parent is None


def test_patch_changes_only_the_fields_sent(client, tokens, frozen):
    account = AccountFactory(name="Globex", industry="software", country="DE")
    frozen.shift(timedelta(hours=1))

    response = send(
        client, "patch", f"/api/accounts/{account.pk}", {"industry": "logistics"}
    )

    account.refresh_from_db()
    assert response.status_code == 200
    assert (account.name, account.industry, account.country) == (
        "Globex",
        "logistics",
        "DE",
    )
    assert response.json()["updated_at"] == "2027-03-01T10:00:00Z"


def test_put_and_delete_are_not_offered(client, tokens):
    account = AccountFactory()

    put = send(client, "put", f"/api/accounts/{account.pk}", {"name": "X"})
    delete = client.delete(f"/api/accounts/{account.pk}", **bearer(WRITER_KEY))

    assert (put.status_code, delete.status_code) == (405, 405)


def test_contacts_are_created_and_refused_through_the_service(client, tokens):
    account = AccountFactory()

    created = send(
        client,
        "post",
        "/api/contacts",
        {"account": account.pk, "email": "ada@globex.example", "first_name": "Ada"},
    )
    refused = send(client, "post", "/api/contacts", {"email": "not an address"})

    assert created.status_code == 201
    assert Contact.objects.get().account == account
    assert refused.status_code == 400
    assert refused.json() == {"email": ["Enter a valid email address."]}


def test_a_signed_in_person_reads_but_only_revops_writes(client, db):
    AccountFactory(name="Globex")
    ae = PersonFactory(role="ae")
    revops = PersonFactory(role="revops_admin")
    client.force_login(ae.user)

    listed = client.get("/api/accounts")
    refused = client.post(
        "/api/accounts", {"name": "Umbrella"}, content_type="application/json"
    )
    client.force_login(revops.user)
    created = client.post(
        "/api/accounts", {"name": "Umbrella"}, content_type="application/json"
    )

    assert [account["name"] for account in listed.json()["results"]] == ["Globex"]
    assert refused.status_code == 403
    assert created.status_code == 201
    assert Account.objects.filter(name="Umbrella").count() == 1


def test_a_user_without_a_person_sees_nothing(client, db):
    from tests.factories import UserFactory

    client.force_login(UserFactory())

    assert client.get("/api/accounts").status_code == 403


def test_lists_filter_by_updated_since_and_other_fields(client, tokens, frozen):
    old = AccountFactory(name="Old", country="FR")
    AccountDomainFactory(account=old, domain="old.example")
    frozen.shift(timedelta(days=1))
    new = AccountFactory(name="New", country="DE")
    ContactFactory(account=old)
    contact = ContactFactory(account=new, email="Kim@New.example")

    def names(url, **filters):
        response = client.get(url, filters, **bearer(READER_KEY))
        return [row["id"] for row in response.json()["results"]]

    assert names("/api/accounts", updated_since="2027-03-01T12:00:00Z") == [new.pk]
    assert names("/api/accounts", updated_since="2027-03-01T12:00:00+01:00") == [new.pk]
    assert names("/api/accounts", country="FR") == [old.pk]
    assert names("/api/accounts", domain="OLD.example") == [old.pk]
    assert names("/api/contacts", account=new.pk) == [contact.pk]
    assert names("/api/contacts", email="kim@new.example") == [contact.pk]


def test_a_bad_updated_since_answers_400_naming_it(client, tokens):
    response = client.get(
        "/api/accounts", {"updated_since": "yesterday"}, **bearer(READER_KEY)
    )

    assert response.status_code == 400
    assert list(response.json()) == ["updated_since"]


def test_lists_order_on_request_and_walk_by_cursor(client, tokens, frozen, monkeypatch):
    monkeypatch.setattr(CursorPagination, "page_size", 2)
    names = ["Cyberdyne", "Acme", "Initech", "Bluth"]
    for name in names:
        AccountFactory(name=name)
        frozen.shift(timedelta(minutes=1))

    def walk(**params):
        pages = [client.get("/api/accounts", params, **bearer(READER_KEY)).json()]
        while pages[-1]["next"]:
            pages.append(client.get(pages[-1]["next"], **bearer(READER_KEY)).json())
        return [[row["name"] for row in page["results"]] for page in pages]

    assert walk() == [["Bluth", "Initech"], ["Acme", "Cyberdyne"]]
    assert walk(ordering="name") == [["Acme", "Bluth"], ["Cyberdyne", "Initech"]]
    assert walk(ordering="-updated_at") == walk()


def test_account_list_costs_two_queries_for_one_or_many(
    client, tokens, django_assert_num_queries
):
    AccountDomainFactory()
    client.get("/api/accounts", **bearer(READER_KEY))
    # The token, the accounts, their domains.
    with django_assert_num_queries(3):
        client.get("/api/accounts", **bearer(READER_KEY))
    AccountDomainFactory.create_batch(4)

    with django_assert_num_queries(3):
        response = client.get("/api/accounts", **bearer(READER_KEY))

    assert len(response.json()["results"]) == 5


def test_people_leave_out_their_webhook_address_and_filter_by_team(client, tokens):
    team = TeamFactory(name="Inbound")
    rep = PersonFactory(
        team=team, slack_webhook_url="https://hooks.example.com/services/secret"
    )
    PersonFactory()

    response = client.get("/api/people", {"team": team.pk}, **bearer(PEOPLE_KEY))
    teams = client.get("/api/teams", {"function": "sales"}, **bearer(PEOPLE_KEY)).json()

    row = response.json()["results"][0]
    assert [person["id"] for person in response.json()["results"]] == [rep.pk]
    assert "slack_webhook_url" not in row
    assert "secret" not in response.content.decode()
    assert (row["team"], row["role"], row["time_zone"]) == (
        team.pk,
        "sdr",
        "Europe/Berlin",
    )
    assert team.pk in [row["id"] for row in teams["results"]]


def test_people_and_teams_are_read_only(client, tokens):
    ApiTokenFactory(key="bt_core_all_0000001", scopes=["people:read"])
    person = PersonFactory()

    response = client.patch(
        f"/api/people/{person.pk}",
        {"full_name": "X"},
        content_type="application/json",
        **bearer("bt_core_all_0000001"),
    )

    assert response.status_code == 405


def test_create_api_token_issues_a_token_that_acts_as_a_person(db, capsys):
    person = PersonFactory(email="ivy@bowtie.test")

    call_command(
        "create_api_token",
        "Ivy's scripts",
        "--scope",
        "handoffs:write",
        "--person",
        "IVY@bowtie.test",
    )

    token = ApiToken.objects.get()
    assert (token.person, token.scopes) == (person, ["handoffs:write"])
    assert capsys.readouterr().out.strip().startswith("bt_")
    with pytest.raises(CommandError, match="No person has the address"):
        call_command("create_api_token", "Nobody's", "--person", "no@bowtie.test")


ADDED_PATHS = {
    "/api/accounts/",
    "/api/accounts/{id}/",
    "/api/contacts/",
    "/api/contacts/{id}/",
    "/api/people/",
    "/api/people/{id}/",
    "/api/teams/",
    "/api/teams/{id}/",
    "/api/handoffs/",
    "/api/handoffs/{id}/",
    "/api/handoffs/{id}/accept/",
    "/api/handoffs/{id}/reject/",
    "/api/handoffs/{id}/resubmit/",
    "/api/handoffs/{id}/rate/",
    "/api/milestones/",
    "/api/milestones/{id}/",
    "/api/packet-templates/",
    "/api/packet-templates/{id}/",
}


def test_the_schema_validates_without_warnings_and_lists_every_resource(tmp_path, db):
    schema_file = tmp_path / "schema.json"

    # Raises on an invalid schema, and on any warning.
    call_command(
        "spectacular",
        "--validate",
        "--fail-on-warn",
        "--format",
        "openapi-json",
        "--file",
        str(schema_file),
    )

    schema = json.loads(schema_file.read_text())
    assert ADDED_PATHS <= set(schema["paths"])
    assert schema["components"]["securitySchemes"]["apiToken"] == {
        "type": "http",
        "scheme": "bearer",
    }
    accept = schema["paths"]["/api/handoffs/{id}/accept/"]["post"]
    assert accept["description"].endswith("A token needs the scope `handoffs:write`.")
    # The refusals schemathesis met are documented, with their bodies.
    paths = schema["paths"]
    assert list(paths["/api/accounts/"]["get"]["responses"]) == [
        "200", "400", "401", "403", "404", "429"
    ]  # fmt: skip
    assert list(paths["/api/accounts/{id}/"]["get"]["responses"]) == [
        "200", "401", "403", "404", "429"
    ]  # fmt: skip
    batch = paths["/api/leads/batch/"]["post"]
    assert batch["requestBody"]["content"]["application/json"]["schema"] == {
        "type": "array",
        "items": {"$ref": "#/components/schemas/Lead"},
    }
    assert batch["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/LeadBatchAnswer"
    }
    deal = schema["components"]["schemas"]["Deal"]["properties"]
    assert (deal["handoff"]["nullable"], deal["renewal"]["nullable"]) == (True, True)


def test_the_schema_is_served_at_api_schema(client, db):
    response = client.get("/api/schema", {"format": "json"})

    assert response.status_code == 200
    assert ADDED_PATHS <= set(response.json()["paths"])


def test_an_api_address_no_route_matches_answers_json_404(client, db):
    response = client.get("/api/accounts/0.5/")

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "Not found."}


def test_the_docs_are_served_by_the_app_with_no_outside_address(client, db, settings):
    # As in development: WhiteNoise serves the installed apps' static files
    # where production serves them collected.
    settings.WHITENOISE_USE_FINDERS = True
    settings.WHITENOISE_AUTOREFRESH = True

    response = client.get("/api/docs")

    html = response.content.decode()
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert response.status_code == 200
    assert "https://" not in html and "http://" not in html
    assert '"/api/schema"' in html
    assert len(assets) == 4
    for asset in assets:
        assert asset.startswith("/static/drf_spectacular_sidecar/swagger-ui-dist/")
        assert client.get(asset).status_code == 200


def test_an_account_posted_twice_under_one_key_is_created_once(client, tokens):
    body = {"name": "Initech", "country": "US"}
    headers = {"HTTP_IDEMPOTENCY_KEY": "create-initech-1"}

    first = client.post(
        "/api/accounts",
        body,
        content_type="application/json",
        **bearer(WRITER_KEY),
        **headers,
    )
    again = client.post(
        "/api/accounts",
        body,
        content_type="application/json",
        **bearer(WRITER_KEY),
        **headers,
    )

    assert (first.status_code, again.status_code) == (201, 201)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert Account.objects.filter(name="Initech").count() == 1


def test_staff_issue_person_tokens_only_for_themselves(db, rf):
    staff = PersonFactory(role="revops_admin")
    PersonFactory(role="implementation")
    request = rf.get("/admin/bowtie/apitoken/add/")
    request.user = staff.user
    token_admin = admin.site._registry[ApiToken]

    field = token_admin.formfield_for_foreignkey(
        ApiToken._meta.get_field("person"), request
    )

    assert list(field.queryset) == [staff]
    assert Person.objects.filter(role="implementation").exists()
