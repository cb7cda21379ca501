"""Google Cloud Storage (``gs://bucket/prefix``) through google-cloud-storage.

Endpoint and credentials come from the SDK's own chain: STORAGE_EMULATOR_HOST
points the client at an emulator, and Application Default Credentials
(GOOGLE_APPLICATION_CREDENTIALS, ``gcloud auth application-default login``,
the metadata server) authenticate it. Against an emulator without
GOOGLE_APPLICATION_CREDENTIALS the client goes anonymous, as the SDK itself
does (and the metadata server, which is off loopback, is never probed).

Files larger than the part size go up as resumable uploads in parts of that
size (a multiple of 256 KiB); several files are in flight at once, one client
per thread. The whole object's CRC32C is declared when the upload starts, so
the service refuses to finalize bytes that do not match, and the SDK checks
the CRC32C it reports as well. Afterwards the object's CRC32C and MD5, as the
service reports them, are compared with the local bytes; a mismatch removes
the object and fails the delivery. Transient errors (429, 5xx, timeouts,
resets) are retried by the SDK's DEFAULT_RETRY, exponential backoff with
jitter; uploads are made conditional on the generation seen before, so a
retried upload is safe. The sha256 is stored in the object's metadata, so an
identical push uploads nothing.
"""

from __future__ import annotations

import base64
import mimetypes
import os
import re
import threading
from datetime import timedelta
from typing import Any, BinaryIO, Iterator
from urllib.parse import quote

from ...errors import UsageError, missing_extra
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
)

SHA256_KEY = "labelport-sha256"
#: Resumable uploads move in multiples of 256 KiB.
CHUNK_UNIT = 256 * 1024
#: A v4 signed URL lives at most seven days.
MAX_SIGNED = 7 * 24 * 3600
#: Cloud Storage's bucket names (each dot-separated part is at most 63 of these).
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$")
NO_CREDENTIALS = "gs: no Google credentials found (set GOOGLE_APPLICATION_CREDENTIALS or run gcloud auth application-default login)"


def _sdk(use: str = "writing to") -> Any:
    try:
        import google.api_core.exceptions  # (extra: labelport[gcs]; a missing SDK is named by missing_extra below)
        import google.auth
        import google.auth.credentials
        import google.auth.exceptions
        import google_crc32c
        from google.cloud import storage
        from google.cloud.storage import retry
    except ImportError:
        raise missing_extra("google-cloud-storage", "gcs", f"{use} gs://") from None
    return storage, retry, google.api_core.exceptions, google.auth, google_crc32c


def part_size(requested: int) -> int:
    """The resumable chunk size: the part size rounded to a multiple of 256 KiB."""
    return max(1, round(requested / CHUNK_UNIT)) * CHUNK_UNIT


def _b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode("ascii")


_URL = re.compile(r"https?://\S+")


def _clean(text: str) -> str:
    """One line, no URLs: a resumable session URL is a credential of its own."""
    line = " ".join(str(text).split())
    return _URL.sub("<url>", line)[:300]


class Destination(BucketDestination):
    scheme = "gs"

    def __init__(self, url: str, options: DeliveryOptions, *, reading: bool = False):
        super().__init__(url, options)
        storage, retry, self._errors, auth, self._crc = _sdk("reading" if reading else "writing to")
        if not _BUCKET.match(self.bucket):
            raise UsageError(f"{url}: {self.bucket!r} is not a Cloud Storage bucket name "
                             "(3-222 lowercase letters, digits, '-', '_' and '.', starting and ending with a letter or digit)")
        self._storage = storage
        self._retry = retry.DEFAULT_RETRY  # exponential backoff with jitter on 429, 5xx, timeouts, resets
        self._upload_retry = retry.DEFAULT_RETRY_IF_GENERATION_SPECIFIED  # safe: uploads carry ifGenerationMatch
        self._auth_errors = auth.exceptions
        self.emulator = os.environ.get("STORAGE_EMULATOR_HOST") or None
        self.credentials, self.project = self._credentials(auth)
        self.chunk_size = part_size(options.part_size)
        self._local = threading.local()
        self._generations: dict[str, int] = {}  # rel -> generation seen by stat (0: absent)
        self._crc32c: dict[tuple[str, str], str] = {}  # (rel, sha256) -> base64 CRC32C of the bytes sent

    # -- credentials and clients ------------------------------------------------
    def _credentials(self, auth: Any) -> tuple[Any, str]:
        env_project = os.environ.get("GOOGLE_CLOUD_PROJECT") or os.environ.get("GCLOUD_PROJECT")
        explicit = os.environ.get("GOOGLE_APPLICATION_CREDENTIALS")
        if self.emulator and not explicit:
            # An emulator takes anyone: no credentials to find, nothing to probe.
            from google.auth.credentials import AnonymousCredentials  # (extra: as the SDK in Destination.__init__)

            return AnonymousCredentials(), env_project or "labelport"
        try:
            credentials, project = auth.default()
        except auth.exceptions.DefaultCredentialsError:
            if explicit:
                raise delivery_error(
                    f"gs: cannot load the Google credentials file named by GOOGLE_APPLICATION_CREDENTIALS ({explicit})"
                ) from None
            raise delivery_error(NO_CREDENTIALS) from None
        return credentials, env_project or project or "labelport"

    def client(self) -> Any:
        """This thread's client: each has its own HTTP session."""
        client = getattr(self._local, "client", None)
        if client is None:
            options = None
            if self.emulator and "://" not in self.emulator:
                # "localhost:9023", as gcloud and the other SDKs accept it; this one needs a scheme
                options = {"api_endpoint": f"http://{self.emulator}"}
            client = self._storage.Client(project=self.project, credentials=self.credentials, client_options=options)
            self._local.client = client
        return client

    def _emulator_url(self) -> str:
        host = self.emulator or ""
        return (host if "://" in host else f"http://{host}").rstrip("/")

    def blob(self, rel: str) -> Any:
        return self.client().bucket(self.bucket).blob(self.key(rel))

    # -- naming -----------------------------------------------------------------
    # -- errors -----------------------------------------------------------------
    def _reason(self, exc: BaseException) -> str:
        response = getattr(exc, "response", None)
        try:
            message = response.json()["error"]["message"]  # type: ignore[union-attr]
        except Exception:
            message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
        return _clean(message)

    def _fail(self, what: str, exc: BaseException) -> Exception:
        errors = self._errors
        where = f"gs://{self.bucket}"
        if isinstance(exc, self._auth_errors.RefreshError):
            detail = exc.args[1].get("error") if len(exc.args) > 1 and isinstance(exc.args[1], dict) else None
            return delivery_error(
                f"{where}: the Google credentials were refused{f' ({_clean(detail)})' if detail else ''}: "
                "check GOOGLE_APPLICATION_CREDENTIALS or run gcloud auth application-default login"
            )
        if isinstance(exc, self._auth_errors.DefaultCredentialsError):
            return delivery_error(NO_CREDENTIALS)
        if isinstance(exc, (errors.Unauthorized, errors.Forbidden)):
            return delivery_error(
                f"{where}: access denied ({exc.code}: {self._reason(exc)}): check the Google credentials and the bucket's permissions"
            )
        if isinstance(exc, errors.NotFound) and "bucket" in self._reason(exc).lower():
            return delivery_error(f"{where}: the bucket does not exist")
        if isinstance(exc, errors.PreconditionFailed):
            return delivery_error(f"{what}: the object changed while uploading (another writer?); push again")
        if isinstance(exc, errors.GoogleAPICallError):
            reason = self._reason(exc)
            if exc.code == 400 and ("crc32c" in reason.lower() or "md5" in reason.lower()):
                return delivery_error(f"{what}: checksum mismatch, the service refused the bytes ({reason}); nothing was stored")
            return delivery_error(f"{what} ({exc.code}: {reason})")
        if isinstance(exc, self._auth_errors.TransportError):
            return delivery_error(f"{where}: cannot reach Google's token service to use the credentials ({type(exc).__name__})")
        if isinstance(exc, OSError) or type(exc).__module__.startswith(("requests", "urllib3")):
            endpoint = self._emulator_url() if self.emulator else "https://storage.googleapis.com"
            return delivery_error(f"{what}: cannot reach {endpoint} ({type(exc).__name__})")
        return delivery_error(f"{what}: {type(exc).__name__}: {_clean(str(exc))}")

    # -- the destination --------------------------------------------------------
    def prepare(self) -> None:
        client = self.client()
        try:
            client.bucket(self.bucket).reload(retry=self._retry)
        except self._errors.NotFound:
            raise delivery_error(f"gs://{self.bucket}: the bucket does not exist") from None
        except self._errors.Forbidden:
            # Object-level roles (objectAdmin) may not read the bucket itself:
            # listing one object tells whether the bucket is usable at all.
            try:
                list(client.list_blobs(self.bucket, prefix=self.prefix or None, max_results=1, retry=self._retry))
            except Exception as exc:
                raise self._fail(f"gs://{self.bucket}: cannot reach the bucket", exc) from None
        except Exception as exc:
            raise self._fail(f"gs://{self.bucket}: cannot reach the bucket", exc) from None

    def stat(self, rel: str) -> Remote | None:
        blob = self.blob(rel)
        try:
            blob.reload(retry=self._retry)
        except self._errors.NotFound:
            self._generations[rel] = 0
            return None
        except Exception as exc:
            raise self._fail(f"{self.uri(rel)}: cannot read", exc) from None
        self._generations[rel] = int(blob.generation or 0)
        return self._remote(blob)

    def _remote(self, blob: Any) -> Remote:
        checksums = {"crc32c": blob.crc32c}
        if blob.md5_hash:  # composite objects have none
            checksums["md5"] = blob.md5_hash
        return Remote(int(blob.size or 0), (blob.metadata or {}).get(SHA256_KEY), checksums)

    def local_crc32c(self, file: LocalFile) -> str:
        key = (file.rel, file.sha256)
        if key not in self._crc32c:
            checksum = self._crc.Checksum()
            with file.open() as fh:
                while chunk := fh.read(1 << 20):
                    checksum.update(chunk)
            self._crc32c[key] = _b64(checksum.digest())
        return self._crc32c[key]

    def upload(self, file: LocalFile) -> Remote:
        if file.rel not in self._generations:
            self.stat(file.rel)
        generation = self._generations.get(file.rel, 0)
        crc32c = self.local_crc32c(file)
        blob = self.blob(file.rel)
        blob.metadata = {SHA256_KEY: file.sha256}
        resumable = file.size > self.chunk_size
        if resumable:
            blob.chunk_size = self.chunk_size
        content_type = mimetypes.guess_type(file.rel)[0] or "application/octet-stream"
        try:
            with file.open() as fh:
                blob.upload_from_file(
                    fh,
                    # The SDK sends any known size up to 8 MiB in one request;
                    # an unknown size makes it a resumable upload in parts of
                    # chunk_size, ended when the stream is.
                    size=None if resumable else file.size,
                    content_type=content_type,
                    checksum="crc32c",  # the SDK compares the CRC32C the service reports
                    crc32c_checksum_value=crc32c,  # the service refuses to finalize other bytes
                    if_generation_match=generation,  # 0: only if still absent; makes retrying safe
                    retry=self._upload_retry,
                )
        except Exception as exc:
            self._generations.pop(file.rel, None)
            if type(exc).__name__ == "DataCorruption":  # the SDK deletes what it could not verify
                self._delete(file.rel)
                return self._mismatch(file, "the CRC32C the service reported differs from the bytes sent")
            raise self._fail(f"{self.uri(file.rel)}: upload failed", exc) from None
        self._generations[file.rel] = int(blob.generation or 0)
        remote = self.stat(file.rel)
        if remote is None:
            raise delivery_error(f"{self.uri(file.rel)}: uploaded but not found afterwards")
        return remote

    def verify(self, file: LocalFile, remote: Remote) -> dict[str, str]:
        expected = {"crc32c": self.local_crc32c(file), "md5": _b64(file.md5)}
        problems = [
            f"{name} {remote.checksums[name]}, expected {value}"
            for name, value in expected.items()
            if name in remote.checksums and remote.checksums[name] != value
        ]
        if remote.size != file.size:
            problems.insert(0, f"{remote.size} bytes, expected {file.size}")
        if "crc32c" not in remote.checksums or not remote.checksums["crc32c"]:
            problems.append("the service reported no CRC32C")
        if problems:
            self._delete(file.rel)
            self._mismatch(file, "; ".join(problems))
        return dict(remote.checksums)

    def _mismatch(self, file: LocalFile, what: str) -> Remote:
        raise delivery_error(f"{self.uri(file.rel)}: checksum mismatch after upload ({what}); the object was removed")

    def _delete(self, rel: str) -> None:
        generation = self._generations.pop(rel, None)
        try:
            self.blob(rel).delete(if_generation_match=generation or None, retry=self._retry)
        except Exception:  # gone already, or changed by someone else: not ours to remove
            pass

    def read(self, rel: str, start: int, stop: int) -> Iterator[bytes]:
        """One ranged request per part size (a range carries no checksum to check)."""
        blob = self.blob(rel)

        def part(offset: int) -> bytes:
            try:
                return blob.download_as_bytes(start=offset, end=min(offset + self.chunk_size, stop) - 1,
                                              checksum=None, retry=self._retry)
            except Exception as exc:
                raise self._fail(f"{self.uri(rel)}: cannot read", exc) from None

        first = part(start) if stop > start else b""

        def parts() -> Iterator[bytes]:
            if first:
                yield first
            for offset in range(start + self.chunk_size, stop, self.chunk_size):
                yield part(offset)

        return parts()

    def delete(self, rel: str) -> None:
        try:
            self.blob(rel).delete(retry=self._retry)
        except self._errors.NotFound:
            pass
        except Exception as exc:
            raise self._fail(f"{self.uri(rel)}: cannot delete", exc) from None

    def listing(self, prefix: str, most: int) -> list[StoredObject]:
        found: list[StoredObject] = []
        try:
            for blob in self.client().list_blobs(self.bucket, prefix=prefix or None, retry=self._retry):
                found.append(StoredObject(blob.name, int(blob.size or 0), str(blob.generation)))
                if len(found) > most:
                    break
        except self._errors.NotFound:
            raise NoBucket("the bucket does not exist") from None
        except Exception as exc:
            raise self._fail(f"gs://{self.bucket}: cannot list the bucket", exc) from None
        return found

    def download(self, stored: StoredObject, into: BinaryIO) -> None:
        uri = self.object_uri(stored.key)
        bounded = Bounded(into, stored, uri)
        try:
            self.client().bucket(self.bucket).blob(stored.key).download_to_file(
                bounded, if_generation_match=int(stored.version), retry=self._retry)
        except (self._errors.PreconditionFailed, self._errors.NotFound):
            raise ObjectChanged(f"{uri}: changed since it was listed") from None
        except ObjectChanged:
            raise
        except Exception as exc:
            raise self._fail(f"{uri}: cannot read", exc) from None
        bounded.done()

    def link(self, rel: str, expires: int = 7 * 24 * 3600) -> str:
        """A v4 signed URL when the credentials can sign (a service account
        key signs locally; other service accounts sign through IAM).

        Anonymous credentials (the emulator) and user credentials cannot
        sign: the link is then the object's media URL, which the emulator
        serves to anyone and Google serves only if the object is public.
        """
        blob = self.blob(rel)
        credentials = self.credentials
        from google.auth.credentials import AnonymousCredentials, Signing  # (extra: as the SDK in Destination.__init__)

        if not isinstance(credentials, AnonymousCredentials):
            kwargs: dict[str, Any] = {}
            if self.emulator:
                kwargs["api_access_endpoint"] = self._emulator_url()
            try:
                if not isinstance(credentials, Signing):
                    # e.g. Compute Engine: sign through IAM with a fresh token
                    if not getattr(credentials, "service_account_email", None):
                        raise TypeError("these credentials cannot sign")
                    if not credentials.valid:
                        import google.auth.transport.requests  # (extra: as the SDK in Destination.__init__)

                        credentials.refresh(google.auth.transport.requests.Request())
                    kwargs.update(service_account_email=credentials.service_account_email, access_token=credentials.token)
                return blob.generate_signed_url(
                    version="v4", expiration=timedelta(seconds=min(expires, MAX_SIGNED)), method="GET", **kwargs
                )
            except Exception:
                pass  # cannot sign: fall back to the media URL below
        if self.emulator:
            return f"{self._emulator_url()}/download/storage/v1/b/{self.bucket}/o/{quote(self.key(rel), safe='')}?alt=media"
        return blob.public_url
