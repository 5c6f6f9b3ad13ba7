"""The official Slack signing vector, checked with slack_sdk's verifier (the one bolt uses) on a pinned clock."""

from __future__ import annotations

import json

import pytest
from slack_sdk.signature import Clock, SignatureVerifier

from tests.conftest import TESTDATA_DIR
from tests.stubs.slack_api import sign_slack_request

VECTORS = json.loads((TESTDATA_DIR / "slack" / "slack_signature_vectors.json").read_text(encoding="utf-8"))
DOC_VECTOR = VECTORS["doc_vector"]


class PinnedClock(Clock):
    """The vector's timestamp is from 2018; the verifier's 5-minute window needs "now" pinned to it."""

    def __init__(self, now: float) -> None:
        self.pinned_now = now

    def now(self) -> float:
        return self.pinned_now


def verifier_at(seconds_after_vector: int) -> SignatureVerifier:
    return SignatureVerifier(DOC_VECTOR["signing_secret"], PinnedClock(int(DOC_VECTOR["timestamp"]) + seconds_after_vector))


def test_official_vector_signature_is_computed_exactly() -> None:
    signature = verifier_at(0).generate_signature(timestamp=DOC_VECTOR["timestamp"], body=DOC_VECTOR["body"])
    assert signature == DOC_VECTOR["expected_signature"]


def test_our_test_signer_reproduces_the_official_vector() -> None:
    headers = sign_slack_request(DOC_VECTOR["signing_secret"], DOC_VECTOR["body"], int(DOC_VECTOR["timestamp"]))
    assert headers == {"X-Slack-Request-Timestamp": DOC_VECTOR["timestamp"],
                       "X-Slack-Signature": DOC_VECTOR["expected_signature"]}


def test_official_vector_is_accepted_inside_the_window() -> None:
    headers = {"x-slack-request-timestamp": DOC_VECTOR["timestamp"], "x-slack-signature": DOC_VECTOR["expected_signature"]}
    assert verifier_at(0).is_valid_request(DOC_VECTOR["body"], headers)
    assert verifier_at(299).is_valid_request(DOC_VECTOR["body"], headers)


@pytest.mark.parametrize("body_suffix", ["------", " ", "&text=approve"])
def test_tampered_body_is_rejected(body_suffix: str) -> None:
    headers = {"x-slack-request-timestamp": DOC_VECTOR["timestamp"], "x-slack-signature": DOC_VECTOR["expected_signature"]}
    assert not verifier_at(0).is_valid_request(DOC_VECTOR["body"] + body_suffix, headers)


def test_stale_timestamp_is_rejected() -> None:
    headers = {"x-slack-request-timestamp": DOC_VECTOR["timestamp"], "x-slack-signature": DOC_VECTOR["expected_signature"]}
    assert not verifier_at(600).is_valid_request(DOC_VECTOR["body"], headers)


def test_wrong_secret_is_rejected() -> None:
    headers = {"x-slack-request-timestamp": DOC_VECTOR["timestamp"], "x-slack-signature": DOC_VECTOR["expected_signature"]}
    other = SignatureVerifier("another-secret-entirely", PinnedClock(int(DOC_VECTOR["timestamp"])))
    assert not other.is_valid_request(DOC_VECTOR["body"], headers)
