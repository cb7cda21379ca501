"""Where results go: a plain dict from URL scheme to the module that delivers.

A destination module defines ``Destination`` (a :class:`.base.Destination`
subclass); its SDK is imported only when it is used, and a missing one says
which extra to install. Endpoints and credentials come from each SDK's own
standard chain, so the same command works on a laptop, in CI and against a
local emulator.
"""

from __future__ import annotations

from importlib import import_module

from ...errors import UsageError
from .base import DeliveryOptions, Destination

DESTINATIONS: dict[str, str] = {
    "file": "labelport.delivery.destinations.local",
    "s3": "labelport.delivery.destinations.s3",
    "gs": "labelport.delivery.destinations.gcs",
    "az": "labelport.delivery.destinations.azure",
    "hf": "labelport.delivery.destinations.hf",
}


def scheme_of(url: str) -> str:
    scheme, sep, _ = url.partition("://")
    return scheme.lower() if sep and len(scheme) > 1 else "file"


def open_destination(url: str, options: "DeliveryOptions | None" = None) -> "Destination":
    scheme = scheme_of(url)
    if scheme not in DESTINATIONS:
        raise UsageError(f"unknown destination {url!r}: use a folder, s3://, gs://, az:// or hf://datasets/…")
    return import_module(DESTINATIONS[scheme]).Destination(url, options or DeliveryOptions())
