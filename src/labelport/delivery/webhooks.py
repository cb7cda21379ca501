"""The Export API's webhook contract, for senders and receivers.

A delivery notice is a PUT with a JSON body ``{"userId", "fileUrl",
"projectId", "documentId"?}`` and the header ``X-Datasaur-Signature``: the
hex HMAC-SHA256 of the raw body with the shared secret. Receivers written
for Datasaur's exports work unchanged; :func:`verify` is what they need.
"""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "X-Datasaur-Signature"


def sign(body: bytes, secret: str) -> str:
    return hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def verify(body: bytes, signature: str | None, secret: str) -> bool:
    """Whether ``signature`` is the body's HMAC-SHA256 with ``secret`` (constant time)."""
    if not signature:
        return False
    signature = signature.strip().removeprefix("sha256=")
    return hmac.compare_digest(sign(body, secret), signature.lower())
