"""Checks on a raw Slack HTTP request before anything parses it: size, signature over the raw bytes, then shape.

bolt verifies the signature too, but only after its request object has decoded and parsed the body, so junk
from anyone (invalid UTF-8, broken JSON, a JSON list) raised inside the parser and became a 500 with a
traceback, and a 200 MB body was held in memory several times over. Here the order is: bounded read (413),
HMAC over the bytes exactly as received (401), and only then decoding and parsing (400 for signed junk).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qsl

# Slack's own requests are a few KB (a modal submission with many blocks stays well under 100 KB).
MAX_REQUEST_BODY_BYTES = 1_000_000
# Slack's documented replay window: a request whose timestamp is more than five minutes off is refused.
SIGNATURE_WINDOW_S = 300
SIGNATURE_VERSION = "v0"
_MAX_TIMESTAMP_DIGITS = 12


class SlackBodyTooLarge(Exception):
    """The request body is over MAX_REQUEST_BODY_BYTES (declared or as streamed); answered 413 unread."""


class SlackBodyMalformed(ValueError):
    """A correctly signed body that is not the JSON object or form Slack sends; answered 400."""


async def read_bounded_body(chunks: AsyncIterator[bytes], declared_length: str | None,
                            limit: int = MAX_REQUEST_BODY_BYTES) -> bytes:
    """The body, read chunk by chunk; stops at the limit (or at once on a larger Content-Length)."""
    if declared_length is not None:
        try:
            declared = int(declared_length)
        except ValueError:
            declared = limit + 1
        if declared > limit:
            raise SlackBodyTooLarge(f"Content-Length {declared_length[:20]} is over {limit} bytes")
    received: list[bytes] = []
    size = 0
    async for chunk in chunks:
        size += len(chunk)
        if size > limit:
            raise SlackBodyTooLarge(f"body is over {limit} bytes")
        received.append(chunk)
    return b"".join(received)


def signature_problem(signing_secret: str, body: bytes, timestamp: str | None, signature: str | None,
                      now: float) -> str | None:
    """None when `signature` is Slack's v0 HMAC of the raw body at a fresh `timestamp`; else why not (for logs)."""
    if not signing_secret:
        return "no signing secret configured"
    if not timestamp or not signature:
        return "X-Slack-Request-Timestamp or X-Slack-Signature missing"
    timestamp = timestamp.strip()
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= _MAX_TIMESTAMP_DIGITS):
        return "timestamp is not a Unix time in seconds"
    if abs(now - int(timestamp)) > SIGNATURE_WINDOW_S:
        return f"timestamp is more than {SIGNATURE_WINDOW_S} s from now (replay or clock skew)"
    base = f"{SIGNATURE_VERSION}:{timestamp}:".encode("ascii") + body
    expected = f"{SIGNATURE_VERSION}=" + hmac.new(signing_secret.encode("utf-8"), base, hashlib.sha256).hexdigest()
    # Header values reach us as latin-1 text; comparing bytes keeps compare_digest total (no TypeError on non-ASCII).
    if not hmac.compare_digest(expected.encode("ascii"), signature.strip().encode("latin-1", "replace")):
        return "signature does not match"
    return None


def parse_signed_body(body: bytes, content_type: str | None) -> dict[str, Any]:
    """Decode and parse a verified body the way bolt will, refusing anything bolt would trip over."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise SlackBodyMalformed("body is not UTF-8") from error
    if not text:
        raise SlackBodyMalformed("empty body")
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    # bolt's rule: JSON when the content type says so or the body starts with "{"; a form otherwise, whose
    # `payload` field (interactivity) is itself JSON.
    if media_type == "application/json" or text.startswith("{"):
        return _json_object(text, "body")
    fields = dict(parse_qsl(text, keep_blank_values=True))
    if "payload" in text:
        payload = fields.get("payload")
        return {} if payload is None else _json_object(payload, "payload field")
    return fields


def _json_object(text: str, what: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except (ValueError, RecursionError) as error:
        raise SlackBodyMalformed(f"{what} is not valid JSON") from error
    if not isinstance(value, dict):
        raise SlackBodyMalformed(f"{what} is JSON but not an object")
    return value
