"""HubSpot's webhooks: its v3 signature, and its deal events on the deal service.

HubSpot posts a JSON list of events to the address of an *Inbound CRM
endpoint* whose secret is the HubSpot app's client secret, at
`/api/crm/hubspot/<slug>`. The request is genuine when the base64 HMAC-SHA256,
keyed with that secret, of the method, the URI, the raw body and the
millisecond timestamp equals `X-HubSpot-Signature-v3`, and the timestamp is
within five minutes of now (HubSpot's request-validation guide).

Each event is a delivery of its own, kept by HubSpot's `eventId`, so a
redelivery changes nothing. A deal's property change goes through the deal
service like every other door: `dealstage` closedwon meets the packet gate.
A HubSpot deal is found by its object id as external id, source `hubspot`.
"""

import base64
import hashlib
import hmac
import json
import logging
from datetime import UTC, datetime

from django.db import transaction
from django.utils import timezone

from bowtie.models import InboundCrmDelivery, Stage
from bowtie.signatures import TOLERANCE_SECONDS, SignatureRefused
from handoffs.crm_inbound import (
    InboundAnswer,
    drop_stale_fields,
    tell_owner_of_refused_close,
)
from handoffs.deal_changes import DealChangeRefused
from handoffs.deal_sync import change_synced_deal, find_synced_deal

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-HubSpot-Signature-v3"
TIMESTAMP_HEADER = "X-HubSpot-Request-Timestamp"
SOURCE = "hubspot"
# HubSpot signs the URI with these escapes decoded and every other one kept.
DECODED_ESCAPES = {
    "%3A": ":",
    "%2F": "/",
    "%3F": "?",
    "%40": "@",
    "%21": "!",
    "%24": "$",
    "%27": "'",
    "%28": "(",
    "%29": ")",
    "%2A": "*",
    "%2C": ",",
    "%3B": ";",
}
DEAL_PROPERTIES = {
    "dealname": "name",
    "amount": "amount",
    "closedate": "expected_close_on",
    "dealstage": "stage",
}
# HubSpot's own ids of the closed stages; other stages match by name.
CLOSED_STAGES = {"closedwon": Stage.Outcome.WON, "closedlost": Stage.Outcome.LOST}
Outcome = InboundCrmDelivery.Outcome


def decode_uri(uri: str) -> str:
    for escape, character in DECODED_ESCAPES.items():
        uri = uri.replace(escape, character).replace(escape.lower(), character)
    return uri


def hubspot_signature(secret: str, method: str, uri: str, body: bytes, timestamp):
    """The base64 HMAC-SHA256 HubSpot sends for this request."""
    message = method.upper().encode() + decode_uri(uri).encode() + body
    message += str(timestamp).encode()
    digest = hmac.new(secret.encode(), message, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def verify_hubspot_signature(
    secret: str, method: str, uri: str, body: bytes, headers, now
) -> None:
    """Refuse a request HubSpot did not sign, or signed too long ago."""
    signature = headers.get(SIGNATURE_HEADER)
    timestamp = headers.get(TIMESTAMP_HEADER)
    if not signature or not timestamp:
        raise SignatureRefused(f"Send {SIGNATURE_HEADER} and {TIMESTAMP_HEADER}.")
    if not timestamp.isascii() or not timestamp.isdigit():
        raise SignatureRefused(f"{TIMESTAMP_HEADER} is not a time in milliseconds.")

    age = abs(now.timestamp() * 1000 - int(timestamp)) / 1000
    if age > TOLERANCE_SECONDS:
        raise SignatureRefused("The request is more than five minutes old or ahead.")
    expected = hubspot_signature(secret, method, uri, body, timestamp)
    if not hmac.compare_digest(expected.encode(), signature.encode()):
        raise SignatureRefused("The signature does not match this request.")


def deal_values(event: dict, deal) -> dict:
    """The deal service's fields for one property change; empty when unmapped."""
    name = DEAL_PROPERTIES.get(event.get("propertyName"))
    value = event.get("propertyValue")
    if name is None or value is None:
        return {}
    if name == "expected_close_on":
        try:
            moment = datetime.fromtimestamp(int(value) / 1000, tz=UTC)
        except (TypeError, ValueError):
            return {name: str(value)}
        return {name: moment.date().isoformat()}
    if name == "stage" and deal is not None and value in CLOSED_STAGES:
        stage = deal.pipeline.stages.filter(outcome=CLOSED_STAGES[value]).first()
        return {name: stage.name if stage else value}
    return {name: str(value)}


def apply_event(endpoint, event: dict, now) -> dict:
    """Record one event as a delivery and apply it, once."""
    delivery_id = f"{event.get('eventId')}"
    delivery, is_new = InboundCrmDelivery.objects.select_for_update().get_or_create(
        endpoint=endpoint,
        delivery_id=delivery_id,
        defaults={"received_at": now, "outcome": Outcome.INVALID},
    )
    if not is_new:
        delivery.attempt_count += 1
        if delivery.outcome == Outcome.APPLIED:
            delivery.save(update_fields=["attempt_count"])
            return {"eventId": delivery_id, "outcome": "duplicate"}
    delivery.event_type = str(event.get("subscriptionType", ""))[:60]
    occurred = event.get("occurredAt")
    if isinstance(occurred, int):
        delivery.occurred_at = datetime.fromtimestamp(occurred / 1000, tz=UTC)

    object_id = str(event.get("objectId", ""))
    deal = find_synced_deal(SOURCE, object_id)
    values = deal_values(event, deal)
    if not delivery.event_type.startswith("deal.") or not values:
        # TODO(crm-sync): company and contact events, and deal properties not
        # mapped above, are logged and not applied; map them once accounts and
        # contacts have a service that an inbound update can go through.
        delivery.outcome = Outcome.INVALID
        delivery.detail = {"eventId": delivery_id, "outcome": "not mapped"}
        delivery.save()
        return delivery.detail

    values, _ = drop_stale_fields(deal, delivery.occurred_at, values)
    if not values:
        delivery.deal = deal
        delivery.outcome = Outcome.STALE
        delivery.detail = {"eventId": delivery_id, "outcome": Outcome.STALE.value}
        delivery.save()
        return delivery.detail

    try:
        with transaction.atomic():
            change = change_synced_deal(
                SOURCE, object_id, values, source=f"hubspot:{endpoint.slug}", now=now
            )
    except DealChangeRefused as refused:
        delivery.deal = deal
        delivery.outcome = Outcome.REFUSED if refused.is_conflict else Outcome.INVALID
        delivery.detail = {
            "eventId": delivery_id,
            "outcome": delivery.outcome,
            "errors": refused.errors,
            "missing": [item.key for item in refused.missing],
        }
        if refused.missing and deal is not None:
            tell_owner_of_refused_close(endpoint, delivery, refused, now)
    else:
        delivery.deal = change.deal
        delivery.outcome = Outcome.APPLIED
        delivery.detail = {
            "eventId": delivery_id,
            "outcome": Outcome.APPLIED.value,
            "deal": change.deal.pk,
            # The fields this event set, for the order of later ones.
            "fields": sorted(values),
            "changed": change.changed_fields,
        }
    delivery.save()
    return delivery.detail


def receive_hubspot_events(
    endpoint, method: str, uri: str, body: bytes, headers, now=None
) -> InboundAnswer:
    """Verify a HubSpot request and apply each of its events on its own.

    Once the signature holds the answer is 200, with each event's outcome:
    HubSpot retries a whole request on any other status, and a refused event
    would stop the good ones beside it from ever being taken.
    """
    now = now or timezone.now()
    try:
        verify_hubspot_signature(endpoint.secret, method, uri, body, headers, now)
    except SignatureRefused as refused:
        logger.warning(
            "HubSpot request to endpoint %s refused: %s", endpoint.pk, refused
        )
        return InboundAnswer(401, {"detail": str(refused)})

    try:
        events = json.loads(body)
    except ValueError:
        events = None
    if not isinstance(events, list) or not all(isinstance(e, dict) for e in events):
        return InboundAnswer(400, {"detail": "Send HubSpot's list of events."})

    outcomes = []
    for event in events:
        with transaction.atomic():
            outcomes.append(apply_event(endpoint, event, now))
    logger.info("HubSpot request to endpoint %s: %s events", endpoint.pk, len(events))
    return InboundAnswer(200, {"events": outcomes})
