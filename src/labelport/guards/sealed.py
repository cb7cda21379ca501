"""Secrets a job must keep to finish after a restart, sealed at rest.

A webhook's secret and its url (which may hold ``user:password@`` or a token)
are stored in the job store sealed with Fernet (AES-128-CBC and
HMAC-SHA256, from ``cryptography``) under a key kept in
``LABELPORT_HOME/secret.key``, created 0600. Copying the job store without
the key copies no secret; deleting the key makes the sealed secrets of
unfinished jobs unreadable (those jobs fail saying so).
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from ..errors import DeliveryError
from .private import private_file, private_home

PREFIX = "sealed:v1:"
KEY_FILE = "secret.key"
#: The keys of a job spec whose string values are sealed, wherever they are.
SEALED_KEYS = frozenset({"secret", "url"})

_keys: dict[Path, Any] = {}
_lock = threading.Lock()


def _fernet() -> Any:
    from cryptography.fernet import Fernet  # (start-up: cryptography; only a sealed secret needs it)

    path = private_home() / KEY_FILE
    with _lock:
        cached = _keys.get(path)
        if cached is not None:
            return cached
        try:
            private_file(path, Fernet.generate_key(), exclusive=True)
        except FileExistsError:
            pass  # made by this or another process: use it
        key = path.read_bytes().strip()
        try:
            fernet = Fernet(key)
        except ValueError:
            raise DeliveryError("the key that seals job secrets is damaged", path) from None
        _keys[path] = fernet
        return fernet


def seal(value: str) -> str:
    return PREFIX + _fernet().encrypt(value.encode("utf-8")).decode("ascii")


def unseal(value: str) -> str:
    from cryptography.fernet import InvalidToken  # (start-up: cryptography, as in _fernet)

    try:
        return _fernet().decrypt(value[len(PREFIX):].encode("ascii")).decode("utf-8")
    except InvalidToken:
        raise DeliveryError(f"a secret of this job cannot be read: it was sealed with another key than "
                            f"{KEY_FILE}") from None


def seal_spec(value: Any) -> Any:
    """A copy of a job spec whose SEALED_KEYS strings are sealed."""
    return _walk(value, lambda s: s if s.startswith(PREFIX) else seal(s))


def unseal_spec(value: Any) -> Any:
    return _walk(value, lambda s: unseal(s) if s.startswith(PREFIX) else s)


def _walk(value: Any, change: Any) -> Any:
    if isinstance(value, dict):
        return {k: change(v) if k in SEALED_KEYS and isinstance(v, str) and v else _walk(v, change)
                for k, v in value.items()}
    if isinstance(value, list):
        return [_walk(v, change) for v in value]
    return value
