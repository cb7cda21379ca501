"""Errors users can act on, each with the exit code the README gives it ("Exit codes").

A :class:`LabelportError` is printed as one line, ``labelport: error: <where>:
<what>``, never with a traceback; anything else escaping the command is a bug.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


class LabelportError(Exception):
    """Bad input or usage: exit 2, nothing written."""

    exit_code = 2

    def __init__(self, what: str, file: str | Path | None = None, line: int | None = None):
        super().__init__(what)
        self.what = what
        self.file = None if file is None else str(file)
        self.line = line

    def __str__(self) -> str:
        where = ""
        if self.file is not None:
            where = self.file if self.line is None else f"{self.file}:{self.line}"
            where += ": "
        return where + self.what


class InputError(LabelportError):
    """The input cannot be read as what it claims to be."""


class UsageError(LabelportError):
    """The command line or the call asks for something that cannot be done."""


class RejectedError(LabelportError):
    """Written, but the target would reject it, or --strict and something was dropped."""

    exit_code = 1

    def __init__(self, what: str, file: str | Path | None = None, report: Any = None):
        super().__init__(what, file)
        self.report = report  # the conversion's Report, output kept in place


class DeliveryError(LabelportError):
    """Delivery or job failure: network, credentials, remote errors, timeout."""

    exit_code = 3


def missing_extra(package: str, extra: str, purpose: str) -> UsageError:
    return UsageError(f"{purpose} needs {package}: install labelport[{extra}]")
