"""The API's rate limit: per token or user, 429 with Retry-After, bench exempt."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from bowtie.models import ApiToken
from bowtie.services import change_api_token_rate
from handoffs.benchmarks.workspace import seed_workspace
from handoffs.models import Lead
from tests.factories import ApiTokenFactory, PersonFactory

NOW = datetime(2025, 3, 4, 9, 0, tzinfo=UTC)
READER_KEY = "bt_throttle_reader_01"
OTHER_KEY = "bt_throttle_other_001"
WRITER_KEY = "bt_throttle_writer_01"


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def reader(db):
    return ApiTokenFactory(
        key=READER_KEY, scopes=["leads:read"], rate_per_minute=2, name="BI export"
    )


def list_leads(client, key=READER_KEY):
    return client.get("/api/leads", HTTP_AUTHORIZATION=f"Bearer {key}")


def test_token_past_its_rate_answers_429_with_retry_after(client, reader, frozen):
    codes = [list_leads(client).status_code for _ in range(2)]

    refused = list_leads(client)

    assert codes == [200, 200]
    assert refused.status_code == 429
    assert refused["Retry-After"] == "60"
    assert refused.json() == {
        "detail": "Request was throttled. Expected available in 60 seconds."
    }


def test_retry_after_counts_down_and_the_next_minute_lets_the_token_in(
    client, reader, frozen
):
    list_leads(client)
    list_leads(client)
    frozen.shift(timedelta(seconds=45))

    refused = list_leads(client)
    frozen.shift(timedelta(seconds=15))
    allowed = list_leads(client)

    assert (refused.status_code, refused["Retry-After"]) == (429, "15")
    assert allowed.status_code == 200


def test_tokens_are_counted_apart(client, reader, frozen):
    ApiTokenFactory(key=OTHER_KEY, scopes=["leads:read"], rate_per_minute=2)
    list_leads(client)
    list_leads(client)

    other = list_leads(client, key=OTHER_KEY)

    assert other.status_code == 200
    assert list_leads(client).status_code == 429


def test_token_without_a_rate_of_its_own_has_the_default(client, db, settings, frozen):
    settings.BOWTIE_API_RATE_PER_MINUTE = 1
    ApiTokenFactory(key=OTHER_KEY, scopes=["leads:read"])

    codes = [list_leads(client, key=OTHER_KEY).status_code for _ in range(2)]

    assert codes == [200, 429]


def test_token_with_rate_zero_is_not_limited(client, db, settings, frozen):
    settings.BOWTIE_API_RATE_PER_MINUTE = 1
    ApiTokenFactory(key=OTHER_KEY, scopes=["leads:read"], rate_per_minute=0)

    codes = [list_leads(client, key=OTHER_KEY).status_code for _ in range(5)]

    assert codes == [200] * 5


def test_a_new_rate_counts_at_once(client, reader, frozen):
    list_leads(client)
    list_leads(client)

    change_api_token_rate(reader, 4)

    assert [list_leads(client).status_code for _ in range(3)] == [200, 200, 429]


def test_signed_in_users_are_counted_each_apart(client, settings, sales_team, frozen):
    settings.BOWTIE_API_RATE_PER_MINUTE = 1
    rep_a, rep_b, _ = sales_team["reps"]
    client.force_login(rep_a.user)
    client.get("/api/leads")

    again = client.get("/api/leads")
    client.force_login(rep_b.user)
    other = client.get("/api/leads")

    assert (again.status_code, other.status_code) == (429, 200)


def test_a_throttled_post_stores_no_lead(client, sales_team, frozen):
    ApiTokenFactory(key=WRITER_KEY, scopes=["leads:write"], rate_per_minute=1)
    headers = {"HTTP_AUTHORIZATION": f"Bearer {WRITER_KEY}"}

    codes = [
        client.post(
            "/api/leads",
            {"email": f"lead{number}@globex.com"},
            content_type="application/json",
            **headers,
        ).status_code
        for number in range(2)
    ]

    assert codes == [201, 429]
    assert Lead.objects.count() == 1


def test_a_refused_token_counts_against_nothing(client, reader, frozen):
    # Permissions run before throttles: 403s do not use up the rate.
    ApiTokenFactory(key=OTHER_KEY, scopes=["deals:read"], rate_per_minute=1)
    refused = [list_leads(client, key=OTHER_KEY).status_code for _ in range(3)]

    allowed = client.get("/api/deals", HTTP_AUTHORIZATION=f"Bearer {OTHER_KEY}")

    assert refused == [403, 403, 403]
    assert allowed.status_code == 200


def test_bench_token_is_not_rate_limited(db):
    key = seed_workspace(rep_count=2)

    token = ApiToken.objects.get(key_prefix=key[:10])

    assert token.rate_per_minute == 0


def test_admin_changes_a_token_rate_and_nothing_else(client, reader):
    revops = PersonFactory(role="revops_admin")
    revops.user.is_staff = revops.user.is_superuser = True
    revops.user.save()
    client.force_login(revops.user)

    response = client.post(
        f"/admin/bowtie/apitoken/{reader.pk}/change/",
        {"name": "Renamed", "scopes": '["deals:write"]', "rate_per_minute": "30"},
    )

    stored = ApiToken.objects.get(pk=reader.pk)
    assert response.status_code == 302
    assert (stored.name, stored.scopes, stored.rate_per_minute) == (
        "BI export",
        ["leads:read"],
        30,
    )
