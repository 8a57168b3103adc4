"""HubSpot's webhooks: its v3 signature, and its events on Bowtie's services.

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

A company's or a contact's property change goes through the service the
API writes them with (`bowtie.services.save_account`, `save_contact`), so
the model's checks refuse a bad value by field as they do there. The
account or contact is the one whose `external_id` is HubSpot's object id;
an update never creates one. Each record takes HubSpot's changes in the
order they happened, property by property, as a deal does.

Everything an event changes is published inside
`bowtie.webhooks.changes_from(endpoint)`, so it is not sent back to HubSpot.
"""

import base64
import hashlib
import hmac
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import transaction
from django.utils import timezone

from bowtie import webhooks
from bowtie.countries import recognise_country
from bowtie.models import Account, Contact, InboundCrmDelivery, Stage
from bowtie.services import save_account, save_contact
from bowtie.signatures import TOLERANCE_SECONDS, SignatureRefused
from handoffs.crm_inbound import (
    InboundAnswer,
    drop_stale_fields,
    tell_owner_of_refused_close,
)
from handoffs.deal_changes import DealChangeRefused
from handoffs.deal_sync import change_synced_deal, find_synced_deal
from handoffs.deal_values import BadValue, parse_whole_number

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
# HubSpot's default properties of companies and contacts, by the field each
# sets. The rest (a company's domain and revenue, its owner) are kept in
# Bowtie's admin, as the API leaves them.
COMPANY_PROPERTIES = {
    "name": "name",
    "industry": "industry",
    "numberofemployees": "employee_count",
    "founded_year": "founded_year",
    "country": "country",
}
CONTACT_PROPERTIES = {
    "email": "email",
    "firstname": "first_name",
    "lastname": "last_name",
    "jobtitle": "job_title",
    "phone": "phone",
    "country": "country",
    "associatedcompanyid": "account",
}
# The lowest and highest value of each whole-number field, as the columns hold.
WHOLE_NUMBERS = {"employee_count": (0, 2_147_483_647), "founded_year": (1, 9999)}
Outcome = InboundCrmDelivery.Outcome
NOT_MAPPED = "not mapped"


@dataclass(frozen=True)
class CustomerRecord:
    """How HubSpot's events of one object type reach Bowtie's records."""

    model: type
    # HubSpot's name of the object, as the refusals say it.
    object_name: str
    properties: dict[str, str]
    save: Callable
    # The delivery's link to the record, for the order of later updates.
    link: str


CUSTOMER_RECORDS = {
    "company": CustomerRecord(
        Account, "company", COMPANY_PROPERTIES, save_account, "account"
    ),
    "contact": CustomerRecord(
        Contact, "contact", CONTACT_PROPERTIES, save_contact, "contact"
    ),
}


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

    object_type = delivery.event_type.partition(".")[0]
    if object_type in CUSTOMER_RECORDS:
        apply_customer_event(delivery, event, CUSTOMER_RECORDS[object_type])
    else:
        apply_deal_event(endpoint, delivery, event, now)
    delivery.save()
    return delivery.detail


def refuse_unmapped(delivery: InboundCrmDelivery) -> None:
    delivery.outcome = Outcome.INVALID
    delivery.detail = {"eventId": delivery.delivery_id, "outcome": NOT_MAPPED}


def apply_deal_event(endpoint, delivery: InboundCrmDelivery, event: dict, now):
    object_id = str(event.get("objectId", ""))
    deal = find_synced_deal(SOURCE, object_id)
    values = deal_values(event, deal)
    if not delivery.event_type.startswith("deal.") or not values:
        # Logged, not applied: a deal's creation (a deal arrives over the API,
        # with its owner and account), its deletion, and other properties.
        refuse_unmapped(delivery)
        return

    values, _ = drop_stale_fields(deal, delivery.occurred_at, values)
    if not values:
        delivery.deal = deal
        delivery.outcome = Outcome.STALE
        delivery.detail = {
            "eventId": delivery.delivery_id,
            "outcome": Outcome.STALE.value,
        }
        return

    try:
        with transaction.atomic():
            change = change_synced_deal(
                SOURCE, object_id, values, source=f"hubspot:{endpoint.slug}", now=now
            )
    except DealChangeRefused as refused:
        delivery.deal = deal
        delivery.outcome = Outcome.REFUSED if refused.is_conflict else Outcome.INVALID
        delivery.detail = {
            "eventId": delivery.delivery_id,
            "outcome": delivery.outcome,
            "errors": refused.errors,
            "missing": [item.key for item in refused.missing],
        }
        if refused.missing and deal is not None:
            tell_owner_of_refused_close(endpoint, delivery, refused, now)
        return

    delivery.deal = change.deal
    delivery.outcome = Outcome.APPLIED
    delivery.detail = {
        "eventId": delivery.delivery_id,
        "outcome": Outcome.APPLIED.value,
        "deal": change.deal.pk,
        # The fields this event set, for the order of later ones.
        "fields": sorted(values),
        "changed": change.changed_fields,
    }


def find_customer_record(kind: CustomerRecord, object_id: str, errors: dict):
    """The one account or contact HubSpot calls `object_id`; else a refusal."""
    rows = []
    if object_id:
        rows = list(kind.model.objects.filter(external_id=object_id)[:2])
    if len(rows) == 1:
        return rows[0]

    label = kind.model._meta.verbose_name
    if rows:
        errors["external_id"] = [
            f"Several {label}s have the HubSpot {kind.object_name} id "
            f"{object_id!r}; give each its own in Bowtie first."
        ]
    else:
        errors["external_id"] = [
            f"No {label} has the HubSpot {kind.object_name} id {object_id!r}; "
            f"updates do not create {label}s: send it over the API with this "
            "external_id first."
        ]
    return None


def parse_customer_value(name: str, raw) -> object:
    """The model value of one HubSpot property; `BadValue` says what to send.

    HubSpot sends every value as text, and an empty one for a cleared
    property.
    """
    if not isinstance(raw, str):
        raise BadValue("Give the value as text, as HubSpot sends it.")
    text = raw.strip()
    if name in WHOLE_NUMBERS:
        return None if not text else parse_whole_number(text, *WHOLE_NUMBERS[name])
    if name == "country" and text:
        code = recognise_country(text)
        if code is None:
            raise BadValue("Give a country by its name or its ISO 3166 code.")
        return code
    if name == "account":
        if not text:
            return None
        errors = {}
        account = find_customer_record(CUSTOMER_RECORDS["company"], text, errors)
        if account is None:
            raise BadValue(errors["external_id"][0])
        return account
    return text


def stored_customer_value(row, name: str):
    if name == "account":
        return row.account_id
    return getattr(row, name)


def errors_by_field(refused: ValidationError) -> dict[str, list[str]]:
    if not hasattr(refused, "error_dict"):
        return {"non_field_errors": refused.messages}
    errors = refused.message_dict
    if NON_FIELD_ERRORS in errors:
        errors["non_field_errors"] = errors.pop(NON_FIELD_ERRORS)
    return errors


def apply_customer_event(
    delivery: InboundCrmDelivery, event: dict, kind: CustomerRecord
) -> None:
    """A company's or a contact's property change, through its service."""
    prop = event.get("propertyName")
    name = kind.properties.get(prop)
    is_change = delivery.event_type.endswith(".propertyChange")
    if not is_change or name is None or "propertyValue" not in event:
        # Logged, not applied: a creation carries no values to create with
        # (the record arrives over the API), and other properties are kept
        # in Bowtie's admin.
        # TODO(crm-sync): a deletion or a merge in HubSpot leaves Bowtie's
        # record as it was, which keeps its history; follow them once a sync
        # must remove or merge records here too.
        refuse_unmapped(delivery)
        return

    body = {"eventId": delivery.delivery_id, "property": prop}
    errors = {}
    row = find_customer_record(kind, str(event.get("objectId", "")), errors)
    if row is None:
        delivery.outcome = Outcome.REFUSED
        delivery.detail = body | {"outcome": Outcome.REFUSED.value, "errors": errors}
        return
    setattr(delivery, kind.link, row)

    try:
        value = parse_customer_value(name, event["propertyValue"])
    except BadValue as bad:
        delivery.outcome = Outcome.INVALID
        delivery.detail = body | {
            "outcome": Outcome.INVALID.value,
            "errors": {name: [str(bad)]},
        }
        return

    values, _ = drop_stale_fields(row, delivery.occurred_at, {name: value})
    if not values:
        delivery.outcome = Outcome.STALE
        delivery.detail = body | {"outcome": Outcome.STALE.value}
        return

    # Read again under the lock just taken: a write since the first read
    # decides whether this value changes anything.
    row = kind.model.objects.get(pk=row.pk)
    new = value.pk if isinstance(value, Account) else value
    changed = {name: value} if stored_customer_value(row, name) != new else {}
    try:
        with transaction.atomic():
            # An integration's write, as the API's token makes it.
            if changed:
                kind.save(row, changed, actor=None)
    except ValidationError as refused:
        delivery.outcome = Outcome.INVALID
        delivery.detail = body | {
            "outcome": Outcome.INVALID.value,
            "errors": errors_by_field(refused),
        }
        return

    delivery.outcome = Outcome.APPLIED
    delivery.detail = body | {
        "outcome": Outcome.APPLIED.value,
        kind.link: row.pk,
        # The fields this event set, for the order of later ones.
        "fields": [name],
        "changed": sorted(changed),
    }


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
        with transaction.atomic(), webhooks.changes_from(endpoint):
            outcomes.append(apply_event(endpoint, event, now))
    logger.info("HubSpot request to endpoint %s: %s events", endpoint.pk, len(events))
    return InboundAnswer(200, {"events": outcomes})
