"""Outbound webhooks: signed bytes, sent again unchanged, until they arrive."""

import json
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from bowtie import webhooks
from bowtie.models import (
    InboundCrmEndpoint,
    Notification,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)
from bowtie.models.webhooks import validate_event_types
from bowtie.signatures import verify_signature
from bowtie.tasks import send_due_webhooks
from handoffs import clocks
from handoffs.closing import (
    accept_implementation_handoff,
    close_deal_won,
    reject_implementation_handoff,
    resubmit_implementation_handoff,
    save_deal_packet,
)
from handoffs.escalation import sweep
from handoffs.models import Milestone
from handoffs.services import intake_lead
from tests.deal_fixtures import COMPLETE_PACKET, build_open_deal
from tests.factories import PersonFactory

NOW = datetime(2027, 1, 31, 10, 0, tzinfo=UTC)
SECRET = "bowtie-test-secret"
URL = "https://crm.example/hooks/bowtie"
EVENT_ID = uuid.UUID("0f8b5a4e-2c1d-4e3f-9a6b-7c8d9e0f1a2b")
HAND_RAISER = {
    "email": "zoe@globex.com",
    "first_name": "Zoë",
    "last_name": "Doe",
    "company_name": "Globex",
    "form_type": "demo_request",
}


class Receiver:
    """A fake CRM: records each request and answers from a script, then 200."""

    def __init__(self):
        self.requests: list[httpx.Request] = []
        self.answers: list = []

    def answer(self, *answers) -> None:
        self.answers.extend(answers)

    def handle(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.requests.append(request)
        answer = self.answers.pop(0) if self.answers else 200
        if answer == "timeout":
            raise httpx.ReadTimeout("no answer in time", request=request)
        if isinstance(answer, httpx.Response):
            return answer
        return httpx.Response(answer)

    @property
    def event_ids(self) -> list[str]:
        return [request.headers["Bowtie-Event-Id"] for request in self.requests]

    @property
    def bodies(self) -> list[bytes]:
        return [request.content for request in self.requests]


@pytest.fixture
def receiver(monkeypatch):
    fake = Receiver()
    monkeypatch.setattr(
        webhooks,
        "http_client",
        lambda: httpx.Client(transport=httpx.MockTransport(fake.handle)),
    )
    return fake


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def endpoint_for(*event_types, name="CRM", **fields) -> WebhookEndpoint:
    return WebhookEndpoint.objects.create(
        name=name, url=URL, secret=SECRET, event_types=list(event_types), **fields
    )


@pytest.fixture
def endpoint(db):
    return endpoint_for("deal.closed_won", "renewal.created", "lead.assigned")


def publish_committed(capture, data=None) -> list[WebhookDelivery]:
    """Publish in a transaction and run what it leaves for after the commit."""
    with capture(execute=True):
        with transaction.atomic():
            deliveries = webhooks.publish(
                "deal.closed_won", data or {"deal": {"id": 7}}, NOW
            )
    for delivery in deliveries:
        delivery.refresh_from_db()
    return deliveries


def publish_one(capture, data=None) -> WebhookDelivery:
    (delivery,) = publish_committed(capture, data)
    return delivery


def try_again_when_due(frozen, delivery: WebhookDelivery) -> WebhookDelivery:
    """Travel to the next attempt and run the beat job, as the scheduler would."""
    frozen.move_to(delivery.next_attempt_at)
    send_due_webhooks()
    delivery.refresh_from_db()
    return delivery


def test_headers_are_exact_for_a_known_secret_and_a_frozen_clock(endpoint, receiver):
    data = {
        "deal": {
            "id": 42,
            "name": "Zoë platform",
            "amount": {"amount": "24000.00", "currency": "EUR"},
        }
    }
    event = WebhookEvent(id=EVENT_ID, type="deal.closed_won", occurred_at=NOW)
    event.body = webhooks.event_body(event, data)
    event.save()
    delivery = WebhookDelivery.objects.create(
        endpoint=endpoint, event=event, next_attempt_at=NOW, give_up_at=NOW
    )

    outcome = webhooks.deliver(delivery.pk, NOW + timedelta(seconds=30))

    assert outcome == "delivered"
    (request,) = receiver.requests
    assert request.content == (
        b'{"data":{"deal":{"amount":{"amount":"24000.00","currency":"EUR"},'
        b'"id":42,"name":"Zo\\u00eb platform"}},'
        b'"id":"0f8b5a4e-2c1d-4e3f-9a6b-7c8d9e0f1a2b",'
        b'"occurred_at":"2027-01-31T10:00:00Z","type":"deal.closed_won"}'
    )
    assert str(request.url) == URL
    assert {
        name: request.headers[name]
        for name in (
            "Content-Type",
            "User-Agent",
            "Bowtie-Event-Id",
            "Bowtie-Event-Type",
            "Bowtie-Signature",
        )
    } == {
        "Content-Type": "application/json",
        "User-Agent": "Bowtie-Webhooks/1",
        "Bowtie-Event-Id": "0f8b5a4e-2c1d-4e3f-9a6b-7c8d9e0f1a2b",
        "Bowtie-Event-Type": "deal.closed_won",
        "Bowtie-Signature": "t=1801389630,"
        "v1=b41dca3579edf7b6d87207bad371e40f70244dcdd4b038179551bb6c9a02275c",
    }
    assert (
        verify_signature(
            SECRET, request.content, request.headers["Bowtie-Signature"], NOW
        )
        == 1801389630
    )


def test_failing_four_times_then_succeeding_sends_the_same_bytes_five_times(
    endpoint, receiver, frozen, django_capture_on_commit_callbacks
):
    receiver.answer(503, 500, "timeout", 429)

    delivery = publish_one(django_capture_on_commit_callbacks)
    for _ in range(4):
        delivery = try_again_when_due(frozen, delivery)

    event = delivery.event
    assert (delivery.status, delivery.attempt_count) == ("delivered", 5)
    assert delivery.delivered_at == NOW + timedelta(minutes=15)
    assert receiver.event_ids == [str(event.pk)] * 5
    assert receiver.bodies == [event.body_bytes] * 5
    # Each attempt is signed at its own time, over the same bytes.
    signed_at = [
        verify_signature(
            SECRET,
            request.content,
            request.headers["Bowtie-Signature"],
            NOW + timedelta(minutes=minutes),
        )
        for request, minutes in zip(receiver.requests, [0, 1, 3, 7, 15], strict=True)
    ]
    assert signed_at == [
        int((NOW + timedelta(minutes=m)).timestamp()) for m in [0, 1, 3, 7, 15]
    ]
    endpoint.refresh_from_db()
    assert (endpoint.consecutive_failures, endpoint.failing_since) == (0, None)


def test_a_client_error_is_final_and_not_sent_again(
    endpoint, receiver, frozen, django_capture_on_commit_callbacks
):
    receiver.answer(400)

    delivery = publish_one(django_capture_on_commit_callbacks)
    frozen.move_to(NOW + timedelta(hours=1))
    send_due_webhooks()

    assert (delivery.status, delivery.next_attempt_at) == ("failed", None)
    assert (delivery.last_status_code, delivery.last_error) == (
        400,
        "HTTP 400 Bad Request",
    )
    assert len(receiver.requests) == 1


def test_429_and_503_are_retried_with_backoff_honouring_retry_after(
    endpoint, receiver, frozen, django_capture_on_commit_callbacks
):
    receiver.answer(httpx.Response(429, headers={"Retry-After": "300"}), 503, 408)

    delivery = publish_one(django_capture_on_commit_callbacks)
    after_429 = delivery.next_attempt_at
    delivery = try_again_when_due(frozen, delivery)
    after_503 = delivery.next_attempt_at
    delivery = try_again_when_due(frozen, delivery)

    # Asked for five minutes, more than the first minute of backoff.
    assert after_429 == NOW + timedelta(minutes=5)
    assert after_503 == NOW + timedelta(minutes=5 + 2)
    assert delivery.next_attempt_at == NOW + timedelta(minutes=5 + 2 + 4)
    assert (delivery.status, delivery.attempt_count) == ("pending", 3)
    assert (delivery.last_status_code, delivery.last_error) == (
        408,
        "HTTP 408 Request Timeout",
    )


def test_nothing_is_sent_before_its_time_even_by_a_task_left_over(
    endpoint, receiver, frozen, django_capture_on_commit_callbacks
):
    receiver.answer(503)
    delivery = publish_one(django_capture_on_commit_callbacks)

    early = webhooks.deliver(delivery.pk, NOW + timedelta(seconds=59))
    swept = webhooks.send_due(NOW + timedelta(seconds=59))
    # The broker hands the first attempt's task over again, once the retry is due.
    left_over = webhooks.deliver(delivery.pk, NOW + timedelta(minutes=2), due_at=NOW)

    assert (early, swept, left_over) == ("not claimed", 0, "not claimed")
    assert len(receiver.requests) == 1


def test_retries_stop_three_days_after_the_event(
    endpoint, receiver, frozen, django_capture_on_commit_callbacks
):
    receiver.answer(*[503] * 30)
    delivery = publish_one(django_capture_on_commit_callbacks)

    attempted_at = [NOW]
    while delivery.status == "pending":
        delivery = try_again_when_due(frozen, delivery)
        attempted_at.append(delivery.last_attempt_at)

    minutes = [int((moment - NOW).total_seconds() // 60) for moment in attempted_at]
    assert minutes == [
        *[0, 1, 3, 7, 15, 31, 63, 127, 255, 511],
        # Capped at six hours from here on; the last try on the deadline.
        *range(871, 4111 + 1, 360),
        3 * 24 * 60,
    ]
    assert (delivery.status, delivery.attempt_count) == ("gave_up", 21)
    assert delivery.next_attempt_at is None


def test_an_endpoint_failing_for_three_days_is_switched_off_with_a_notice(
    db, receiver, frozen, django_capture_on_commit_callbacks
):
    revops = PersonFactory(full_name="Rita RevOps", role="revops_admin")
    creator = PersonFactory(full_name="Carl Creator", role="marketing_ops")
    endpoint = endpoint_for("deal.closed_won", created_by=creator)
    receiver.answer(*[503] * 30)
    delivery = publish_one(django_capture_on_commit_callbacks)

    while delivery.status == "pending":
        delivery = try_again_when_due(frozen, delivery)
    later = publish_committed(django_capture_on_commit_callbacks)

    endpoint.refresh_from_db()
    assert endpoint.is_active is False
    assert endpoint.disabled_at == NOW + timedelta(days=3)
    assert endpoint.disabled_reason == (
        "Nothing was delivered for 3 days and at least 20 attempts in a row "
        "failed; the last: HTTP 503 Service Unavailable."
    )
    for person in (revops, creator):
        notice = Notification.objects.get(recipient=person)
        assert notice.subject == "Webhook endpoint CRM switched off"
        assert notice.url == reverse(
            "admin:bowtie_webhookendpoint_change", args=[endpoint.pk]
        )
    assert later == []


def test_a_burst_of_failures_in_a_short_outage_keeps_the_endpoint_on(
    endpoint, receiver, frozen, django_capture_on_commit_callbacks
):
    receiver.answer(*[503] * 25)

    for number in range(25):
        publish_one(django_capture_on_commit_callbacks, data={"deal": {"id": number}})
    endpoint.refresh_from_db()
    failing = (endpoint.is_active, endpoint.consecutive_failures)
    publish_one(django_capture_on_commit_callbacks)
    endpoint.refresh_from_db()

    assert failing == (True, 25)
    assert (endpoint.consecutive_failures, endpoint.failing_since) == (0, None)


def test_enabling_again_resumes_the_pending_deliveries(
    endpoint, receiver, frozen, django_capture_on_commit_callbacks
):
    receiver.answer(503)
    delivery = publish_one(django_capture_on_commit_callbacks)
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(is_active=False)
    frozen.move_to(NOW + timedelta(hours=1))
    paused = send_due_webhooks()

    webhooks.enable_endpoints([endpoint.pk])
    resumed = send_due_webhooks()

    delivery.refresh_from_db()
    assert (paused, resumed) == (0, 1)
    assert (delivery.status, delivery.attempt_count) == ("delivered", 2)


def test_replay_sends_the_same_event_id_and_bytes_again(
    endpoint, receiver, frozen, django_capture_on_commit_callbacks
):
    delivery = publish_one(django_capture_on_commit_callbacks)
    frozen.move_to(NOW + timedelta(days=10))

    with django_capture_on_commit_callbacks(execute=True):
        replayed = webhooks.replay([delivery.pk], NOW + timedelta(days=10))

    delivery.refresh_from_db()
    assert replayed == 1
    assert (delivery.status, delivery.attempt_count) == ("delivered", 2)
    assert delivery.delivered_at == NOW + timedelta(days=10)
    assert receiver.event_ids == [str(delivery.event_id)] * 2
    assert receiver.bodies[0] == receiver.bodies[1] == delivery.event.body_bytes


def test_the_delivery_log_replays_from_the_admin(
    frozen, admin_client, endpoint, receiver, django_capture_on_commit_callbacks
):
    # Frozen first: a session started at today's date expires by the frozen one.
    receiver.answer(400)
    delivery = publish_one(django_capture_on_commit_callbacks)
    log = admin_client.get(
        reverse("admin:bowtie_webhookdelivery_changelist")
        + f"?endpoint__id__exact={endpoint.pk}"
    )

    with django_capture_on_commit_callbacks(execute=True):
        answer = admin_client.post(
            reverse("admin:bowtie_webhookdelivery_changelist"),
            {"action": "replay_selected", "_selected_action": [delivery.pk]},
        )

    delivery.refresh_from_db()
    assert log.status_code == 200
    assert "HTTP 400 Bad Request" in log.content.decode()
    assert answer.status_code == 302
    assert (delivery.status, delivery.attempt_count) == ("delivered", 2)
    assert receiver.bodies[0] == receiver.bodies[1]


def test_the_admin_shows_a_new_endpoint_its_generated_secret(admin_client, db):
    answer = admin_client.post(
        reverse("admin:bowtie_webhookendpoint_add"),
        {
            "name": "HubSpot",
            "url": URL,
            "event_types": ["deal.closed_won", "milestone.breached"],
            "is_active": "on",
        },
    )

    endpoint = WebhookEndpoint.objects.get()
    page = admin_client.get(answer.url)
    listed = admin_client.get(reverse("admin:bowtie_webhookendpoint_changelist"))
    assert answer.url == reverse(
        "admin:bowtie_webhookendpoint_change", args=[endpoint.pk]
    )
    assert endpoint.event_types == ["deal.closed_won", "milestone.breached"]
    assert len(endpoint.secret) == 43
    assert endpoint.secret in page.content.decode()
    assert f"?endpoint__id__exact={endpoint.pk}" in listed.content.decode()


def test_a_broker_that_lost_the_task_is_made_up_for_by_the_sweep(
    endpoint, receiver, frozen, django_capture_on_commit_callbacks
):
    # Committed, but the task queued after the commit never arrives.
    with django_capture_on_commit_callbacks(execute=False):
        (delivery,) = webhooks.publish("deal.closed_won", {"deal": {"id": 7}}, NOW)

    frozen.move_to(NOW + timedelta(minutes=1))
    while_queued = send_due_webhooks()
    frozen.move_to(NOW + timedelta(minutes=2, seconds=1))
    after_the_lease = send_due_webhooks()

    delivery.refresh_from_db()
    assert (while_queued, after_the_lease) == (0, 1)
    assert (delivery.status, delivery.attempt_count) == ("delivered", 1)


def test_closing_a_deal_won_publishes_closed_won_and_renewal_once(
    endpoint, receiver, frozen, django_capture_on_commit_callbacks
):
    deal = build_open_deal().deal
    save_deal_packet(deal, COMPLETE_PACKET)

    with django_capture_on_commit_callbacks(execute=True):
        closed = close_deal_won(deal, now=NOW)
        close_deal_won(deal, now=NOW + timedelta(minutes=1))

    assert sorted(WebhookEvent.objects.values_list("type", flat=True)) == [
        "deal.closed_won",
        "renewal.created",
    ]
    won = WebhookEvent.objects.get(type="deal.closed_won")
    assert sorted(receiver.event_ids) == sorted(
        str(pk) for pk in WebhookEvent.objects.values_list("pk", flat=True)
    )
    assert f'"handoff_id":{closed.handoff.pk}'.encode() in won.body_bytes
    assert f'"renewal_id":{closed.renewal.pk}'.encode() in won.body_bytes


def test_the_handoff_is_told_as_it_is_sent_back_sent_again_and_accepted(
    receiver, frozen, django_capture_on_commit_callbacks, db
):
    endpoint_for(
        "handoff.opened",
        "handoff.rejected",
        "handoff.resubmitted",
        "handoff.accepted",
        "milestone.met",
    )
    won = build_open_deal()
    save_deal_packet(won.deal, COMPLETE_PACKET)
    later = NOW + timedelta(hours=2)

    with django_capture_on_commit_callbacks(execute=True):
        handoff = close_deal_won(won.deal, now=NOW).handoff
        reject_implementation_handoff(handoff, won.head, "Risks are thin.", now=NOW)
        resubmit_implementation_handoff(handoff, won.ae, now=later)
        accept_implementation_handoff(handoff, won.head, now=later)

    told = [json.loads(body) for body in receiver.bodies if b'"type":"handoff.' in body]
    assert [(event["type"], event["data"]["handoff"]["state"]) for event in told] == [
        ("handoff.opened", "open"),
        ("handoff.rejected", "rejected"),
        ("handoff.resubmitted", "open"),
        ("handoff.accepted", "accepted"),
    ]
    assert told[1]["data"]["reason"] == "Risks are thin."
    assert [event["data"]["actor"]["id"] for event in told[1:]] == [
        won.head.pk,
        won.ae.pk,
        won.head.pk,
    ]
    assert {event["data"]["handoff"]["id"] for event in told} == {handoff.pk}
    met = WebhookEvent.objects.filter(type="milestone.met").count()
    assert (
        met == Milestone.objects.filter(handoff=handoff, met_at__isnull=False).count()
    )


def test_nothing_is_published_when_the_transaction_rolls_back(
    endpoint, receiver, frozen, django_capture_on_commit_callbacks
):
    deal = build_open_deal().deal
    save_deal_packet(deal, COMPLETE_PACKET)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(RuntimeError), transaction.atomic():
            close_deal_won(deal, now=NOW)
            raise RuntimeError("the caller's next step failed")

    assert callbacks == []
    assert WebhookEvent.objects.count() == WebhookDelivery.objects.count() == 0
    assert receiver.requests == []


def test_a_keyed_event_has_a_stable_id_and_is_recorded_once(
    endpoint, receiver, frozen, django_capture_on_commit_callbacks
):
    data = {"renewal": {"id": 9}}
    endpoint.event_types = ["renewal.due"]
    endpoint.save()

    with django_capture_on_commit_callbacks(execute=True):
        first = webhooks.publish("renewal.due", data, NOW, key="renewal:9")
        again = webhooks.publish("renewal.due", data, NOW, key="renewal:9")
        other = webhooks.publish("renewal.due", data, NOW, key="renewal:10")

    (event_id,) = {delivery.event_id for delivery in first}
    assert event_id == uuid.UUID("824d3f9c-ab0a-5b64-ac2c-0cc51efaa30d")
    assert event_id == webhooks.event_id_for("renewal.due", "renewal:9")
    assert (len(first), again, len(other)) == (1, [], 1)
    assert WebhookEvent.objects.filter(type="renewal.due").count() == 2
    assert receiver.event_ids == [str(event_id), str(other[0].event_id)]


def test_changes_from_a_crm_skip_only_that_crms_endpoints(db, frozen):
    crm = InboundCrmEndpoint.objects.create(name="CRM", slug="crm")
    other_crm = InboundCrmEndpoint.objects.create(name="ERP", slug="erp")
    own = endpoint_for("deal.closed_won", name="CRM's own", crm_source=crm)
    erp = endpoint_for("deal.closed_won", name="ERP's", crm_source=other_crm)
    plain = endpoint_for("deal.closed_won", name="Warehouse")

    with webhooks.changes_from(crm):
        from_crm = webhooks.publish("deal.closed_won", {"deal": {"id": 7}}, NOW)
    from_bowtie = webhooks.publish("deal.closed_won", {"deal": {"id": 8}}, NOW)

    assert sorted(delivery.endpoint.name for delivery in from_crm) == [
        erp.name,
        plain.name,
    ]
    assert sorted(delivery.endpoint.name for delivery in from_bowtie) == [
        own.name,
        erp.name,
        plain.name,
    ]
    assert webhooks.applying_from.get() is None


def test_an_endpoint_that_does_not_want_an_event_gets_no_delivery(
    sales_team, receiver, frozen, django_capture_on_commit_callbacks
):
    wanting = endpoint_for("lead.assigned", name="Routing sync")
    endpoint_for("deal.closed_won", name="Finance")

    with django_capture_on_commit_callbacks(execute=True):
        lead = intake_lead(HAND_RAISER, channel="form", now=NOW).lead

    (delivery,) = WebhookDelivery.objects.select_related("event")
    assert delivery.endpoint == wanting
    assert delivery.event.type == "lead.assigned"
    assert (
        f'"owner":{{"email":"{lead.owner.email}","id":{lead.owner.pk},'
        f'"name":"{lead.owner.full_name}"}}'
    ).encode() in delivery.event.body_bytes
    assert len(receiver.requests) == 1


def test_a_lead_is_told_routed_then_reassigned_with_its_former_owner(
    sales_team, receiver, django_capture_on_commit_callbacks
):
    endpoint_for("lead.assigned")
    rep_a, rep_b, _ = sales_team["reps"]

    with django_capture_on_commit_callbacks(execute=True):
        intake_lead(HAND_RAISER, channel="form", now=NOW)
        due = Milestone.objects.get(key="first_response").due_at
        sweep(due)
        sweep(due + timedelta(hours=24))

    told = [json.loads(body)["data"] for body in receiver.bodies]
    assert [
        (data["how"], data["owner"]["id"], (data["previous_owner"] or {}).get("id"))
        for data in told
    ] == [("routed", rep_a.pk, None), ("reassigned", rep_b.pk, rep_a.pk)]


def test_breaches_cost_the_same_queries_for_one_milestone_as_for_three(
    sales_team, receiver, frozen
):
    endpoint_for("milestone.breached")
    emails = ["a@globex.com", "b@globex.com", "c@globex.com", "d@globex.com"]
    for email in emails:
        intake_lead({**HAND_RAISER, "email": email}, channel="form", now=NOW)
    first_response = list(Milestone.objects.filter(key="first_response").order_by("pk"))
    later = NOW + timedelta(hours=1)

    with CaptureQueriesContext(connection) as one:
        clocks.record_breaches([first_response[0].pk], later)
    with CaptureQueriesContext(connection) as three:
        clocks.record_breaches([m.pk for m in first_response[1:]], later)

    assert len(one) == len(three)
    assert WebhookEvent.objects.filter(type="milestone.breached").count() == 4


@pytest.mark.parametrize(
    ("status_code", "verdict"),
    [
        (200, "delivered"),
        (204, "delivered"),
        (301, "failed"),
        (400, "failed"),
        (401, "failed"),
        (410, "failed"),
        (408, "pending"),
        (429, "pending"),
        (500, "pending"),
        (503, "pending"),
        (None, "pending"),
    ],
)
def test_which_answers_are_retried(status_code, verdict):
    assert webhooks.verdict(status_code) == verdict


def test_retry_after_is_read_as_seconds_or_as_an_http_date():
    def asked(value, status_code=429):
        attempt = webhooks.Attempt(status_code=status_code, retry_after=value)
        return webhooks.retry_after(attempt, NOW)

    assert asked("120") == timedelta(minutes=2)
    assert asked("Sun, 31 Jan 2027 10:30:00 GMT", 503) == timedelta(minutes=30)
    assert asked("soon") is None
    assert asked("120", status_code=500) is None


def test_an_endpoint_names_only_registered_event_types():
    with pytest.raises(ValidationError, match="deal.lost"):
        validate_event_types(["deal.closed_won", "deal.lost"])
    with pytest.raises(ValidationError, match="at least one"):
        validate_event_types([])
    with pytest.raises(ValueError, match="Unregistered"):
        webhooks.publish("deal.lost", {}, NOW)


def test_an_attempt_that_outlived_its_lease_does_not_overwrite_the_next(
    receiver, frozen, endpoint, django_capture_on_commit_callbacks
):
    receiver.answer(503)
    delivery = publish_one(django_capture_on_commit_callbacks)
    lease_ends = NOW + webhooks.SEND_LEASE
    later = lease_ends + timedelta(seconds=1)
    outcomes = []

    # The first post hangs past its lease; meanwhile the sweep hands the
    # delivery to another worker, whose post is answered 200.
    posts = []

    def slow_then_newer(request):
        request.read()
        posts.append(request)
        if len(posts) == 1:
            outcomes.append(webhooks.deliver(delivery.pk, later))
            return httpx.Response(500)
        return httpx.Response(200)

    receiver.handle = slow_then_newer
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        status="pending", next_attempt_at=NOW, attempt_count=0
    )
    first = webhooks.deliver(delivery.pk, NOW)

    delivery.refresh_from_db()
    assert (outcomes, first) == (["delivered"], "superseded")
    assert (delivery.status, delivery.attempt_count) == ("delivered", 2)
    assert delivery.delivered_at == later


def test_a_retry_after_of_thousands_of_digits_waits_the_window():
    attempt = webhooks.Attempt(status_code=429, retry_after="9" * 5000)

    assert webhooks.retry_after(attempt, NOW) == webhooks.RETRY_WINDOW


def test_a_delivery_past_its_window_whose_worker_died_gives_up(
    receiver, frozen, endpoint, django_capture_on_commit_callbacks
):
    delivery = publish_one(django_capture_on_commit_callbacks)
    # Claimed at its last chance by a worker that never came back: its lease
    # ends past the deadline.
    lease_ends = delivery.give_up_at + webhooks.SEND_LEASE
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        status="pending", next_attempt_at=lease_ends
    )
    frozen.move_to(lease_ends + timedelta(seconds=1))

    send_due_webhooks()

    delivery.refresh_from_db()
    assert (delivery.status, delivery.next_attempt_at) == ("gave_up", None)


@pytest.mark.parametrize(
    "address", ["127.0.0.1", "10.1.2.3", "169.254.169.254", "::1", "192.168.0.9"]
)
def test_a_receiver_on_this_network_is_refused(address):
    with pytest.raises(httpx.ConnectError, match="private network"):
        webhooks.refuse_private_host(address, 443)


def test_a_public_receiver_is_let_through():
    webhooks.refuse_private_host("93.184.215.14", 443)


def test_a_switched_off_endpoints_deliveries_wait_past_their_window(
    receiver, frozen, endpoint, django_capture_on_commit_callbacks
):
    delivery = publish_one(django_capture_on_commit_callbacks)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        status="pending", next_attempt_at=delivery.give_up_at
    )
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(is_active=False)
    frozen.move_to(delivery.give_up_at + timedelta(hours=1))

    send_due_webhooks()

    delivery.refresh_from_db()
    assert delivery.status == "pending"
