"""Azure Blob Storage (``az://container/prefix``) through azure-storage-blob.

Account and credentials come from the SDK's standard chain:
AZURE_STORAGE_CONNECTION_STRING when it is set (Azurite, an account key or a
SAS), else AZURE_STORAGE_ACCOUNT_URL (or AZURE_STORAGE_ACCOUNT) with
azure.identity's DefaultAzureCredential (environment, workload or managed
identity, Azure CLI…). The container must exist: labelport never creates one.

Files larger than the part size go up as a block list, several blocks at a
time; each block carries its MD5, which the service checks on arrival
(``validate_content``), and nothing is visible until the list is committed,
so a failed upload leaves no blob looking complete. The whole file's MD5 is
sent as the blob's Content-MD5 (checked by the service for a single put,
stored for a block list) and compared afterwards with the bytes sent, along
with the size and, for a block list, the committed blocks; a mismatch removes
the blob and fails the delivery. The sha256 is stored as metadata, so an
identical push uploads nothing. Transient errors (5xx, timeouts, resets) are
retried by the SDK's ExponentialRetry: exponential backoff with jitter.
"""

from __future__ import annotations

import logging
import os
import re
from datetime import datetime, timedelta, timezone
from typing import Any, BinaryIO, Iterator
from urllib.parse import urlsplit

from ...errors import DeliveryError, UsageError, missing_extra
from .base import (
    Bounded,
    BucketDestination,
    DeliveryOptions,
    LocalFile,
    NoBucket,
    ObjectChanged,
    Remote,
    StoredObject,
    delivery_error,
    md5_b64,
)

#: Azure metadata names must be C# identifiers: no dashes.
SHA256_KEY = "labelport_sha256"
CONNECTION_STRING = "AZURE_STORAGE_CONNECTION_STRING"
ACCOUNT_URL = "AZURE_STORAGE_ACCOUNT_URL"
ACCOUNT = "AZURE_STORAGE_ACCOUNT"
#: 3-63 lowercase letters, digits and single hyphens, starting and ending with a letter or digit.
_CONTAINER = re.compile(r"^(\$root|\$web|[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){2,62})$")
#: Refusals that say the credential works but may not read container properties
#: (a SAS or role scoped to blobs): the first blob request then tells.
_SCOPED = {"AuthorizationPermissionMismatch", "AuthorizationResourceTypeMismatch", "AuthorizationServiceMismatch"}
_MAX_SAS = 7 * 24 * 3600  # a user delegation key lives at most 7 days
STORAGE_SCOPE = "https://storage.azure.com/.default"


def _sdk(use: str = "writing to") -> Any:
    try:
        import azure.core.exceptions  # (extra: labelport[azure]; a missing SDK is named by missing_extra below)
        import azure.storage.blob
    except ImportError:
        raise missing_extra("azure-storage-blob", "azure", f"{use} az://") from None
    # The SDK logs failures as multi-line warnings (DefaultAzureCredential lists every
    # credential it tried); labelport reports each failure as one line. A NullHandler
    # keeps Python's last-resort handler from printing them on stderr; an application
    # that configures logging still receives them.
    logger = logging.getLogger("azure")
    if not any(isinstance(h, logging.NullHandler) for h in logger.handlers):
        logger.addHandler(logging.NullHandler())
    return azure.storage.blob, azure.core.exceptions


def _code(exc: BaseException) -> str:
    """The service's error code ("ContainerNotFound"), whether the SDK gives a str or a StorageErrorCode."""
    code = getattr(exc, "error_code", None)
    return str(getattr(code, "value", code) or "")


def _first_line(exc: BaseException) -> str:
    """One line of an SDK error: its message without the XML body, request id or object reprs."""
    text = next((line.strip() for line in str(exc).splitlines() if line.strip()), type(exc).__name__)
    text = re.sub(r"<[\w.]+ object at 0x[0-9a-f]+>:?\s*", "", text)
    code = _code(exc)
    return f"{text} ({code})" if code and code not in text else text


class Destination(BucketDestination):
    scheme = "az"

    def __init__(self, url: str, options: DeliveryOptions, *, reading: bool = False):
        super().__init__(url, options)
        self.container_name = self.bucket
        blob, self._errors = _sdk("reading" if reading else "writing to")
        if not _CONTAINER.match(self.container_name):
            raise UsageError(
                f"az://{self.container_name}: not a valid container name "
                "(3-63 lowercase letters, digits and single hyphens)"
            )
        self._blob = blob
        self.token_credential: Any = None  # set when signing in through DefaultAzureCredential
        self.service, self.credential_hint = self._client(blob, options)
        self.container = self.service.get_container_client(self.container_name)

    # -- the client ----------------------------------------------------------------
    def _client(self, blob: Any, options: DeliveryOptions) -> tuple[Any, str]:
        settings = {
            "max_block_size": options.part_size,  # bigger files go as a block list of these
            "max_single_put_size": options.part_size,
            # Transient errors (408, 5xx, timeouts, resets) are retried up to 5 times, waiting
            # 2, 4, 8, 16, 32 s (initial_backoff + increment_base ** retry) ±1 s of jitter; the
            # SDK's default (15 s, 18 s, 24 s… 10 times) would hold a CLI for minutes.
            "retry_policy": blob.ExponentialRetry(initial_backoff=0, increment_base=2, retry_total=5, random_jitter_range=1),
            "transport": _transport(options),
        }
        connection_string = os.environ.get(CONNECTION_STRING, "").strip()
        if connection_string:
            try:
                service = blob.BlobServiceClient.from_connection_string(connection_string, **settings)
            except (ValueError, TypeError):  # never repeat the string: it holds the key
                raise delivery_error(f"az: {CONNECTION_STRING} is not a valid connection string") from None
            return service, CONNECTION_STRING
        account_url = os.environ.get(ACCOUNT_URL, "").strip()
        if not account_url and os.environ.get(ACCOUNT, "").strip():
            account_url = f"https://{os.environ[ACCOUNT].strip()}.blob.core.windows.net"
        if not account_url:
            raise delivery_error(
                f"az: no storage account: set {CONNECTION_STRING}, or {ACCOUNT_URL} (or {ACCOUNT}) "
                "and sign in for DefaultAzureCredential (az login, AZURE_CLIENT_ID/AZURE_TENANT_ID/AZURE_CLIENT_SECRET, "
                "workload or managed identity)"
            )
        parts = urlsplit(account_url)
        if parts.scheme not in ("https", "http") or not parts.netloc:
            raise delivery_error(f"az: {ACCOUNT_URL}={account_url!r} is not an account URL (https://<account>.blob.core.windows.net)")
        try:
            from azure.identity import DefaultAzureCredential  # (extra: optional within labelport[azure])
        except ImportError:
            raise missing_extra("azure-identity", "azure", f"signing in to {account_url} with DefaultAzureCredential") from None
        try:
            self.token_credential = DefaultAzureCredential()
            service = blob.BlobServiceClient(account_url, credential=self.token_credential, **settings)
        except ValueError as exc:  # e.g. "Token credential is only supported with HTTPS."
            raise delivery_error(f"az: {account_url}", exc) from None
        return service, "the identity DefaultAzureCredential signs in with and its role on the account (Storage Blob Data Contributor)"

    # -- names -----------------------------------------------------------------------
    def _endpoint(self) -> str:
        parts = urlsplit(self.service.url)  # without the query: a SAS connection string puts its token there
        return f"{parts.scheme}://{parts.netloc}{parts.path}".rstrip("/")

    # -- errors ----------------------------------------------------------------------
    def _missing(self) -> Exception:
        return delivery_error(
            f"az://{self.container_name}: the container does not exist in {self._endpoint()} "
            f"(labelport does not create it: az storage container create --name {self.container_name})"
        )

    def _fail(self, what: str, exc: Exception) -> Exception:
        errors = self._errors
        code = _code(exc)
        status = getattr(exc, "status_code", None)
        if code == "ContainerNotFound":
            return self._missing()
        if isinstance(exc, errors.ClientAuthenticationError) and getattr(exc, "response", None) is None:
            # No response: the credential chain itself found nothing to sign in with.
            return delivery_error(
                f"az: DefaultAzureCredential could not sign in: set {CONNECTION_STRING}, or sign in "
                "(az login, AZURE_CLIENT_ID/AZURE_TENANT_ID/AZURE_CLIENT_SECRET, workload or managed identity)"
            )
        if status in (401, 403) or isinstance(exc, errors.ClientAuthenticationError):
            return delivery_error(f"az://{self.container_name}: access denied ({code or status}): check {self.credential_hint}")
        if isinstance(exc, (errors.ServiceRequestError, errors.ServiceResponseError)):
            return delivery_error(f"az://{self.container_name}: cannot reach {self._endpoint()}: {_first_line(exc)}")
        return delivery_error(f"{what}: {_first_line(exc)}")

    # -- the Destination contract ----------------------------------------------------------
    def prepare(self) -> None:
        errors = self._errors
        if self.token_credential is not None:
            # Sign in once, outside the SDK's pipeline: there a credential that finds
            # nothing would be retried with backoff for a minute. The token is cached.
            try:
                self.token_credential.get_token(STORAGE_SCOPE)
            except errors.ClientAuthenticationError as exc:
                raise self._fail("az: DefaultAzureCredential could not sign in", exc) from None
        try:
            self.container.get_container_properties()
        except errors.ResourceNotFoundError:
            raise self._missing() from None
        except errors.HttpResponseError as exc:
            if _code(exc) in _SCOPED:
                return
            raise self._fail(f"az://{self.container_name}: cannot reach the container", exc) from None
        except errors.AzureError as exc:
            raise self._fail(f"az://{self.container_name}: cannot reach the container", exc) from None

    def stat(self, rel: str) -> Remote | None:
        errors = self._errors
        try:
            props = self.container.get_blob_client(self.key(rel)).get_blob_properties()
        except errors.ResourceNotFoundError as exc:
            if _code(exc) == "ContainerNotFound":
                raise self._missing() from None
            return None
        except errors.AzureError as exc:
            raise self._fail(f"{self.uri(rel)}: cannot read", exc) from None
        md5 = props.content_settings.content_md5
        checksums = {"md5": md5_b64(bytes(md5))} if md5 else {}
        return Remote(props.size, (props.metadata or {}).get(SHA256_KEY), checksums)

    def upload(self, file: LocalFile) -> Remote:
        blob = self.container.get_blob_client(self.key(file.rel))
        try:
            with file.open() as fh:
                blob.upload_blob(
                    fh,
                    length=file.size,
                    overwrite=True,
                    max_concurrency=max(1, self.options.concurrency),
                    metadata={SHA256_KEY: file.sha256},
                    content_settings=self._blob.ContentSettings(content_md5=bytearray(file.md5)),
                    validate_content=True,  # each request carries its MD5; the service checks it
                )
        except self._errors.AzureError as exc:
            raise self._fail(f"{self.uri(file.rel)}: upload failed", exc) from None
        except OSError as exc:
            raise delivery_error(f"{self.uri(file.rel)}: upload failed", exc) from None
        remote = self.stat(file.rel)
        if remote is None:
            raise delivery_error(f"{self.uri(file.rel)}: uploaded but not found afterwards")
        return remote

    def verify(self, file: LocalFile, remote: Remote) -> dict[str, str]:
        expected = md5_b64(file.md5)
        reported = remote.checksums.get("md5")
        problem = None
        if reported != expected or remote.size != file.size:
            problem = f"Content-MD5 {reported}, expected {expected}; {remote.size} bytes, expected {file.size}"
        elif file.size > self.options.part_size:
            problem = self._check_blocks(file)
        if problem:
            raise delivery_error(f"{self.uri(file.rel)}: checksum mismatch after upload ({problem}); {self._remove(file.rel)}")
        return {"md5": expected}

    def _check_blocks(self, file: LocalFile) -> str | None:
        """The committed blocks are the parts sent, in size and number."""
        try:
            committed, _ = self.container.get_blob_client(self.key(file.rel)).get_block_list("committed")
        except self._errors.AzureError as exc:
            raise self._fail(f"{self.uri(file.rel)}: cannot read the block list", exc) from None
        part = self.options.part_size
        full, rest = divmod(file.size, part)
        expected = [part] * full + ([rest] if rest else [])
        sizes = [block.size for block in committed]
        if sizes != expected:
            return f"{len(sizes)} blocks committed, {len(expected)} sent"
        return None

    def _remove(self, rel: str) -> str:
        try:
            self.delete(rel)
        except DeliveryError as exc:
            return f"the blob could not be removed: {exc.what}"
        return "the blob was removed"

    def read(self, rel: str, start: int, stop: int) -> Iterator[bytes]:
        if stop <= start:
            return iter(())
        try:
            download = self.container.get_blob_client(self.key(rel)).download_blob(offset=start, length=stop - start)
        except self._errors.AzureError as exc:
            raise self._fail(f"{self.uri(rel)}: cannot read", exc) from None
        return download.chunks()

    def delete(self, rel: str) -> None:
        try:
            self.container.get_blob_client(self.key(rel)).delete_blob()
        except self._errors.ResourceNotFoundError:
            pass
        except self._errors.AzureError as exc:
            raise self._fail(f"{self.uri(rel)}: cannot delete", exc) from None

    def listing(self, prefix: str, most: int) -> list[StoredObject]:
        found: list[StoredObject] = []
        try:
            for props in self.container.list_blobs(name_starts_with=prefix or None):
                found.append(StoredObject(props.name, int(props.size), str(props.etag)))
                if len(found) > most:
                    break
        except self._errors.ResourceNotFoundError:
            raise NoBucket(f"the container does not exist in {self._endpoint()}") from None
        except self._errors.AzureError as exc:
            raise self._fail(f"az://{self.container_name}: cannot list the container", exc) from None
        return found

    def download(self, stored: StoredObject, into: BinaryIO) -> None:
        from azure.core import MatchConditions  # (extra: as the SDK in _sdk)

        uri = self.object_uri(stored.key)
        try:
            downloader = self.container.download_blob(stored.key, etag=stored.version,
                                                      match_condition=MatchConditions.IfNotModified)
            bounded = Bounded(into, stored, uri)
            for chunk in downloader.chunks():
                bounded.write(chunk)
            bounded.done()
        except (self._errors.ResourceModifiedError, self._errors.ResourceNotFoundError):
            raise ObjectChanged(f"{uri}: changed since it was listed") from None
        except self._errors.AzureError as exc:
            raise self._fail(f"{uri}: cannot read", exc) from None

    def link(self, rel: str, expires: int = 7 * 24 * 3600) -> str:
        """A read-only SAS URL: signed with the account key, or with a user
        delegation key when signed in with a token credential."""
        blob = self.container.get_blob_client(self.key(rel))
        plain = blob.url.split("?", 1)[0]  # never hand on the SAS of a connection string: it may allow writes
        now = datetime.now(timezone.utc)
        start, expiry = now - timedelta(minutes=5), now + timedelta(seconds=min(expires, _MAX_SAS))
        credential = self.service.credential
        sign = {
            "account_name": self.service.account_name,
            "container_name": self.container_name,
            "blob_name": self.key(rel),
            "permission": self._blob.BlobSasPermissions(read=True),
            "start": start,
            "expiry": expiry,
        }
        try:
            if getattr(credential, "account_key", None):
                sas = self._blob.generate_blob_sas(account_key=credential.account_key, **sign)
            elif hasattr(credential, "get_token"):
                key = self.service.get_user_delegation_key(start, expiry)
                sas = self._blob.generate_blob_sas(user_delegation_key=key, **sign)
            else:
                # A SAS connection string: labelport cannot sign; the plain URL
                # works for whoever can already read the container.
                return plain
        except self._errors.AzureError:
            # The identity may not hold generateUserDelegationKey (Storage Blob
            # Delegator): the plain URL still names the blob.
            return plain
        return f"{plain}?{sas}"


def _transport(options: DeliveryOptions) -> Any:
    """The SDK's requests transport, with a connection pool as big as the
    uploads in flight (files x blocks), so none is opened and thrown away."""
    import requests  # (extra: the transport of labelport[azure]'s SDK)
    from azure.core.pipeline.transport import RequestsTransport
    from urllib3.util.retry import Retry

    size = max(10, options.concurrency * options.concurrency + options.concurrency)
    session = requests.Session()
    adapter = requests.adapters.HTTPAdapter(
        pool_connections=size,
        pool_maxsize=size,
        max_retries=Retry(total=False, redirect=False, raise_on_status=False),  # the SDK's policy retries
    )
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return RequestsTransport(session=session, connection_timeout=10, read_timeout=60)
