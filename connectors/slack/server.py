"""Serve the Slack app: HTTP (Starlette under uvicorn, POST /slack/events) or Socket Mode."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from slack_bolt import App
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_bolt.adapter.starlette.handler import to_bolt_request, to_starlette_response
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from connectors.slack.app import SlackConfigError, build_slack_app
from connectors.slack.request_guard import (
    SlackBodyMalformed,
    SlackBodyTooLarge,
    parse_signed_body,
    read_bounded_body,
    signature_problem,
)
from salesbot.settings import Settings, get_settings

logger = logging.getLogger(__name__)

SLACK_EVENTS_PATH = "/slack/events"


def create_asgi_app(slack_app: App | None = None, *, signing_secret: str | None = None) -> Starlette:
    """ASGI app factory (`uvicorn --factory connectors.slack.server:create_asgi_app`).

    Every POST is read with a size limit and its signature checked on the raw bytes before anything decodes or
    parses it: 413 for an oversized body, 401 for an unsigned, stale or badly signed one, 400 for signed junk.
    The secret is the one the app was built with (build_slack_app), unless given. While the ASGI app runs (its
    lifespan), the inbox sweeper replays deliveries whose process died (connectors/common/dedupe.py).
    """
    bolt_app = slack_app or build_slack_app()
    secret = signing_secret or getattr(bolt_app, "http_signing_secret", "")
    if not secret:
        raise SlackConfigError(
            "SALESBOT_SLACK_SIGNING_SECRET is not set: HTTP mode verifies every request with the app's signing secret."
        )

    async def slack_events(request: Request) -> Response:
        try:
            body = await read_bounded_body(request.stream(), request.headers.get("content-length"))
        except SlackBodyTooLarge as error:
            logger.warning("slack request refused unread: %s", error)
            return PlainTextResponse("request body too large", status_code=413)
        problem = signature_problem(secret, body, request.headers.get("x-slack-request-timestamp"),
                                    request.headers.get("x-slack-signature"), time.time())
        if problem is not None:
            logger.warning("slack request refused (401): %s", problem)
            return PlainTextResponse("invalid or missing Slack signature", status_code=401)
        try:
            parse_signed_body(body, request.headers.get("content-type"))
        except SlackBodyMalformed as error:
            logger.warning("signed slack request refused (400): %s", error)
            return PlainTextResponse("malformed request body", status_code=400)
        try:
            # bolt's dispatch is synchronous (signature check, dedupe claim in SQLite, ack); running it in the
            # thread pool keeps the event loop free, so one slow ack never delays the others.
            bolt_response = await run_in_threadpool(bolt_app.dispatch, to_bolt_request(request, body))
        except Exception:
            # The details stay in our log; the caller gets no traceback.
            logger.exception("slack request could not be dispatched")
            return PlainTextResponse("internal error", status_code=500)
        return to_starlette_response(bolt_response)

    async def health(_request: Request) -> Response:
        return PlainTextResponse("ok")

    sweeper = getattr(bolt_app, "inbox_sweeper", None)

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        if sweeper is not None:
            sweeper.start()
        try:
            yield
        finally:
            if sweeper is not None:
                sweeper.stop()

    return Starlette(routes=[
        Route(SLACK_EVENTS_PATH, slack_events, methods=["POST"]),
        Route("/healthz", health, methods=["GET"]),
    ], lifespan=lifespan)


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
            handler = build_socket_mode_handler()
            sweeper = getattr(handler.app, "inbox_sweeper", None)
            if sweeper is not None:
                sweeper.start()
            handler.start()
        else:
            uvicorn.run(create_asgi_app(), host=host, port=port, log_level="info")
    except SlackConfigError as error:
        raise SystemExit(f"salesbot serve slack: {error}") from None
