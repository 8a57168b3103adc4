"""Idempotency-Key on the API's writes: a repeated request replays its answer.

An integration that sends a POST or PATCH with `Idempotency-Key: <a key of its
own>` and, not knowing whether it arrived, sends it again, gets the first answer
back, marked `Idempotent-Replayed: true`, instead of a second lead or a second
change. A key belongs to its caller (a token, or a session's user) and to its
first request: the same key with another method, path or body is refused 422.
It is kept for BOWTIE_IDEMPOTENCY_KEY_LIFETIME (24 h); a beat task deletes it
after that, and a lookup already treats it as gone.

Two identical requests at once: whichever inserts the key's row first runs, and
the other is answered 409 at once, to send again in a moment. Waiting instead
would hold one of the server's few web workers for as long as the first request
runs, and a client that sends idempotency keys is one that retries anyway.

Only answers that a retry could not change are kept: 2xx and 4xx. A 5xx, or an
error that escapes the view, gives the key up, so the retry runs afresh.

Bodies are compared as parsed data in a canonical form, so the same JSON with
its keys in another order, or other whitespace, is the same body.
"""

import functools
import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import DatabaseError, IntegrityError, transaction
from django.utils import timezone
from rest_framework import status
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from bowtie.models import ApiToken, IdempotencyKey

logger = logging.getLogger(__name__)

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
MAX_KEY_LENGTH = 255
# A first request unfinished after this long died with its worker (the web
# server killed it, the machine went down), and a retry may take its key over.
# Far beyond any request's run time, so a live request is never run twice.
ABANDONED_AFTER = timedelta(minutes=5)
CLEANUP_BATCH_SIZE = 1000


@dataclass
class Claim:
    """Either the row this request now holds, or the answer it gets instead."""

    row: IdempotencyKey | None = None
    answer: Response | None = None


def idempotent(action):
    """Make a viewset's write action honour the Idempotency-Key header.

    Without the header the action runs as it would undecorated.
    """

    @functools.wraps(action)
    def run(view, request, *args, **kwargs):
        key = request.headers.get(HEADER)
        if key is None:
            return action(view, request, *args, **kwargs)
        problem = key_problem(key)
        if problem:
            return Response({HEADER: [problem]}, status=status.HTTP_400_BAD_REQUEST)

        claim = claim_key(request, key, timezone.now())
        if claim.answer is not None:
            return claim.answer

        try:
            response = action(view, request, *args, **kwargs)
        except Exception as error:
            # Turned into the answer DRF would give outside, so that a refusal
            # (400, 404) is kept like a returned one. What DRF does not answer
            # goes on up as a server error.
            try:
                response = view.handle_exception(error)
            except Exception:
                give_up_key(claim.row)
                raise
        record_answer(claim.row, response, timezone.now())
        return response

    # Read by the schema (bowtie.api.schema), which documents the header on
    # exactly the operations that honour it.
    run.is_idempotent = True
    return run


def key_problem(key: str) -> str | None:
    if not key:
        return "Must not be empty."
    if len(key) > MAX_KEY_LENGTH:
        return f"Must be at most {MAX_KEY_LENGTH} characters; this has {len(key)}."
    if not all("!" <= character <= "~" for character in key):
        return "Use printable ASCII characters only, without spaces."
    return None


def claim_key(request, key: str, now: datetime) -> Claim:
    """Take the key for this request, or answer from the request that holds it."""
    caller = caller_of(request)
    fingerprint = {
        "method": request.method,
        "path": request.path,
        "body_hash": hash_body(request.data),
    }
    expired_before = now - settings.BOWTIE_IDEMPOTENCY_KEY_LIFETIME

    # Each round ends with a claim or an answer, unless the row found was
    # deleted or taken over between two statements; then the next round sees
    # what changed.
    for _ in range(3):
        row = insert_key(caller, key, fingerprint, now)
        if row is not None:
            return Claim(row=row)

        held = IdempotencyKey.objects.filter(**caller, key=key).first()
        if held is None:
            continue
        if held.created_at <= expired_before:
            # Past its lifetime but not yet swept: as free as a deleted one.
            same_claim(held).delete()
            continue
        if fingerprint_of(held) != fingerprint:
            return Claim(answer=refuse_other_request(held, fingerprint))
        if held.is_complete:
            logger.info("idempotency key %s replayed", held.pk)
            return Claim(answer=replay(held))
        if held.created_at > now - ABANDONED_AFTER:
            return Claim(answer=still_running())

        if same_claim(held).filter(response_status__isnull=True).update(created_at=now):
            logger.warning("idempotency key %s taken over from a lost request", held.pk)
            held.created_at = now
            return Claim(row=held)
    return Claim(answer=still_running())


def caller_of(request) -> dict:
    if isinstance(request.auth, ApiToken):
        return {"token": request.auth}
    return {"user": request.user}


def hash_body(data) -> str:
    if hasattr(data, "lists"):
        # A form-encoded body: every value of each field, in order.
        data = dict(data.lists())
    canonical = json.dumps(
        data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def insert_key(caller: dict, key: str, fingerprint: dict, now) -> IdempotencyKey | None:
    # Committed at once outside a transaction, so a concurrent request with
    # the same key meets the row; PostgreSQL makes it wait for this insert.
    try:
        with transaction.atomic():
            return IdempotencyKey.objects.create(
                **caller, key=key, **fingerprint, created_at=now
            )
    except IntegrityError:
        return None


def fingerprint_of(row: IdempotencyKey) -> dict:
    return {"method": row.method, "path": row.path, "body_hash": row.body_hash}


def same_claim(row: IdempotencyKey):
    """The row as this request saw it: a takeover moves `created_at` on."""
    return IdempotencyKey.objects.filter(pk=row.pk, created_at=row.created_at)


def refuse_other_request(held: IdempotencyKey, fingerprint: dict) -> Response:
    if (held.method, held.path) != (fingerprint["method"], fingerprint["path"]):
        reason = f"This key was first sent with {held.method} {held.path}."
    else:
        reason = "This key was first sent with another body."
    logger.warning("idempotency key %s refused for another request", held.pk)
    return Response(
        {HEADER: [f"{reason} Send a new key with a new request."]},
        status=status.HTTP_422_UNPROCESSABLE_ENTITY,
    )


def replay(held: IdempotencyKey) -> Response:
    return Response(
        held.response_body,
        status=held.response_status,
        headers={REPLAYED_HEADER: "true"},
    )


def still_running() -> Response:
    return Response(
        {"detail": f"A request with this {HEADER} is still running; send it again."},
        status=status.HTTP_409_CONFLICT,
        headers={"Retry-After": "1"},
    )


def record_answer(row: IdempotencyKey, response, now: datetime) -> None:
    """Keep a 2xx or 4xx answer for replay; give the key up after a 5xx."""
    if response.status_code >= 500 or not isinstance(response, Response):
        give_up_key(row)
        return

    # Stored as the client reads it: what the renderer makes of the data.
    body = None
    if response.data is not None:
        body = without_nul(json.loads(JSONRenderer().render(response.data)))
    kept = (
        same_claim(row)
        .filter(response_status__isnull=True)
        .update(
            response_status=response.status_code,
            response_body=body,
            completed_at=now,
        )
    )
    if not kept:
        logger.warning("idempotency key %s was taken over before it answered", row.pk)


def without_nul(value):
    """The answer with each NUL character as U+FFFD, the replacement character.

    PostgreSQL's JSON keeps no NUL, and a refusal may quote one the request
    sent (an unknown field's name); the replay shows the replacement there.
    """
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, list):
        return [without_nul(item) for item in value]
    if isinstance(value, dict):
        return {without_nul(name): without_nul(item) for name, item in value.items()}
    return value


def give_up_key(row: IdempotencyKey) -> None:
    # A failure here must not hide the error that brought us here; a key left
    # behind is taken over by a retry after ABANDONED_AFTER.
    try:
        same_claim(row).filter(response_status__isnull=True).delete()
    except DatabaseError:
        logger.exception("idempotency key %s not given up", row.pk)


def delete_expired_keys(now: datetime) -> int:
    """Delete keys past their lifetime, a batch at a time; return how many."""
    expired_before = now - settings.BOWTIE_IDEMPOTENCY_KEY_LIFETIME
    deleted = 0
    while True:
        batch = list(
            IdempotencyKey.objects.filter(created_at__lte=expired_before)
            .order_by("pk")
            .values_list("pk", flat=True)[:CLEANUP_BATCH_SIZE]
        )
        if not batch:
            return deleted
        deleted += IdempotencyKey.objects.filter(pk__in=batch).delete()[0]
