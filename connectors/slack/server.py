"""Serve the Slack app: HTTP (Starlette under uvicorn, POST /slack/events) or Socket Mode."""

from __future__ import annotations

import logging

from slack_bolt import App
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_bolt.adapter.starlette.handler import to_bolt_request, to_starlette_response
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from connectors.slack.app import SlackConfigError, build_slack_app
from salesbot.settings import Settings, get_settings

logger = logging.getLogger(__name__)

SLACK_EVENTS_PATH = "/slack/events"


def create_asgi_app(slack_app: App | None = None) -> Starlette:
    """ASGI app factory (`uvicorn --factory connectors.slack.server:create_asgi_app`)."""
    bolt_app = slack_app or build_slack_app()

    async def slack_events(request: Request) -> Response:
        body = await request.body()
        # bolt's dispatch is synchronous (signature check, dedupe claim in SQLite, ack); running it in the
        # thread pool keeps the event loop free, so one slow ack never delays the others.
        bolt_response = await run_in_threadpool(bolt_app.dispatch, to_bolt_request(request, body))
        return to_starlette_response(bolt_response)

    async def health(_request: Request) -> Response:
        return PlainTextResponse("ok")

    return Starlette(routes=[
        Route(SLACK_EVENTS_PATH, slack_events, methods=["POST"]),
        Route("/healthz", health, methods=["GET"]),
    ])


def build_socket_mode_handler(settings: Settings | None = None, slack_app: App | None = None) -> SocketModeHandler:
    """Socket Mode needs an app-level token; checked before anything connects."""
    settings = settings or get_settings()
    if not settings.slack_app_token:
        raise SlackConfigError(
            "Socket Mode needs SALESBOT_SLACK_APP_TOKEN: an app-level token (xapp-…) with the connections:write scope."
        )
    if not settings.slack_app_token.startswith("xapp-"):
        raise SlackConfigError(
            "SALESBOT_SLACK_APP_TOKEN must be an app-level token starting with xapp- (not the xoxb- bot token)."
        )
    bolt_app = slack_app or build_slack_app(settings=settings, socket_mode=True)
    return SocketModeHandler(bolt_app, app_token=settings.slack_app_token)


def run_slack(port: int, socket_mode: bool, host: str = "0.0.0.0") -> None:
    """`salesbot serve slack`: blocks until interrupted; configuration problems exit with a clear message."""
    import uvicorn

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        if socket_mode:
            logger.info("starting Slack Socket Mode")
            build_socket_mode_handler().start()
        else:
            uvicorn.run(create_asgi_app(), host=host, port=port, log_level="info")
    except SlackConfigError as error:
        raise SystemExit(f"salesbot serve slack: {error}") from None
