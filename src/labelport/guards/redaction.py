"""Credentials cut out of every text labelport shows or keeps: messages, job
statuses and errors, log lines, reports.

A URL's ``user:password@`` becomes ``***@``; the value of a query or
connection-string parameter that carries a credential (``sig=``, ``token=``,
``X-Amz-Signature=``, ``key=``, ``AccountKey=``, ``password=``, ...) becomes
``***``; Hugging Face tokens keep their prefix only.
"""

from __future__ import annotations

import logging
import re

_USERINFO = re.compile(r"(\b[A-Za-z][A-Za-z0-9+.-]*://)[^/?#\s@'\"<>]+@")
_PARAMETER = re.compile(
    r"(?<![\w.-])((?:AccountKey|SharedAccessSignature|sig|signature|X-Amz-Signature|X-Amz-Credential|"
    r"X-Amz-Security-Token|X-Goog-Signature|X-Goog-Credential|token|access_token|refresh_token|id_token|"
    r"api[_-]?key|key|password|passwd|secret|client_secret|aws_secret_access_key)=)[^;&\s'\"<>]*?(?=[;&\s'\"<>]|:\s|:?$)",
    re.IGNORECASE,
)
_HF_TOKEN = re.compile(r"\b(hf_|api_org_)[A-Za-z0-9]{6,}")  # not HF_TOKEN, the variable's name


def redact(text: str) -> str:
    """``text`` with anything that looks like a credential replaced by ``***``."""
    text = _USERINFO.sub(r"\1***@", text)
    text = _PARAMETER.sub(lambda m: m.group(1) + "***", text)
    return _HF_TOKEN.sub(lambda m: m.group(1) + "***", text)


class RedactingFormatter(logging.Formatter):
    """A log formatter whose lines (tracebacks included) pass through :func:`redact`:
    libraries log the URLs they request (httpx does, at INFO)."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))
