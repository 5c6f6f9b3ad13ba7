"""Build the bolt App: Web API client from settings, dedupe middleware, one handler module per event kind."""

from __future__ import annotations

import logging
import re
from concurrent.futures import Executor, ThreadPoolExecutor
from typing import Any

from slack_bolt import App, BoltRequest, BoltResponse
from slack_bolt.error import BoltError
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from connectors.common.dedupe import EventDedupeStore, InboxSweeper, ReclaimedEvent
from connectors.slack import (
    handle_action_button,
    handle_direct_message,
    handle_edit_submission,
    handle_file_share,
    handle_mention,
    handle_slash_command,
)
from connectors.slack.context import (
    SLACK_HTTP_TIMEOUT_SECONDS,
    AnswerTurn,
    DecideAction,
    RecordFeedback,
    SlackConnectorContext,
    acknowledge_event,
    default_answer_turn,
    default_decide_action,
    default_record_feedback,
)
from connectors.slack.dedupe import DeliveryTrackingExecutor, build_dedupe_middleware, replay_delivery
from connectors.slack.store import SlackConnectorStore
from salesbot.settings import Settings, get_settings

logger = logging.getLogger(__name__)

# Agent turns are CPU-bound on small machines; a few workers keep answers flowing without thrashing.
DEFAULT_LISTENER_WORKERS = 8


class SlackConfigError(RuntimeError):
    """A missing or wrong Slack setting, with the environment variable to fix."""


class SalesbotSlackApp(App):
    """bolt's App, keeping the signing secret for the HTTP server, which checks raw bodies before bolt parses them."""

    def __init__(self, *, signing_secret: str | None = None, **options: Any) -> None:
        super().__init__(signing_secret=signing_secret, **options)
        self.http_signing_secret = signing_secret or ""
        # The durable inbox (build_slack_app sets both): the server starts the sweeper, tests may sweep by hand.
        self.inbox_sweeper: InboxSweeper | None = None
        self.delivery_tracker: DeliveryTrackingExecutor | None = None

    def dispatch(self, req: BoltRequest) -> BoltResponse:
        """bolt's dispatch (middleware, then listeners, on this thread); then the delivery the dedupe middleware
        claimed stops collecting this thread's listener tasks, and is finished once those have ended."""
        try:
            return super().dispatch(req)
        finally:
            if self.delivery_tracker is not None:
                self.delivery_tracker.end_dispatch()


def build_web_client(settings: Settings) -> WebClient:
    if not settings.slack_bot_token:
        raise SlackConfigError("SALESBOT_SLACK_BOT_TOKEN is not set: give the bot token (xoxb-…) of the Slack app.")
    base_url = settings.slack_api_url if settings.slack_api_url.endswith("/") else settings.slack_api_url + "/"
    return WebClient(token=settings.slack_bot_token, base_url=base_url, timeout=SLACK_HTTP_TIMEOUT_SECONDS)


def build_slack_app(
    *,
    settings: Settings | None = None,
    answer_turn: AnswerTurn = default_answer_turn,
    decide_action: DecideAction = default_decide_action,
    record_feedback: RecordFeedback = default_record_feedback,
    store: SlackConnectorStore | None = None,
    dedupe_store: EventDedupeStore | None = None,
    client: WebClient | None = None,
    listener_executor: Executor | None = None,
    socket_mode: bool = False,
) -> SalesbotSlackApp:
    """The bolt App with every salesbot listener; agent functions default to agent.service (tests pass fakes)."""
    settings = settings or get_settings()
    if not socket_mode and not settings.slack_signing_secret:
        raise SlackConfigError(
            "SALESBOT_SLACK_SIGNING_SECRET is not set: HTTP mode verifies every request with the app's signing secret."
        )
    client = client or build_web_client(settings)
    dedupe_store = dedupe_store or EventDedupeStore.for_settings(settings)
    # Every listener task is attributed to its delivery, which is finished in the inbox when its work has ended.
    tracking_executor = DeliveryTrackingExecutor(
        listener_executor or ThreadPoolExecutor(max_workers=DEFAULT_LISTENER_WORKERS,
                                                thread_name_prefix="slack-listener"),
        dedupe_store)
    try:
        # With a client, bolt checks the token with auth.test now (fail fast) and learns the bot's own ids,
        # which it needs to ignore the bot's own messages.
        app = SalesbotSlackApp(
            signing_secret=settings.slack_signing_secret or None,
            client=client,
            listener_executor=tracking_executor,
        )
    except (BoltError, SlackApiError, SlackClientError, OSError) as error:
        raise SlackConfigError(
            f"Slack rejected or could not be reached to check the bot token ({error}); "
            f"check SALESBOT_SLACK_BOT_TOKEN and SALESBOT_SLACK_API_URL ({client.base_url})."
        ) from error
    context = SlackConnectorContext(
        answer_turn=answer_turn,
        decide_action=decide_action,
        record_feedback=record_feedback,
        store=store or SlackConnectorStore(),
        roles_file=settings.roles_file,
        default_role=settings.default_role,
    )
    app.delivery_tracker = tracking_executor
    app.use(build_dedupe_middleware(dedupe_store, tracking_executor))

    def replay(event: ReclaimedEvent) -> None:
        replay_delivery(app, event)

    app.inbox_sweeper = InboxSweeper(dedupe_store, "slack", tracking_executor.in_flight, replay,
                                     settings.event_sweep_every_s)
    # handle_file_share before handle_direct_message: both listen to `message`, and bolt runs the first match.
    for handler_module in (handle_mention, handle_file_share, handle_direct_message, handle_slash_command,
                           handle_action_button, handle_edit_submission):
        handler_module.register(app, context)
    # Registered last: events we subscribe to but do not use are still acknowledged, so Slack does not retry them.
    app.event(re.compile(".*"))(acknowledge_event)
    return app
