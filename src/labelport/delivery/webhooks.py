"""The Export API's webhook contract, for senders and receivers.

A delivery notice is a PUT with a JSON body ``{"userId", "fileUrl",
"projectId", "documentId"?}`` and the header ``X-Datasaur-Signature``: the
hex HMAC-SHA256 of the raw body with the shared secret. Receivers written
for Datasaur's exports work unchanged; :func:`verify` is what they need.

A notice sent by a labelport job also carries ``X-Labelport-Delivery``: the
job's id (the Export API's exportId), the same on every attempt. A job run
again after its process died does not send a notice it recorded as sent, but
a process killed after the receiver answered and before the job recorded it
sends it again: a receiver that must act once keeps the delivery ids it has
seen. The header is outside the signature (which covers the body alone, as
Datasaur's does): it tells a resent notice from a new one, and proves nothing.
"""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "X-Datasaur-Signature"
DELIVERY_HEADER = "X-Labelport-Delivery"


def sign(body: bytes, secret: str) -> str:
    return hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def verify(body: bytes, signature: str | None, secret: str) -> bool:
    """Whether ``signature`` is the body's HMAC-SHA256 with ``secret`` (constant time)."""
    if not signature:
        return False
    signature = signature.strip().removeprefix("sha256=")
    return hmac.compare_digest(sign(body, secret), signature.lower())
