"""Amazon S3 (``s3://bucket/prefix``) through boto3.

Endpoint and credentials come from boto3's chain (AWS_ENDPOINT_URL,
AWS_PROFILE, AWS_ACCESS_KEY_ID, instance roles…). Large files go up as
multipart uploads, several parts at a time; boto3 aborts a multipart upload
that fails, so no object is left looking complete. Each object's ETag is
checked against the MD5 of the bytes sent (per part for multipart uploads),
and its sha256 is stored as metadata so an identical push uploads nothing.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any, BinaryIO, Iterator

from ...errors import UsageError, missing_extra
from .base import (
    Bounded,
    BucketDestination,
    DeliveryOptions,
    LocalFile,
    MiB,
    NoBucket,
    ObjectChanged,
    Remote,
    StoredObject,
    delivery_error,
)

SHA256_KEY = "labelport-sha256"


#: The bytes one read of a download asks for.
_READ = 1 << 20


def _sdk(use: str = "writing to") -> Any:
    try:
        import boto3  # (extra: labelport[s3]; a missing SDK is named by missing_extra below)
        import botocore.config
        import botocore.exceptions
        import botocore.handlers
    except ImportError:
        raise missing_extra("boto3", "s3", f"{use} s3://") from None
    return boto3, botocore


class Destination(BucketDestination):
    scheme = "s3"

    def __init__(self, url: str, options: DeliveryOptions, *, reading: bool = False):
        super().__init__(url, options)
        boto3, botocore = _sdk("reading" if reading else "writing to")
        if not (botocore.handlers.VALID_BUCKET.match(self.bucket) or botocore.handlers.VALID_S3_ARN.match(self.bucket)):
            raise UsageError(f"{url}: {self.bucket!r} is not an S3 bucket name (letters, digits, '.', '-' and '_')")
        self._errors = botocore.exceptions
        # backoff with jitter on 5xx, throttling and resets; AWS_MAX_ATTEMPTS and
        # AWS_RETRY_MODE change it as they do for any boto3 program
        retries = {
            "mode": os.environ.get("AWS_RETRY_MODE", "standard"),
            "max_attempts": int(os.environ.get("AWS_MAX_ATTEMPTS", "5")),
        }
        config = botocore.config.Config(
            retries=retries,
            max_pool_connections=max(10, options.concurrency * 4),
            connect_timeout=10,
            read_timeout=60,
        )
        self.session = boto3.session.Session()  # its credentials, resolved once, tell preflight what boto3 found
        self.client = self.session.client("s3", config=config)
        from boto3.s3.transfer import TransferConfig  # (extra: as boto3 in Destination.__init__)

        self.transfer = TransferConfig(
            multipart_threshold=options.part_size,
            multipart_chunksize=options.part_size,
            max_concurrency=options.concurrency,
        )

    def _fail(self, what: str, exc: Exception) -> Exception:
        code = getattr(exc, "response", {}).get("Error", {}).get("Code", "") if hasattr(exc, "response") else ""
        if code in ("NoSuchBucket",):
            return delivery_error(f"s3://{self.bucket}: the bucket does not exist")
        if code in ("InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied", "403", "ExpiredToken"):
            return delivery_error(f"s3://{self.bucket}: access denied ({code}): check the AWS credentials")
        if isinstance(exc, self._errors.NoCredentialsError):
            return delivery_error("s3: no AWS credentials found (set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)")
        return delivery_error(f"{what}", exc)

    def preflight(self, folder: Path | None = None) -> None:
        """boto3 resolved its credential chain when the client was made
        (environment, profiles, SSO cache, and the container and instance
        metadata endpoints where those are configured): none found is told now."""
        if self.session.get_credentials() is None:
            raise self._fail("", self._errors.NoCredentialsError())

    def prepare(self) -> None:
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except self._errors.ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in ("404", "NoSuchBucket"):
                raise delivery_error(f"s3://{self.bucket}: the bucket does not exist") from None
            raise self._fail(f"s3://{self.bucket}: cannot reach the bucket", exc) from None
        except (self._errors.BotoCoreError, OSError) as exc:
            raise self._fail(f"s3://{self.bucket}: cannot reach the bucket", exc) from None

    def stat(self, rel: str) -> Remote | None:
        try:
            head = self.client.head_object(Bucket=self.bucket, Key=self.key(rel))
        except self._errors.ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise self._fail(f"{self.uri(rel)}: cannot read", exc) from None
        except (self._errors.BotoCoreError, OSError) as exc:
            raise self._fail(f"{self.uri(rel)}: cannot read", exc) from None
        return Remote(head["ContentLength"], head.get("Metadata", {}).get(SHA256_KEY), {"etag": head["ETag"].strip('"')})

    def upload(self, file: LocalFile) -> Remote:
        extra = {"Metadata": {SHA256_KEY: file.sha256}}
        try:
            with file.open() as fh:
                self.client.upload_fileobj(fh, self.bucket, self.key(file.rel), ExtraArgs=extra, Config=self.transfer)
        except (self._errors.ClientError, self._errors.BotoCoreError, OSError) as exc:
            raise self._fail(f"{self.uri(file.rel)}: upload failed", exc) from None
        except Exception as exc:  # s3transfer wraps errors of its worker threads
            raise self._fail(f"{self.uri(file.rel)}: upload failed", exc) from None
        remote = self.stat(file.rel)
        if remote is None:
            raise delivery_error(f"{self.uri(file.rel)}: uploaded but not found afterwards")
        return remote

    def verify(self, file: LocalFile, remote: Remote) -> dict[str, str]:
        expected = self.expected_etag(file)
        if remote.checksums.get("etag") != expected or remote.size != file.size:
            self.client.delete_object(Bucket=self.bucket, Key=self.key(file.rel))
            raise delivery_error(
                f"{self.uri(file.rel)}: checksum mismatch after upload (ETag {remote.checksums.get('etag')}, "
                f"expected {expected}); the object was removed"
            )
        return {"etag": expected}

    def expected_etag(self, file: LocalFile) -> str:
        """S3's ETag for these bytes: their MD5, or for a multipart upload the
        MD5 of the parts' MD5s and the part count."""
        part = self.transfer.multipart_chunksize
        if file.size < self.transfer.multipart_threshold:
            return file.md5.hex()
        digests = []
        with file.open() as fh:
            while chunk := fh.read(part):
                digests.append(hashlib.md5(chunk).digest())
        return f"{hashlib.md5(b''.join(digests)).hexdigest()}-{len(digests)}"

    def read(self, rel: str, start: int, stop: int) -> Iterator[bytes]:
        if stop <= start:
            return iter(())
        try:
            body = self.client.get_object(Bucket=self.bucket, Key=self.key(rel), Range=f"bytes={start}-{stop - 1}")["Body"]
        except (self._errors.ClientError, self._errors.BotoCoreError, OSError) as exc:
            raise self._fail(f"{self.uri(rel)}: cannot read", exc) from None
        return body.iter_chunks(MiB)

    def delete(self, rel: str) -> None:
        try:
            self.client.delete_object(Bucket=self.bucket, Key=self.key(rel))  # S3 answers 204 for a missing key too
        except (self._errors.ClientError, self._errors.BotoCoreError, OSError) as exc:
            raise self._fail(f"{self.uri(rel)}: cannot delete", exc) from None

    def listing(self, prefix: str, most: int) -> list[StoredObject]:
        found: list[StoredObject] = []
        try:
            for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix):
                for item in page.get("Contents", []):
                    found.append(StoredObject(item["Key"], item["Size"], item["ETag"]))
                    if len(found) > most:
                        return found
        except self._errors.ClientError as exc:
            if exc.response.get("Error", {}).get("Code", "") in ("404", "NoSuchBucket"):
                raise NoBucket("the bucket does not exist") from None
            raise self._fail(f"s3://{self.bucket}: cannot list the bucket", exc) from None
        except (self._errors.BotoCoreError, OSError) as exc:
            raise self._fail(f"s3://{self.bucket}: cannot list the bucket", exc) from None
        return found

    def download(self, stored: StoredObject, into: BinaryIO) -> None:
        uri = self.object_uri(stored.key)
        try:
            body = self.client.get_object(Bucket=self.bucket, Key=stored.key, IfMatch=stored.version)["Body"]
            bounded = Bounded(into, stored, uri)
            for chunk in body.iter_chunks(_READ):
                bounded.write(chunk)
            bounded.done()
        except self._errors.ClientError as exc:
            if exc.response.get("Error", {}).get("Code", "") in ("412", "PreconditionFailed", "404", "NoSuchKey"):
                raise ObjectChanged(f"{uri}: changed since it was listed") from None
            raise self._fail(f"{uri}: cannot read", exc) from None
        except (self._errors.BotoCoreError, OSError) as exc:
            raise self._fail(f"{uri}: cannot read", exc) from None

    def link(self, rel: str, expires: int = 7 * 24 * 3600) -> str:
        return self.client.generate_presigned_url(
            "get_object", Params={"Bucket": self.bucket, "Key": self.key(rel)}, ExpiresIn=min(expires, 7 * 24 * 3600)
        )
