"""OAuth 2.0 client credentials for ``labelport serve``.

Clients are registered when the service starts (``--client ID:SECRET[:EMAIL]``,
repeatable, or ``LABELPORT_OAUTH_CLIENTS="id:secret,id2:secret2:me@x.org"``).
``POST /api/oauth/token`` with ``grant_type=client_credentials`` and the
client's id and secret (form fields, or HTTP Basic as RFC 6749 §2.3.1 and
requests-oauthlib send them) gives a bearer token of 40 hex characters that
expires after the token TTL. Tokens live in memory: after a restart clients
fetch a new one, as they do when one expires (the API answers "Unauthorized").
With ``--broker`` they live in that Redis instead (the SHA-256 of each token,
never the token, as a key expiring with it), so a token one replica issued is
accepted by every replica that has the same clients.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any

from ..errors import UsageError

ENV_CLIENTS = "LABELPORT_OAUTH_CLIENTS"
DEFAULT_TOKEN_TTL = 3600


@dataclass(frozen=True)
class Client:
    id: str
    secret: str = ""
    email: str | None = None  # where EMAIL exports of this client go

    def __repr__(self) -> str:  # never print the secret
        return f"Client(id={self.id!r}, email={self.email!r})"


def parse_client(value: str) -> Client:
    """``ID:SECRET`` or ``ID:SECRET:EMAIL`` (an e-mail holds an @, so a
    secret may itself hold colons)."""
    client_id, sep, rest = value.strip().partition(":")
    email = None
    head, colon, tail = rest.rpartition(":")
    if colon and "@" in tail:
        rest, email = head, tail.strip()
    if not sep or not client_id.strip() or not rest:
        raise UsageError(f"--client {client_id or value!r}: expected ID:SECRET or ID:SECRET:EMAIL")
    return Client(client_id.strip(), rest, email)


def clients_from(values: list[str] | tuple[str, ...] = (), env: str | None = None) -> dict[str, Client]:
    """The clients of ``--client`` values, then of LABELPORT_OAUTH_CLIENTS."""
    env = os.environ.get(ENV_CLIENTS, "") if env is None else env
    items = [*values, *(v for v in env.split(",") if v.strip())]
    clients: dict[str, Client] = {}
    for item in items:
        client = parse_client(item)
        clients[client.id] = client
    return clients


@dataclass(frozen=True)
class Token:
    value: str
    client: Client
    expires_at: float  # time.monotonic() deadline


class TokenStore:
    """Registered clients and the tokens issued to them."""

    def __init__(self, clients: dict[str, Client], ttl: float = DEFAULT_TOKEN_TTL, shared: Any = None):
        self.clients = dict(clients)
        self.ttl = ttl
        self.shared = shared  # a Redis client (decode_responses) that every replica shares, or None
        self._tokens: dict[str, Token] = {}
        self._lock = threading.Lock()

    def authenticate(self, client_id: str | None, client_secret: str | None) -> Client | None:
        """The client whose id and secret these are (constant-time compare)."""
        client = self.clients.get(client_id or "")
        given = (client_secret or "").encode("utf-8")
        expected = (client.secret if client else secrets.token_hex(16)).encode("utf-8")
        ok = hmac.compare_digest(given, expected)
        return client if client is not None and ok else None

    def issue(self, client: Client) -> Token:
        token = Token(secrets.token_hex(20), client, time.monotonic() + self.ttl)
        if self.shared is not None:
            self.shared.set(_shared_key(token.value), client.id, px=max(1, int(self.ttl * 1000)))
            return token
        with self._lock:
            self._sweep()
            self._tokens[token.value] = token
        return token

    def check(self, value: str | None) -> Client | None:
        """The client a bearer token was issued to, while it has not expired."""
        if not value:
            return None
        if self.shared is not None:
            client_id = self.shared.get(_shared_key(value))
            return None if client_id is None else self.clients.get(client_id)
        with self._lock:
            token = self._tokens.get(value)
            if token is None:
                return None
            if time.monotonic() >= token.expires_at:
                del self._tokens[value]
                return None
            return token.client

    def _sweep(self) -> None:
        now = time.monotonic()
        for value in [v for v, t in self._tokens.items() if now >= t.expires_at]:
            del self._tokens[value]


def _shared_key(value: str) -> str:
    return "labelport:token:" + hashlib.sha256(value.encode("utf-8")).hexdigest()


def bearer(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header."""
    if not authorization:
        return None
    scheme, _, value = authorization.strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    return value.strip() or None
