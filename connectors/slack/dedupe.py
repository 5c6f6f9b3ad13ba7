"""Bolt middleware that lets each Events API delivery through once, however often Slack redelivers it."""

from __future__ import annotations

import logging
from collections.abc import Callable

from slack_bolt import BoltRequest, BoltResponse

from connectors.common.dedupe import EventDedupeStore

logger = logging.getLogger(__name__)


def build_dedupe_middleware(store: EventDedupeStore) -> Callable[..., BoltResponse]:
    """A global middleware; it runs after bolt's signature check, so unsigned requests cannot claim an id."""

    def skip_redelivered_events(request: BoltRequest, next_: Callable[[], BoltResponse]) -> BoltResponse:
        body = request.body if isinstance(request.body, dict) else {}
        event_id = body.get("event_id")
        if body.get("type") != "event_callback" or not event_id:
            return next_()
        if store.claim("slack", str(event_id)):
            return next_()
        retry_number = (request.headers.get("x-slack-retry-num") or ["0"])[0]
        retry_reason = (request.headers.get("x-slack-retry-reason") or [""])[0]
        logger.info("slack event %s already processed; ignoring delivery (retry %s, %s)", event_id, retry_number,
                    retry_reason or "no reason given")
        # 200 tells Slack to stop retrying; the first delivery's answer stands.
        return BoltResponse(status=200, body="")

    return skip_redelivered_events
