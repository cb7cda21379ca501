"""Webhook and e-mail notices against a real HTTP receiver and aiosmtpd on 127.0.0.1."""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import zipfile
from pathlib import Path

import httpx
import pytest

import labelport
from labelport.errors import DeliveryError
from labelport.delivery.webhooks import verify

from servers.webhook import start_webhook_receiver

FIXTURES = Path(__file__).parent / "fixtures"
NEWSROOM = FIXTURES / "datasaur" / "newsroom-p8Xk2Lq9"


@pytest.fixture
def receiver():
    server = start_webhook_receiver()
    yield server
    server.stop()


@pytest.fixture
def converted(tmp_path):
    out = tmp_path / "out"
    labelport.convert(labelport.load(NEWSROOM), "DATASAUR_SCHEMA", out, zip="newsroom")
    return out


def test_webhook_put_is_signed_as_the_export_api_signs(receiver, converted, tmp_path):
    dest = tmp_path / "delivered"
    labelport.push(converted, str(dest), method="CUSTOM_WEBHOOK", url=receiver.url, secret="s3cret", project_id="p8Xk2Lq9")
    [request] = receiver.received
    assert request.method == "PUT"
    body = json.loads(request.body)
    assert body == {"userId": None, "fileUrl": str(dest / "newsroom.zip"), "projectId": "p8Xk2Lq9"}
    signature = request.headers["X-Datasaur-Signature"]
    assert signature == hmac.new(b"s3cret", request.body, hashlib.sha256).hexdigest()  # hex HMAC of the raw body
    assert verify(request.body, signature, "s3cret")
    assert not verify(request.body, signature, "wrong")
    assert not verify(request.body + b" ", signature, "s3cret")
    assert (dest / "newsroom.zip").read_bytes() == (converted / "newsroom.zip").read_bytes()


def test_webhook_is_retried_until_it_is_answered(receiver, converted, tmp_path):
    receiver.answers = [500, 503]
    labelport.push(converted, str(tmp_path / "d"), method="CUSTOM_WEBHOOK", url=receiver.url, secret="x")
    assert len(receiver.received) == 3
    assert len({r.body for r in receiver.received}) == 1


def test_webhook_that_never_answers_2xx_fails_the_delivery(receiver, converted, tmp_path):
    receiver.answers = [500] * 10
    with pytest.raises(DeliveryError, match="webhook .* failed after 5 attempts") as failure:
        labelport.push(converted, str(tmp_path / "d"), method="CUSTOM_WEBHOOK", url=receiver.url, secret="x")
    assert failure.value.exit_code == 3
    assert len(receiver.received) == 5


def test_webhook_file_url_is_a_presigned_s3_url_that_works(receiver, converted, monkeypatch):
    boto3 = pytest.importorskip("boto3")
    pytest.importorskip("moto")
    from servers.s3 import start_s3

    server = start_s3()
    try:
        for key, value in server.env().items():
            monkeypatch.setenv(key, value)
        boto3.client("s3").create_bucket(Bucket="exports")
        labelport.push(converted, "s3://exports/news", method="CUSTOM_WEBHOOK", url=receiver.url, secret="k")
        file_url = json.loads(receiver.received[0].body)["fileUrl"]
        assert "X-Amz-Signature=" in file_url or "Signature=" in file_url
        download = httpx.get(file_url)
        assert download.status_code == 200
        assert download.content == (converted / "newsroom.zip").read_bytes()
    finally:
        server.stop()


def test_email_names_the_export_and_attaches_it(converted, tmp_path, monkeypatch):
    pytest.importorskip("aiosmtpd")
    from servers.smtp import start_smtp

    server = start_smtp()
    try:
        for key, value in server.env().items():
            monkeypatch.setenv(key, value)
        labelport.push(converted, str(tmp_path / "d"), method="EMAIL", email="ml@example.com", project_id="p8Xk2Lq9")
    finally:
        server.stop()
    [message] = server.messages
    assert message["To"] == "ml@example.com"
    assert "DATASAUR_SCHEMA" in message["Subject"] and "p8Xk2Lq9" in message["Subject"]
    text = message.get_body(("plain",)).get_content()
    assert "documents" in text and str(tmp_path / "d") in text
    [attachment] = list(message.iter_attachments())
    assert attachment.get_filename() == "newsroom.zip"
    with zipfile.ZipFile(io.BytesIO(attachment.get_content())) as archive:
        assert "newsroom-p8Xk2Lq9/REVIEW/news.txt.json" in archive.namelist()


def test_email_without_smtp_settings_is_a_usage_error(converted, tmp_path, monkeypatch):
    monkeypatch.delenv("LABELPORT_SMTP_HOST", raising=False)
    with pytest.raises(labelport.UsageError, match="LABELPORT_SMTP_HOST"):
        labelport.push(converted, str(tmp_path / "d"), method="EMAIL", email="a@b.c")
