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
from .base import BucketDestination, DeliveryOptions, Destination

DESTINATIONS: dict[str, str] = {
    "file": "labelport.delivery.destinations.local",
    "s3": "labelport.delivery.destinations.s3",
    "gs": "labelport.delivery.destinations.gcs",
    "az": "labelport.delivery.destinations.azure",
    "hf": "labelport.delivery.destinations.hf",
}


#: The schemes whose URLs name a bucket's objects, which an input may be read from.
BUCKETS = ("s3", "gs", "az")


def scheme_of(url: str) -> str:
    scheme, sep, _ = url.partition("://")
    return scheme.lower() if sep and len(scheme) > 1 else "file"


def open_destination(url: str, options: "DeliveryOptions | None" = None) -> "Destination":
    scheme = scheme_of(url)
    if scheme not in DESTINATIONS:
        raise UsageError(f"unknown destination {url!r}: use a folder, s3://, gs://, az:// or hf://datasets/…")
    return import_module(DESTINATIONS[scheme]).Destination(url, options or DeliveryOptions())


def is_bucket_url(value: object) -> bool:
    """Whether ``value`` is an ``s3://``, ``gs://`` or ``az://`` URL."""
    return isinstance(value, str) and "://" in value and scheme_of(value) in BUCKETS


def open_bucket(url: str) -> BucketDestination:
    """The bucket or container ``url`` (:func:`is_bucket_url`) names, to read an input from:
    its SDK imported ("reading s3:// needs boto3: install labelport[s3]" when missing)."""
    return import_module(DESTINATIONS[scheme_of(url)]).Destination(url, DeliveryOptions(), reading=True)
