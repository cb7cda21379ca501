"""``labelport serve``: the Export API (export-api.graphql, beside this file) over HTTP.

Scripts written for Datasaur's Export API run unchanged against it: they get
a token from ``/api/oauth/token``, call ``exportTextProject`` /
``exportTextProjectDocument`` on ``/graphql``, poll
``getExportDeliveryStatus`` and download ``fileUrl``. Every export is a
labelport job run by the service's workers.

This module stays light (the command line imports it for ``--help``);
starlette, uvicorn and graphql-core are imported only when the service starts.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from ..errors import UsageError, missing_extra

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
#: The cloud SDKs --file-storage and the destinations use.
SDK_LOGGERS = ("botocore", "boto3", "s3transfer", "azure", "google", "urllib3")


def add_serve_command(commands: Any) -> argparse.ArgumentParser:
    """Add ``serve`` to the command line's subparsers."""
    serve = commands.add_parser(
        "serve",
        help="run the Export API (GraphQL) as an HTTP service",
        description="Serve the projects of DIR through the Export API: POST /graphql (exportTextProject, "
                    "exportTextProjectDocument, getExportDeliveryStatus, getJob, getJobs) and POST "
                    "/api/oauth/token (client credentials). Each subfolder or .zip of DIR is a project whose id "
                    "is its name. Needs labelport[serve].",
    )
    serve.add_argument("--projects", default=".", metavar="DIR",
                       help="folder whose subfolders and .zip files are the projects (default: .)")
    serve.add_argument("--host", default=DEFAULT_HOST, help=f"address to listen on (default {DEFAULT_HOST})")
    serve.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT})")
    serve.add_argument("--client", action="append", default=[], metavar="ID:SECRET[:EMAIL]",
                       help="an OAuth client; repeatable; also LABELPORT_OAUTH_CLIENTS=id:secret,id2:secret2. "
                            "EMAIL: where its EMAIL exports go (else LABELPORT_SERVE_EMAIL)")
    serve.add_argument("--storages", metavar="FILE",
                       help='external object storages, JSON or TOML: {"<id>": "s3://bucket/prefix", ...} '
                            "(gs://, az:// and folders too)")
    serve.add_argument("--token-ttl", type=float, default=3600, metavar="S",
                       help="seconds an access token lasts (default 3600)")
    serve.add_argument("--file-expiry", type=float, default=6 * 3600, metavar="S",
                       help="seconds a FILE_STORAGE fileUrl works (default 21600, 6 h)")
    serve.add_argument("--base-url", metavar="URL",
                       help="the URL clients reach the service at, for fileUrl (default: the request's own)")
    serve.add_argument("--workers", type=int, default=4, metavar="N", help="exports run at once (default 4)")
    serve.add_argument("--broker", metavar="URL",
                       help="redis://HOST:PORT/DB: keep jobs in this Redis and queue every export there, for "
                            "`labelport worker` processes to run (--workers is then unused); every replica given "
                            "the same URL answers for every job. Needs labelport[redis]")
    serve.add_argument("--file-storage", metavar="URL",
                       help="s3://BUCKET/PREFIX, gs://BUCKET/PREFIX or az://CONTAINER/PREFIX: keep FILE_STORAGE "
                            "results (and what the service knows of them) there instead of LABELPORT_HOME/serve, so "
                            "every replica serves every fileUrl and `labelport worker`s on other hosts upload there; "
                            "credentials from the SDK's environment, as for --to. Needs labelport[s3], [gcs] or "
                            "[azure]")
    safety = serve.add_argument_group("limits and safety")
    safety.add_argument("--allow-webhook-host", action="append", default=[], metavar="HOST",
                        help="let CUSTOM_WEBHOOK urls reach HOST (a name, an address or a network such as "
                             "10.0.0.0/8) although it is not public; repeatable; also "
                             "LABELPORT_ALLOW_WEBHOOK_HOSTS=host,host2. Other loopback, private, link-local and "
                             "reserved addresses are refused")
    safety.add_argument("--max-body", type=int, metavar="BYTES",
                        help="largest request body (default 1048576; LABELPORT_SERVE_MAX_BODY)")
    safety.add_argument("--max-exports", type=int, metavar="N",
                        help="exports in one request (default 10; LABELPORT_SERVE_MAX_EXPORTS)")
    safety.add_argument("--max-ids", type=int, metavar="N",
                        help="ids in one query: projectIds of an export, jobIds of getJobs, fields of a request "
                             "(default 100; LABELPORT_SERVE_MAX_IDS)")
    return serve


def make_config(args: argparse.Namespace):
    """The service's configuration from the command line; UsageError when it cannot start."""
    # (start-up: --help imports this module; the service's load the job store, delivery, the network guards)
    from ..guards.egress import EgressPolicy
    from .auth import clients_from
    from .exporter import ServeConfig
    from .inputs import ServeLimits

    clients = clients_from(args.client)
    if not clients:
        raise UsageError("no OAuth client: pass --client ID:SECRET or set LABELPORT_OAUTH_CLIENTS")
    projects = Path(args.projects).expanduser()
    if not projects.is_dir():
        raise UsageError("--projects: no such folder", projects)
    if args.token_ttl <= 0 or args.file_expiry <= 0:
        raise UsageError("--token-ttl and --file-expiry must be positive")
    if args.workers < 1:
        raise UsageError("--workers must be at least 1")
    return ServeConfig(
        projects=projects.resolve(),
        clients=clients,
        storages=args.storages,
        token_ttl=args.token_ttl,
        file_expiry=args.file_expiry,
        base_url=args.base_url,
        workers=args.workers,
        egress=EgressPolicy.from_options(args.allow_webhook_host),
        limits=ServeLimits.from_options(args.max_body, args.max_exports, args.max_ids),
        broker=args.broker,
        file_storage=args.file_storage,
    )


def log_to_stderr() -> None:
    """labelport's log (error ids with their tracebacks, resumed jobs) on
    stderr, beside uvicorn's or RQ's, redacted: ``serve`` and ``worker``."""
    import logging  # (start-up: as in make_config)

    from ..guards.redaction import RedactingFormatter

    handler = logging.StreamHandler()
    handler.setFormatter(RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=logging.INFO, handlers=[handler])
    for sdk in SDK_LOGGERS:  # their INFO is every request and credential lookup, not labelport's log
        logging.getLogger(sdk).setLevel(logging.WARNING)


def cmd_serve(args: argparse.Namespace) -> int:
    from ..guards.redaction import redact  # (start-up: as in make_config)

    log_to_stderr()
    config = make_config(args)
    try:  # (extra: starlette, uvicorn and graphql-core are labelport[serve], imported only when the service starts)
        import uvicorn

        from .app import create_app
    except ModuleNotFoundError as exc:
        raise missing_extra(exc.name or "starlette", "serve", "labelport serve") from None
    # a bad --storages file, an unreachable --broker or --file-storage, a malformed LABELPORT_SECRET_KEY
    # stop it here, before listening
    app = create_app(config)
    home = os.environ.get("LABELPORT_HOME") or "~/.labelport"
    host = f"[{args.host}]" if ":" in args.host else args.host
    print(f"labelport: serving the Export API on http://{host}:{args.port}/graphql "
          f"(projects in {config.projects}; {len(config.clients)} client(s); "
          f"jobs in {redact(config.broker) + ', run by labelport worker' if config.broker else home}"
          + (f"; files in {config.file_storage}" if config.file_storage else "") + ")"
          + (f"; webhooks may also reach {', '.join(config.egress.allowed)}" if config.egress.allowed else ""),
          flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level="info", proxy_headers=True)
    return 0


