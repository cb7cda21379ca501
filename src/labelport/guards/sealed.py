"""Secrets a job must keep to finish after a restart, sealed at rest.

A webhook's secret and its url (which may hold ``user:password@`` or a token)
are stored in the job store sealed with Fernet (AES-128-CBC and
HMAC-SHA256, from ``cryptography``) under a key kept in
``LABELPORT_HOME/secret.key``, created 0600. Copying the job store without
the key copies no secret; deleting the key makes the sealed secrets of
unfinished jobs unreadable (those jobs fail saying so).

Processes that share jobs but not a LABELPORT_HOME (``serve --broker``
replicas and ``labelport worker``s on other hosts) share the key through the
environment instead: ``LABELPORT_SECRET_KEY``, a Fernet key (32 bytes,
URL-safe base64; :data:`MAKE_KEY` prints one), is used before the file.
:func:`check_key` refuses a malformed one when ``serve`` or ``worker``
starts, not at its first job.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

from ..errors import DeliveryError, UsageError
from .private import private_file, private_home

PREFIX = "sealed:v1:"
KEY_FILE = "secret.key"
ENV_KEY = "LABELPORT_SECRET_KEY"
MAKE_KEY = 'python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"'
#: The keys of a job spec whose string values are sealed, wherever they are.
SEALED_KEYS = frozenset({"secret", "url"})

_keys: dict[Path, Any] = {}
_lock = threading.Lock()


def _fernet() -> Any:
    from cryptography.fernet import Fernet  # (start-up: cryptography; only a sealed secret needs it)

    shared = os.environ.get(ENV_KEY, "").strip()
    if shared:
        try:
            return Fernet(shared)  # cheap: no file, nothing to cache
        except ValueError:  # binascii.Error too; the key itself is never repeated
            raise DeliveryError(f"{ENV_KEY} is not a Fernet key (32 bytes, URL-safe base64): make one with "
                                f"{MAKE_KEY}") from None
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
        used = ENV_KEY if os.environ.get(ENV_KEY, "").strip() else KEY_FILE
        raise DeliveryError(f"a secret of this job cannot be read: it was sealed with another key than "
                            f"{used}") from None


def check_key() -> None:
    """At start-up of ``serve`` and ``worker``: UsageError (exit 2, one line)
    for a malformed LABELPORT_SECRET_KEY. Without it nothing is done (the
    key file is made when a first secret is sealed, as before)."""
    if os.environ.get(ENV_KEY, "").strip():
        try:
            _fernet()
        except DeliveryError as exc:
            raise UsageError(exc.what) from None


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
