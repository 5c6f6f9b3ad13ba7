"""The raw-request checks the Slack HTTP server runs before bolt parses anything (official signing vector)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import pytest

from connectors.slack.request_guard import (
    MAX_REQUEST_BODY_BYTES,
    SlackBodyMalformed,
    SlackBodyTooLarge,
    parse_signed_body,
    read_bounded_body,
    signature_problem,
)
from tests.conftest import TESTDATA_DIR

VECTORS = json.loads((TESTDATA_DIR / "slack" / "slack_signature_vectors.json").read_text(encoding="utf-8"))
DOC = VECTORS["doc_vector"]
SECRET, TIMESTAMP, BODY, SIGNATURE = (DOC["signing_secret"], DOC["timestamp"], DOC["body"].encode("utf-8"),
                                      DOC["expected_signature"])
VECTOR_NOW = float(DOC["timestamp"])  # the vector is from 2018: "now" is pinned to it


def test_official_vector_is_valid_on_the_raw_bytes_inside_the_window() -> None:
    assert signature_problem(SECRET, BODY, TIMESTAMP, SIGNATURE, now=VECTOR_NOW) is None
    assert signature_problem(SECRET, BODY, TIMESTAMP, SIGNATURE, now=VECTOR_NOW + 299) is None
    assert signature_problem(SECRET, BODY, TIMESTAMP, SIGNATURE, now=VECTOR_NOW - 299) is None


@pytest.mark.parametrize("secret, body, timestamp, signature, now, reason", [
    (SECRET, BODY + b"------", TIMESTAMP, SIGNATURE, VECTOR_NOW, "does not match"),
    ("another-secret", BODY, TIMESTAMP, SIGNATURE, VECTOR_NOW, "does not match"),
    (SECRET, BODY, TIMESTAMP, SIGNATURE, VECTOR_NOW + 301, "300 s"),
    (SECRET, BODY, TIMESTAMP, SIGNATURE, 1.8e9, "300 s"),  # the vector replayed today
    (SECRET, BODY, None, SIGNATURE, VECTOR_NOW, "missing"),
    (SECRET, BODY, TIMESTAMP, None, VECTOR_NOW, "missing"),
    (SECRET, BODY, "not-a-number", SIGNATURE, VECTOR_NOW, "Unix time"),
    (SECRET, BODY, "１５３１４２０６１８", SIGNATURE, VECTOR_NOW, "Unix time"),  # full-width digits
    (SECRET, BODY, "9" * 400, SIGNATURE, VECTOR_NOW, "Unix time"),
    (SECRET, BODY, TIMESTAMP, "v0=é" + SIGNATURE[4:], VECTOR_NOW, "does not match"),
    (SECRET, b"\xff\xfe junk", TIMESTAMP, SIGNATURE, VECTOR_NOW, "does not match"),  # not UTF-8: no crash
    ("", BODY, TIMESTAMP, SIGNATURE, VECTOR_NOW, "no signing secret"),
])
def test_anything_not_freshly_signed_is_refused_with_a_reason(secret: str, body: bytes, timestamp: str | None,
                                                                signature: str | None, now: float,
                                                                reason: str) -> None:
    problem = signature_problem(secret, body, timestamp, signature, now=now)
    assert problem is not None and reason in problem


def _stream(*chunks: bytes) -> AsyncIterator[bytes]:
    async def generate() -> AsyncIterator[bytes]:
        for chunk in chunks:
            yield chunk
    return generate()


def test_body_is_read_up_to_the_limit_and_no_further() -> None:
    consumed: list[int] = []

    async def endless() -> AsyncIterator[bytes]:
        for index in range(10_000):  # 640 MB if read to the end
            consumed.append(index)
            yield b"x" * 65_536

    assert asyncio.run(read_bounded_body(_stream(b"ab", b"cd"), "4")) == b"abcd"
    with pytest.raises(SlackBodyTooLarge):
        asyncio.run(read_bounded_body(endless(), None))
    assert len(consumed) * 65_536 <= MAX_REQUEST_BODY_BYTES + 65_536
    with pytest.raises(SlackBodyTooLarge, match="Content-Length"):
        asyncio.run(read_bounded_body(endless(), "200000000"))
    assert len(consumed) * 65_536 <= MAX_REQUEST_BODY_BYTES + 65_536  # refused on the header, nothing read


@pytest.mark.parametrize("body, content_type", [
    (b"{not json", "application/json"),
    (b"[1, 2]", "application/json"),
    (b"\xff\xfe", "application/json"),
    (b"", "application/json"),
    (b"payload=%7Bbad", "application/x-www-form-urlencoded"),
    (b"payload=%5B1%5D", "application/x-www-form-urlencoded"),
    (b"[" * 100_000, "application/json"),
])
def test_signed_junk_is_malformed_not_an_exception(body: bytes, content_type: str) -> None:
    with pytest.raises(SlackBodyMalformed):
        parse_signed_body(body, content_type)


def test_real_bodies_parse_as_bolt_parses_them() -> None:
    assert parse_signed_body(BODY, "application/x-www-form-urlencoded")["command"] == "/webhook-collect"
    event = json.dumps(VECTORS["event_callback_body"]).encode()
    assert parse_signed_body(event, "application/json; charset=utf-8")["type"] == "event_callback"
    form = b"payload=" + json.dumps({"type": "block_actions"}).encode().replace(b"{", b"%7B").replace(b"}", b"%7D")
    assert parse_signed_body(form, "application/x-www-form-urlencoded") == {"type": "block_actions"}
