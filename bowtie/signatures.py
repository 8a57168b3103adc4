"""Sign and verify webhook bodies with an HMAC of a timestamp and the raw bytes.

The header reads `Bowtie-Signature: t=<unix seconds>,v1=<hex>`, where the hex
is HMAC-SHA256, keyed with the endpoint's secret, of "<t>." followed by the
body exactly as sent. The raw bytes, because a body parsed and serialised
again is not byte for byte the one that was signed. The timestamp, because a
captured delivery replayed later falls outside the five-minute window.

Several `v1=` parts may be sent, one per secret, so a sender can roll its
secret without a gap; parts of other schemes are ignored, so a later scheme
can be sent beside this one. Inbound CRM webhooks verify with it, and
outbound webhooks (`bowtie.webhooks`) sign with `sign`, so both directions
speak one scheme.
"""

import hashlib
import hmac
from datetime import datetime

HEADER = "Bowtie-Signature"
SCHEME = "v1"
TOLERANCE_SECONDS = 5 * 60


class SignatureRefused(Exception):
    """The signature is missing, malformed, stale or wrong; the reason says which."""


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The hex HMAC-SHA256 of "<timestamp>." and the body."""
    message = f"{timestamp}.".encode() + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signature_header(secret: str, timestamp: int, body: bytes) -> str:
    """The value of the `Bowtie-Signature` header for this body at this time."""
    return f"t={timestamp},{SCHEME}={signature(secret, timestamp, body)}"


def sign(secret: str, body: bytes, now: datetime) -> str:
    """The `Bowtie-Signature` header for a body sent at `now`."""
    return signature_header(secret, int(now.timestamp()), body)


def parse_header(header: str) -> tuple[int, list[str]]:
    """The timestamp and every v1 signature of a header; refuse anything else."""
    timestamp = None
    signatures = []
    for part in header.split(","):
        name, separator, value = part.strip().partition("=")
        if not separator:
            raise SignatureRefused(f"Malformed {HEADER} header: write t=...,v1=...")
        if name == "t":
            if not value.isascii() or not value.isdigit():
                raise SignatureRefused("The signature's t= is not a Unix timestamp.")
            timestamp = int(value)
        elif name == SCHEME:
            signatures.append(value)

    if timestamp is None:
        raise SignatureRefused(f"The {HEADER} header has no t= timestamp.")
    if not signatures:
        raise SignatureRefused(f"The {HEADER} header has no {SCHEME}= signature.")
    return timestamp, signatures


def verify_signature(
    secret: str,
    body: bytes,
    header: str | None,
    now: datetime,
    tolerance_seconds: int = TOLERANCE_SECONDS,
) -> int:
    """Check the header against the body and the clock; return its timestamp.

    Raises `SignatureRefused` when the header is absent or malformed, its
    time is more than the tolerance from `now` (either way: a clock ahead is
    as suspect as one behind), or no signature matches.
    """
    if not header:
        raise SignatureRefused(f"Sign the delivery: the {HEADER} header is missing.")
    timestamp, candidates = parse_header(header)

    if abs(now.timestamp() - timestamp) > tolerance_seconds:
        raise SignatureRefused(
            f"The signature's time is more than {tolerance_seconds} seconds from "
            "ours: send it again, signed now."
        )

    expected = signature(secret, timestamp, body).encode()
    # Bytes, not text: compare_digest refuses text with non-ASCII characters,
    # and a header is whatever the sender put in it.
    matches = [
        hmac.compare_digest(expected, candidate.encode(errors="replace"))
        for candidate in candidates
    ]
    if not any(matches):
        raise SignatureRefused("The signature does not match the body.")
    return timestamp
