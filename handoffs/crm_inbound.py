"""Take deal updates from a CRM's signed webhook, each delivery applied once.

A delivery is verified against its endpoint's secret (`bowtie.signatures`),
then recorded under its id and applied through `change_synced_deal`, so a
CRM's Won meets the same packet gate as every other door.

Senders retry until they are answered 2xx, so a delivery id is claimed under
a row lock: one that was applied answers 200 again and changes nothing, even
when the retry arrives while the first attempt is still running. One that was
refused or invalid changed nothing, so its retry is tried afresh; a close
refused for an incomplete packet then goes through on the CRM's next retry
once the AE has completed the packet.

Answers: 200 applied (or a duplicate), 400 a malformed delivery or a bad
value, 401 a bad signature, 422 a deal that cannot take the update as it
stands (the packet gate's missing items listed), each but 401 recorded.

A delivery is applied inside `bowtie.webhooks.changes_from(endpoint)`: the
events its change raises (a close's `deal.closed_won`) go to every webhook
endpoint but the CRM's own, which named this endpoint as its `crm_source`.
"""

import json
import logging
from dataclasses import dataclass

from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from bowtie import webhooks
from bowtie.models import (
    Account,
    Contact,
    Deal,
    InboundCrmDelivery,
    InboundCrmEndpoint,
    Topic,
)
from bowtie.notifications import notify
from bowtie.signatures import SignatureRefused, verify_signature
from handoffs.deal_changes import DealChange, DealChangeRefused
from handoffs.deal_sync import UnknownDeal, change_synced_deal, find_synced_deal

logger = logging.getLogger(__name__)

EVENT_TYPES = ("deal.updated",)
IDENTITY_KEYS = ("external_source", "external_id")
Outcome = InboundCrmDelivery.Outcome
# The delivery's link to each kind of record an update may change.
DELIVERY_LINKS = {Deal: "deal", Account: "account", Contact: "contact"}


@dataclass(frozen=True)
class InboundAnswer:
    status: int
    body: dict


def read_envelope(body: bytes) -> tuple[dict, dict[str, list[str]]]:
    """The delivery's JSON object, and what is wrong with its envelope."""
    try:
        payload = json.loads(body)
    except ValueError:
        payload = None
    if not isinstance(payload, dict):
        return {}, {"non_field_errors": ["Send one JSON object."]}

    errors = {}
    delivery_id = payload.get("id")
    limit = InboundCrmDelivery._meta.get_field("delivery_id").max_length
    if not isinstance(delivery_id, str) or not 0 < len(delivery_id) <= limit:
        errors["id"] = [f"Give the delivery's id as text of 1 to {limit} characters."]
    if payload.get("type") not in EVENT_TYPES:
        errors["type"] = [
            f"Unknown event type {payload.get('type')!r}; this endpoint takes "
            f"{', '.join(EVENT_TYPES)}."
        ]
    occurred_at = payload.get("occurred_at")
    try:
        moment = parse_datetime(occurred_at) if isinstance(occurred_at, str) else None
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        errors["occurred_at"] = [
            "Give the time as ISO 8601 with its offset, e.g. 2027-01-31T10:00:00Z."
        ]
    payload["occurred_at"] = moment if moment and moment.tzinfo else None
    if not isinstance(payload.get("data"), dict):
        errors["data"] = ["Send the deal's fields as an object."]
    return payload, errors


def claim_delivery(endpoint, payload: dict, now) -> tuple[InboundCrmDelivery, bool]:
    """The delivery's row, locked; a sender's concurrent retry waits for it."""
    delivery, is_new = InboundCrmDelivery.objects.select_for_update().get_or_create(
        endpoint=endpoint,
        delivery_id=payload["id"],
        # Overwritten with the real outcome before the transaction commits.
        defaults={"received_at": now, "outcome": Outcome.INVALID},
    )
    if not is_new:
        delivery.attempt_count += 1
    delivery.event_type = str(payload.get("type") or "")[:60]
    delivery.occurred_at = payload["occurred_at"]
    return delivery, is_new


def drop_stale_fields(record, occurred_at, values: dict) -> tuple[dict, list[str]]:
    """Split off the fields a later update already set; return the rest.

    DESIGN §8: an update older than what is stored never overwrites it.
    `record` is the deal, account or contact the update changes; its row is
    locked first, so two deliveries for one record take turns and the later
    of them always sees the other's record.
    """
    if record is None or occurred_at is None:
        return values, []
    model = type(record)
    model.objects.select_for_update().filter(pk=record.pk).first()
    newer = InboundCrmDelivery.objects.filter(
        **{DELIVERY_LINKS[model]: record},
        outcome=Outcome.APPLIED,
        occurred_at__gt=occurred_at,
    ).values_list("detail", flat=True)
    taken = {name for detail in newer for name in detail.get("fields", [])}
    fresh = {name: value for name, value in values.items() if name not in taken}
    return fresh, sorted(set(values) - set(fresh))


def stale_body(delivery_id: str, deal, ignored: list[str]) -> dict:
    return {
        "id": delivery_id,
        "outcome": Outcome.STALE.value,
        "deal": deal.pk,
        "ignored": ignored,
    }


def applied_body(delivery_id: str, change: DealChange, fields, ignored=()) -> dict:
    closed = change.closed
    return {
        "id": delivery_id,
        "outcome": Outcome.APPLIED.value,
        "deal": change.deal.pk,
        "stage": change.deal.stage.name,
        # The fields this update set, for the order of later ones.
        "fields": sorted(fields),
        "ignored": list(ignored),
        "changed": change.changed_fields,
        "handoff": closed.handoff.pk if closed else None,
        "renewal": closed.renewal.pk if closed else None,
    }


def refused_body(delivery_id: str, outcome: str, refused: DealChangeRefused) -> dict:
    return {
        "id": delivery_id,
        "outcome": outcome,
        "errors": refused.errors,
        "missing": [{"key": item.key, "text": item.text} for item in refused.missing],
    }


def tell_owner_of_refused_close(endpoint, delivery, refused, now) -> None:
    """The CRM says won and Bowtie refused: the AE must finish the packet,
    as the CRM may never send the update again."""
    deal = delivery.deal
    if deal.owner is None:
        return
    notify(
        deal.owner,
        event_key=f"crm-delivery:{endpoint.pk}:{delivery.delivery_id}:refused",
        topic=Topic.REASSIGNMENT,
        subject=f"{endpoint.name} closed {deal.name} won; the packet is incomplete",
        body="Bowtie keeps it open until the packet is complete. Missing: "
        + " ".join(item.text for item in refused.missing),
        url=reverse("deal-detail", args=[deal.pk]),
        now=now,
    )


def apply_delivery(
    endpoint, delivery: InboundCrmDelivery, payload: dict, errors: dict, now
) -> InboundAnswer:
    if errors:
        delivery.outcome = Outcome.INVALID
        delivery.detail = {"id": delivery.delivery_id, "errors": errors}
        return InboundAnswer(400, delivery.detail)

    data = payload["data"]
    values = {key: value for key, value in data.items() if key not in IDENTITY_KEYS}
    deal = find_synced_deal(
        str(data.get("external_source") or "").strip(),
        str(data.get("external_id") or "").strip(),
    )
    values, ignored = drop_stale_fields(deal, delivery.occurred_at, values)
    if ignored and not values:
        delivery.deal = deal
        delivery.outcome = Outcome.STALE
        delivery.detail = stale_body(delivery.delivery_id, deal, ignored)
        return InboundAnswer(200, delivery.detail)

    try:
        change = change_synced_deal(
            data.get("external_source"),
            data.get("external_id"),
            values,
            source=f"crm:{endpoint.slug}",
            now=now,
        )
    except DealChangeRefused as refused:
        if not isinstance(refused, UnknownDeal):
            delivery.deal = find_synced_deal(
                str(data.get("external_source") or ""),
                str(data.get("external_id") or ""),
            )
        delivery.outcome = Outcome.REFUSED if refused.is_conflict else Outcome.INVALID
        delivery.detail = refused_body(delivery.delivery_id, delivery.outcome, refused)
        if refused.missing and delivery.deal is not None:
            tell_owner_of_refused_close(endpoint, delivery, refused, now)
        return InboundAnswer(422 if refused.is_conflict else 400, delivery.detail)

    delivery.deal = change.deal
    delivery.outcome = Outcome.APPLIED
    delivery.detail = applied_body(delivery.delivery_id, change, values, ignored)
    return InboundAnswer(200, delivery.detail)


def receive_crm_delivery(
    endpoint: InboundCrmEndpoint, body: bytes, signature: str | None, now=None
) -> InboundAnswer:
    """Verify, record and apply one delivery; answer what the sender is told."""
    now = now or timezone.now()
    try:
        verify_signature(endpoint.secret, body, signature, now)
    except SignatureRefused as refused:
        logger.warning("delivery to CRM endpoint %s refused: %s", endpoint.pk, refused)
        return InboundAnswer(401, {"detail": str(refused)})

    payload, errors = read_envelope(body)
    if "id" in errors or "non_field_errors" in errors:
        # Without an id there is nothing to record a retry against.
        return InboundAnswer(400, {"errors": errors})

    with transaction.atomic(), webhooks.changes_from(endpoint):
        delivery, is_new = claim_delivery(endpoint, payload, now)
        if not is_new and delivery.outcome == Outcome.APPLIED:
            delivery.save(update_fields=["attempt_count"])
            logger.info("CRM delivery %s repeated; ignored", delivery.pk)
            return InboundAnswer(
                200,
                {
                    "id": delivery.delivery_id,
                    "outcome": "duplicate",
                    "deal": delivery.deal_id,
                },
            )

        answer = apply_delivery(endpoint, delivery, payload, errors, now)
        delivery.save()
    logger.info("CRM delivery %s %s", delivery.pk, delivery.outcome)
    return answer
