"""What is checked before any work: an export refused here leaves nothing.

Everything that can be known before reading the input is checked before it
is read, and for ``labelport export`` before its job is stored: the packages
the format needs, the output folder (:func:`labelport.guards.output.check_out`,
the rules its stage applies later), for a ``datasaur://`` input the
Export API server and credentials its client reads from the environment
(:func:`labelport.client.export_api.server_settings`), for an object-storage
input its SDK and, looked up, its bucket and something under its URL
(:func:`labelport.conversion.remote.look`), for ``--engine ray`` that Ray is
installed, and the destination
(:func:`labelport.delivery.preflight`: its SDK, its URL, the credentials and
endpoint its SDK finds offline, and for a bucket or container, which only
needs looking up, that it exists). A refusal is exit 2 (usage) or 3 (the
destination: credentials, a missing bucket), with no job, no output folder
and nothing under LABELPORT_HOME.
"""

from __future__ import annotations

import os
from importlib.util import find_spec
from typing import TYPE_CHECKING

from ..conversion import checked_engine, is_object_storage
from ..errors import InputError, UsageError, missing_extra
from ..guards.output import check_out

if TYPE_CHECKING:
    from .spec import ExportSpec

#: format id -> (module, package, extra) for each package its writer imports
#: on use (the rest of the formats need only labelport's own dependencies).
FORMAT_NEEDS: dict[str, tuple[tuple[str, str, str], ...]] = {
    "HF_DATASET": (("pyarrow", "pyarrow", "hf"), ("yaml", "PyYAML", "hf")),
}


def importable(module: str) -> bool:
    """Whether ``module`` can be imported, found without importing it."""
    try:
        return find_spec(module) is not None
    except (ImportError, ValueError):  # a parent package missing; a module set to None in sys.modules
        return False


def check_format(format_id: str) -> None:
    """UsageError naming the extra to install when the format's writer cannot import what it needs."""
    for module, package, extra in FORMAT_NEEDS.get(format_id, ()):
        if not importable(module):
            raise missing_extra(package, extra, f"writing {format_id}")


def check_export(spec: "ExportSpec", *, loaded: bool = False, look: bool = True) -> None:
    """Refuse the export ``spec`` describes before anything is read or stored.
    ``loaded``: the caller hands the job its project (the input is not read);
    ``look``: also look up a bucket or container (the network, read only)."""
    check_format(spec.format)
    checked_engine(spec.engine, None if loaded else spec.input)  # Ray installed, and an input its tasks read again
    local = "://" not in spec.input  # else object storage, or datasaur://: fetched, checked by the client
    if local and not loaded and not os.path.lexists(spec.input):
        raise InputError("no such file or folder", spec.input)
    if is_object_storage(spec.input) and not loaded:
        # (start-up: the destinations' SDK code; only such an input needs it)
        from ..conversion.remote import look as look_up_input
        from ..delivery.destinations import open_bucket

        if look:
            look_up_input(spec.input)  # the bucket, and something under the URL
        else:
            open_bucket(spec.input)  # its SDK and its URL
    elif not local and not loaded:
        # (start-up: only a datasaur:// input loads the Export API client)
        from ..client.export_api import default_timeout, server_settings
        from ..client.fetch import check_fetchable, parse, served, split_options

        parse(spec.input)
        server_settings()  # the server and credentials the job's client will read, each missing one named
        default_timeout()
        convert_options, fetch_options = split_options(spec.convert)
        if served(spec.input, spec.format, fetch_options):  # the server's own export: what it cannot follow
            check_fetchable(spec.format, convert_options)
    check_out(spec.out, inputs=[spec.input] if local else [], overwrite=bool(spec.convert.get("overwrite")))
    if spec.to:
        # (start-up: `labelport convert` checks its format here without loading delivery, ~30 ms, or msgspec)
        from ..delivery import preflight as delivery_preflight
        from ..delivery.destinations.base import DeliveryOptions
        from .spec import checked

        options = checked(spec.delivery, DeliveryOptions, "delivery", UsageError)
        delivery_preflight(spec.to, options, spec.out, look=look)
