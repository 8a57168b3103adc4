"""Idempotency-Key on POST and PATCH: replays, refusals, expiry and races."""

import json
import queue
import threading
from datetime import UTC, datetime, timedelta
from unittest import mock

import pytest
import time_machine
from django.db import connection
from django.test import Client

from bowtie.api.idempotency import hash_body
from bowtie.models import Deal, IdempotencyKey
from bowtie.tasks import delete_expired_idempotency_keys
from handoffs import services
from handoffs.api import views
from handoffs.models import Lead, Touch
from tests.deal_fixtures import build_open_deal
from tests.factories import ApiTokenFactory

NOW = datetime(2025, 3, 4, 9, 0, tzinfo=UTC)
WRITER_KEY = "bt_idem_writer_0001"
OTHER_KEY = "bt_idem_other_00001"
LEAD = {"email": "zoe@globex.com", "form_type": "demo_request", "country": "DE"}


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def writer(db):
    return ApiTokenFactory(
        name="CRM sync", key=WRITER_KEY, scopes=["leads:write", "deals:write"]
    )


def post(client, path, body, key, token=WRITER_KEY):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    if key is not None:
        headers["HTTP_IDEMPOTENCY_KEY"] = key
    return client.post(path, body, content_type="application/json", **headers)


def test_same_key_and_body_replays_the_first_answer_and_stores_one_lead(
    client, sales_team, writer, frozen
):
    first = post(client, "/api/leads", LEAD, "lead-1")
    frozen.shift(timedelta(minutes=5))

    again = post(client, "/api/leads", LEAD, "lead-1")

    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert Lead.objects.count() == 1
    assert Touch.objects.count() == 1


def test_same_body_with_keys_in_another_order_is_the_same_request(
    client, sales_team, writer, frozen
):
    post(client, "/api/leads", LEAD, "lead-1")
    reordered = json.dumps(dict(reversed(list(LEAD.items()))), indent=2)

    again = post(client, "/api/leads", reordered, "lead-1")

    assert again["Idempotent-Replayed"] == "true"
    assert Lead.objects.count() == 1


def test_same_key_with_another_body_answers_422_naming_the_header(
    client, sales_team, writer, frozen
):
    post(client, "/api/leads", LEAD, "lead-1")

    other = post(client, "/api/leads", LEAD | {"email": "yan@globex.com"}, "lead-1")

    assert other.status_code == 422
    assert other.json() == {
        "Idempotency-Key": [
            "This key was first sent with another body. "
            "Send a new key with a new request."
        ]
    }
    assert list(Lead.objects.values_list("email", flat=True)) == ["zoe@globex.com"]


def test_same_key_on_another_endpoint_answers_422_naming_the_first(
    client, sales_team, writer, frozen
):
    post(client, "/api/leads", LEAD, "shared")

    other = post(client, "/api/deals", {"name": "Globex"}, "shared")

    assert other.status_code == 422
    assert other.json() == {
        "Idempotency-Key": [
            "This key was first sent with POST /api/leads. "
            "Send a new key with a new request."
        ]
    }
    assert Deal.objects.count() == 0


def test_keys_belong_to_their_caller(client, sales_team, writer, frozen):
    ApiTokenFactory(key=OTHER_KEY, scopes=["leads:write"])
    post(client, "/api/leads", LEAD, "lead-1")

    other = post(
        client, "/api/leads", {"email": "yan@globex.com"}, "lead-1", token=OTHER_KEY
    )

    assert other.status_code == 201
    assert "Idempotent-Replayed" not in other
    assert IdempotencyKey.objects.count() == 2


def test_a_signed_in_user_replays_by_their_own_key(client, sales_team, frozen):
    client.force_login(sales_team["manager"].user)
    headers = {"HTTP_IDEMPOTENCY_KEY": "from-the-browser"}

    first = client.post("/api/leads", LEAD, content_type="application/json", **headers)
    again = client.post("/api/leads", LEAD, content_type="application/json", **headers)

    assert (first.status_code, again["Idempotent-Replayed"]) == (201, "true")
    assert IdempotencyKey.objects.get().user == sales_team["manager"].user
    assert Lead.objects.count() == 1


def test_a_refusal_is_kept_and_replayed(client, sales_team, writer, frozen):
    bad = LEAD | {"email": "zoe@"}
    first = post(client, "/api/leads", bad, "bad-1")

    again = post(client, "/api/leads", bad, "bad-1")

    assert (first.status_code, again.status_code) == (400, 400)
    assert (
        again.json()
        == first.json()
        == {
            "email": [
                "Not a valid e-mail address: There must be something after the @-sign."
            ]
        }
    )
    assert again["Idempotent-Replayed"] == "true"


def test_a_refusal_quoting_a_nul_is_kept_with_the_replacement_character(
    client, writer, frozen
):
    body = {"name": "Globex rollout", "note\x00s": "from the CRM"}

    first = post(client, "/api/deals", body, "nul-1")
    again = post(client, "/api/deals", body, "nul-1")

    assert (first.status_code, again.status_code) == (400, 400)
    assert first.json() == {"note\x00s": ["Unknown field."]}
    # PostgreSQL's JSON keeps no NUL: the kept answer has U+FFFD in its place.
    assert again.json() == {"note\ufffds": ["Unknown field."]}
    assert again["Idempotent-Replayed"] == "true"


def test_a_server_error_gives_the_key_up_so_a_retry_runs(sales_team, writer, frozen):
    client = Client(raise_request_exception=False)
    real_intake = services.intake_lead
    with mock.patch.object(views, "intake_lead", side_effect=RuntimeError("db away")):
        failed = post(client, "/api/leads", LEAD, "lead-1")
    kept_after_failure = IdempotencyKey.objects.count()

    with mock.patch.object(views, "intake_lead", real_intake):
        retried = post(client, "/api/leads", LEAD, "lead-1")

    assert (failed.status_code, kept_after_failure) == (500, 0)
    assert retried.status_code == 201
    assert "Idempotent-Replayed" not in retried
    assert Lead.objects.count() == 1


def test_a_key_is_free_again_after_24_hours(client, sales_team, writer, frozen):
    post(client, "/api/leads", LEAD, "lead-1")
    frozen.shift(timedelta(hours=24))

    other = post(client, "/api/leads", {"email": "yan@globex.com"}, "lead-1")

    assert other.status_code == 201
    assert "Idempotent-Replayed" not in other
    assert IdempotencyKey.objects.get().body_hash == hash_body(
        {"email": "yan@globex.com"}
    )


def test_beat_task_deletes_only_keys_older_than_24_hours(
    client, sales_team, writer, frozen
):
    post(client, "/api/leads", LEAD, "old")
    frozen.shift(timedelta(hours=23))
    post(client, "/api/leads", {"email": "yan@globex.com"}, "young")
    frozen.shift(timedelta(hours=1))

    deleted = delete_expired_idempotency_keys()

    assert deleted == 1
    assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["young"]


@pytest.mark.parametrize(
    ("key", "problem"),
    [
        ("", "Must not be empty."),
        ("k" * 256, "Must be at most 255 characters; this has 256."),
        ("two words", "Use printable ASCII characters only, without spaces."),
    ],
)
def test_a_bad_key_is_refused_400_by_name(
    client, sales_team, writer, frozen, key, problem
):
    response = post(client, "/api/leads", LEAD, key)

    assert response.status_code == 400
    assert response.json() == {"Idempotency-Key": [problem]}
    assert Lead.objects.count() == 0


def test_a_key_of_255_characters_is_taken(client, sales_team, writer, frozen):
    response = post(client, "/api/leads", LEAD, "k" * 255)

    assert response.status_code == 201
    assert IdempotencyKey.objects.get().response_status == 201


def test_a_key_still_running_answers_409(client, sales_team, writer, frozen):
    IdempotencyKey.objects.create(
        token=writer,
        key="lead-1",
        method="POST",
        path="/api/leads",
        body_hash=hash_body(LEAD),
        created_at=NOW - timedelta(seconds=30),
    )

    response = post(client, "/api/leads", LEAD, "lead-1")

    assert response.status_code == 409
    assert response["Retry-After"] == "1"
    assert response.json() == {
        "detail": "A request with this Idempotency-Key is still running; send it again."
    }
    assert Lead.objects.count() == 0


def test_a_key_left_by_a_lost_request_is_taken_over(client, sales_team, writer, frozen):
    IdempotencyKey.objects.create(
        token=writer,
        key="lead-1",
        method="POST",
        path="/api/leads",
        body_hash=hash_body(LEAD),
        created_at=NOW - timedelta(minutes=6),
    )

    response = post(client, "/api/leads", LEAD, "lead-1")

    row = IdempotencyKey.objects.get()
    assert response.status_code == 201
    assert (row.response_status, row.created_at, row.completed_at) == (201, NOW, NOW)
    assert Lead.objects.count() == 1


def test_patch_of_a_deal_replays_and_changes_it_once(client, writer, frozen):
    deal = build_open_deal().deal
    headers = {
        "HTTP_AUTHORIZATION": f"Bearer {WRITER_KEY}",
        "HTTP_IDEMPOTENCY_KEY": "rename-1",
    }
    path = f"/api/deals/{deal.pk}"
    first = client.patch(
        path, {"name": "Globex EU"}, content_type="application/json", **headers
    )
    client.patch(
        path,
        {"name": "Renamed"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {WRITER_KEY}",
    )

    again = client.patch(
        path, {"name": "Globex EU"}, content_type="application/json", **headers
    )

    assert (first.status_code, again.status_code) == (200, 200)
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert Deal.objects.get(pk=deal.pk).name == "Renamed"


def test_post_of_a_deal_replays_and_creates_one(client, writer, frozen):
    build_open_deal()
    body = {"name": "Initech rollout", "external_source": "crm", "external_id": "D-7"}

    first = post(client, "/api/deals", body, "deal-7")
    again = post(client, "/api/deals", body, "deal-7")

    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert Deal.objects.filter(external_id="D-7").count() == 1


def test_without_the_header_nothing_is_kept(client, sales_team, writer, frozen):
    post(client, "/api/leads", LEAD, None)

    again = post(client, "/api/leads", LEAD, None)

    assert again.status_code == 200
    assert again.json()["repeat"] is True
    assert IdempotencyKey.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_two_identical_requests_at_once_run_once_and_the_other_hears_409(
    sales_team, writer
):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: SQLite lets one writer in at a time")
    entered, release = threading.Event(), threading.Event()
    real_intake = services.intake_lead

    def slow_intake(*args, **kwargs):
        # Hold the first request inside intake until the second has answered.
        entered.set()
        release.wait(timeout=10)
        return real_intake(*args, **kwargs)

    answers = queue.Queue()
    start = threading.Barrier(2)

    def send():
        try:
            start.wait()
            answers.put(post(Client(), "/api/leads", LEAD, "lead-1"))
        finally:
            connection.close()

    with mock.patch.object(views, "intake_lead", slow_intake):
        threads = [threading.Thread(target=send) for _ in range(2)]
        for thread in threads:
            thread.start()
        first_answer = answers.get(timeout=10)
        release.set()
        second_answer = answers.get(timeout=10)
        for thread in threads:
            thread.join(timeout=10)

    assert entered.is_set()
    assert first_answer.status_code == 409
    assert second_answer.status_code == 201
    assert Lead.objects.count() == 1
    assert IdempotencyKey.objects.get().response_status == 201
