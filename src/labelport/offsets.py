"""Offsets in the unit a service counts: code points (Python's own string
indices, the default) or UTF-16 code units (``--offset-unit utf16``), which
differ only after a character outside the Basic Multilingual Plane."""

from __future__ import annotations

from typing import Callable

CODEPOINT = "codepoint"
UTF16 = "utf16"
UNITS = (CODEPOINT, UTF16)


def has_astral(text: str) -> bool:
    """Whether ``text`` holds a character outside the BMP (an emoji, say)."""
    return not text.isascii() and max(text) > "\uffff"


def converter(text: str, unit: str) -> Callable[[int], int]:
    """A function from a code-point offset in ``text`` to an offset in ``unit``."""
    if unit == CODEPOINT or not has_astral(text):
        return _same
    return lambda i: i + sum(1 for c in text[:i] if c > "\uffff")


def _same(i: int) -> int:
    return i
