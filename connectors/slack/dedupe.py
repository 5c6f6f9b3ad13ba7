"""Bolt middleware that lets each delivery through once (Events API redeliveries and replayed commands alike), and
the durable inbox around it: a claimed delivery is finished when all the listener work it started has ended, and a
delivery whose process died is replayed here (connectors/common/dedupe.py explains the leases and the trade-off)."""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future
from contextlib import contextmanager
from typing import Any

from slack_bolt import App, BoltRequest, BoltResponse

from connectors.common.dedupe import EventDedupeStore, InFlightDeliveries, ReclaimedEvent

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


# Set only by `replay_delivery`, in this process, on a request it builds: never read from anything Slack sends.
REPLAY_CONTEXT_KEY = "salesbot_replayed_delivery"


def replay_payload(request: BoltRequest) -> str:
    """What a replay needs: bolt's parsed body (an event envelope, a slash command's fields, an interactive payload)
    without Slack's legacy verification token, as JSON."""
    body: Any = request.body if isinstance(request.body, dict) else {}
    return json.dumps({name: value for name, value in body.items() if name != "token"}, ensure_ascii=False)


class DeliveryTrackingExecutor(Executor):
    """bolt's listener executor, attributing each task to the delivery whose dispatch submitted it (bolt runs the
    middleware, then the listeners, on the dispatching thread, and submits the ack listener and every lazy listener
    from there). When the dispatch and every task it started have ended — the answer posted, or the handler's
    failure logged and told to the user — the delivery is finished in the inbox; until then its key is in flight and
    its lease renewed. The middleware begins a delivery's dispatch; the app's `dispatch` ends it (SalesbotSlackApp),
    because bolt's middleware returns before the listeners run."""

    def __init__(self, inner: Executor, store: EventDedupeStore,
                 in_flight: InFlightDeliveries | None = None) -> None:
        self.inner = inner
        self.store = store
        self.in_flight = in_flight or InFlightDeliveries()
        self._current = threading.local()

    def begin_dispatch(self, event_key: str) -> None:
        """Tasks submitted from this thread until `end_dispatch` belong to this delivery."""
        self.end_dispatch()
        self.in_flight.start(event_key)
        self._current.event_key = event_key

    def end_dispatch(self) -> None:
        event_key = getattr(self._current, "event_key", None)
        if event_key is not None:
            self._current.event_key = None
            self._end(event_key)

    @contextmanager
    def dispatching(self, event_key: str) -> Iterator[None]:
        """One delivery's whole dispatch (tests, and callers that run listeners themselves)."""
        self.begin_dispatch(event_key)
        try:
            yield
        finally:
            self.end_dispatch()

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        event_key = getattr(self._current, "event_key", None)
        if event_key is None:
            return self.inner.submit(fn, *args, **kwargs)
        self.in_flight.start(event_key)

        def run_for_delivery() -> Any:
            self._current.event_key = event_key
            try:
                return fn(*args, **kwargs)
            finally:
                self._current.event_key = None
                self._end(event_key)

        try:
            return self.inner.submit(run_for_delivery)
        except BaseException:
            # Not queued (shutting down): not handled either, so the claim stays processing and expires for a replay.
            self.in_flight.end(event_key)
            raise

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self.inner.shutdown(wait=wait, cancel_futures=cancel_futures)

    def _end(self, event_key: str) -> None:
        if not self.in_flight.end(event_key):
            return
        try:
            self.store.finish("slack", event_key)
        except Exception:
            # The answer is out; a replay after the lease would post it again (at-least-once), which beats losing it.
            logger.exception("could not mark slack delivery %s done", event_key)


def replay_delivery(app: App, event: ReclaimedEvent) -> None:
    """Dispatch a taken-over delivery through bolt again: the same middleware, listeners and lazy listeners as a
    fresh one. Its body was signature-checked when it first arrived and comes from our own inbox, so it is
    dispatched as a Socket Mode request (bolt checks no HTTP signature on those); its ack goes nowhere."""
    body = json.loads(event.payload)
    request = BoltRequest(body=body, mode="socket_mode", context={REPLAY_CONTEXT_KEY: event.event_key})
    response = app.dispatch(request)
    if response.status >= 400:
        logger.warning("replayed slack delivery %s was answered %s by its listeners", event.event_key,
                       response.status)


def build_dedupe_middleware(store: EventDedupeStore,
                            tracker: DeliveryTrackingExecutor | None = None) -> Callable[..., BoltResponse]:
    """A global middleware; it runs after bolt's signature check, so unsigned requests cannot claim a key. With a
    tracker, a delivery is claimed with its payload and lease and finished when its work has ended (the app's
    dispatch must call `tracker.end_dispatch()` when it returns); without one, it is marked handled at once."""

    def skip_redelivered_requests(request: BoltRequest, next_: Callable[[], BoltResponse]) -> BoltResponse:
        if tracker is not None and request.context.get(REPLAY_CONTEXT_KEY):
            # Already taken over for this process by the sweeper (reclaim_expired): no claim, just handle it.
            tracker.begin_dispatch(str(request.context[REPLAY_CONTEXT_KEY]))
            return next_()
        key = request_dedupe_key(request)
        if key is None:
            return next_()
        if tracker is None:
            if store.claim("slack", key):
                return next_()
        elif store.claim("slack", key, payload=replay_payload(request)):
            tracker.begin_dispatch(key)  # ended by SalesbotSlackApp.dispatch, after the listeners ran
            return next_()
        retry_number = (request.headers.get("x-slack-retry-num") or ["0"])[0]
        retry_reason = (request.headers.get("x-slack-retry-reason") or [""])[0]
        logger.info("slack delivery %s already claimed; ignoring it (retry %s, %s)", key, retry_number,
                    retry_reason or "no reason given")
        # 200 tells Slack to stop retrying; the first delivery's answer stands.
        return BoltResponse(status=200, body="")

    return skip_redelivered_requests
