"""What a client of ``labelport serve`` may see of an error: the message,
with the server's folders taken out and credentials redacted.

Paths inside the projects folder become relative to it (``broken/REVIEW/
a.json``, the name the client knows the project by); LABELPORT_HOME becomes
``<home>``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable

from ..errors import LabelportError
from ..guards.private import home
from ..guards.redaction import redact


def public_text(text: str, projects: Iterable[Path] = ()) -> str:
    replacements = [(str(root), "") for root in projects] + [(str(home().resolve()), "<home>"),
                                                            (str(home()), "<home>")]
    for root, shown in sorted(replacements, key=lambda r: len(r[0]), reverse=True):
        text = text.replace(root + os.sep, f"{shown}{os.sep}" if shown else "")
        text = text.replace(root, shown or ".")
    return redact(text)


def make_public(exc: LabelportError, projects: Iterable[Path]) -> LabelportError:
    """``exc`` with its message and file made public (changed in place, so
    its class and exit code stay)."""
    projects = list(projects)
    exc.what = public_text(exc.what, projects)
    if exc.file is not None:
        exc.file = public_text(exc.file, projects)
    exc.args = (exc.what,)
    return exc
