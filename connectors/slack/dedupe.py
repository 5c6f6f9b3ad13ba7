"""Bolt middleware that lets each delivery through once: Events API redeliveries and replayed commands alike."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import BoltRequest, BoltResponse

from connectors.common.dedupe import EventDedupeStore

logger = logging.getLogger(__name__)

# Interactive payloads that act (a button press, a modal submission, a shortcut); block_suggestion is a read.
ACTING_INTERACTIVE_TYPES = frozenset({"block_actions", "view_submission", "shortcut", "message_action",
                                      "interactive_message"})


def request_dedupe_key(request: BoltRequest) -> str | None:
    """The claim key of a delivery, or None for requests that are not deduplicated (url_verification, ssl_check).

    Events carry Slack's event_id. Slash commands and interactive payloads carry no delivery id, and Slack never
    retries them, so a second copy is a replay: the key is a hash of the signature timestamp and the signed body,
    which a replayer cannot change without breaking the signature (and after five minutes the signature check
    refuses it anyway). Two genuine presses always differ (trigger_id, action_ts).
    """
    body: Any = request.body if isinstance(request.body, dict) else {}
    if body.get("type") == "event_callback":
        event_id = body.get("event_id")
        return str(event_id) if event_id else None
    if not (body.get("command") or body.get("type") in ACTING_INTERACTIVE_TYPES):
        return None
    timestamp = (request.headers.get("x-slack-request-timestamp") or [""])[0]
    # Socket Mode hands bolt a parsed body (no raw text); its canonical JSON stands in for the bytes.
    signed_text = request.raw_body or json.dumps(body, sort_keys=True, ensure_ascii=False)
    digest = hashlib.sha256(f"{timestamp}:{signed_text}".encode()).hexdigest()
    return f"request:{digest}"


def build_dedupe_middleware(store: EventDedupeStore) -> Callable[..., BoltResponse]:
    """A global middleware; it runs after bolt's signature check, so unsigned requests cannot claim a key."""

    def skip_redelivered_requests(request: BoltRequest, next_: Callable[[], BoltResponse]) -> BoltResponse:
        key = request_dedupe_key(request)
        if key is None or store.claim("slack", key):
            return next_()
        retry_number = (request.headers.get("x-slack-retry-num") or ["0"])[0]
        retry_reason = (request.headers.get("x-slack-retry-reason") or [""])[0]
        logger.info("slack delivery %s already processed; ignoring it (retry %s, %s)", key, retry_number,
                    retry_reason or "no reason given")
        # 200 tells Slack to stop retrying; the first delivery's answer stands.
        return BoltResponse(status=200, body="")

    return skip_redelivered_requests
