"""The WeCom callback ASGI app: verify and decrypt at once, answer 200 within WeCom's 5 s, work in the background."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from functools import partial
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import PlainTextResponse, Response
from starlette.concurrency import run_in_threadpool

from connectors.common.dedupe import EventDedupeStore, InboxSweeper, InFlightDeliveries, ReclaimedEvent
from connectors.wecom.context import (
    AnswerTurn,
    DecideAction,
    WeComHandlerContext,
    answer_turn_with_agent_service,
    decide_action_with_agent_service,
)
from connectors.wecom.crypto import WeComCallbackRejected, WeComCallbackStale, WeComCrypto
from connectors.wecom.handle_card_event import handle_card_event
from connectors.wecom.handle_media_message import handle_media_message
from connectors.wecom.handle_text_message import handle_text_message
from connectors.wecom.models import (
    CallbackQuery,
    InboundMessage,
    WeComCardEvent,
    WeComMediaMessage,
    WeComTextMessage,
    WeComUnsupportedMessage,
    inbound_message_from_json,
)
from connectors.wecom.parse import WeComMessageMalformed, parse_callback_xml
from connectors.wecom.render import render_plain_message
from connectors.wecom.sender import WeComSender, build_sender
from connectors.wecom.session_store import SqlSessionStorage
from salesbot.roles import approver_user_ids, role_for_user
from salesbot.settings import Settings, get_settings

logger = logging.getLogger(__name__)

CALLBACK_PATH = "/wecom/callback"
HEALTH_PATH = "/healthz"
DEFAULT_WORKER_THREADS = 4
SHUTDOWN_GRACE_S = 60.0
MAX_CALLBACK_BODY_BYTES = 1_000_000  # WeCom callbacks are a few KB; refuse anything absurd before decrypting
STALE_CALLBACK_ANSWER = "stale callback: its timestamp is missing or more than 5 minutes from this server's clock"
UNSUPPORTED_MESSAGE_HINT = ("我能读取文字、图片和文件消息，请用文字提问或发送通话记录/截图。\n"
                            "I read text, image and file messages; type a question or send a transcript or screenshot.")


class WeComCallbackService:
    """Accepts verified callbacks and runs their handling on worker threads, one conversation at a time.

    Each message is claimed in the connectors' durable inbox with its parsed form as the payload, and finished there
    once it has been handled (the answer sent); the sweeper (`inbox_sweeper`, started by the app's lifespan) renews
    this process's leases and replays messages whose process died (connectors/common/dedupe.py).
    """

    def __init__(self, crypto: WeComCrypto, dedupe_store: EventDedupeStore, context: WeComHandlerContext,
                 worker_threads: int = DEFAULT_WORKER_THREADS, sweep_interval_s: float | None = None) -> None:
        self.crypto = crypto
        self.dedupe_store = dedupe_store
        self.context = context
        self.in_flight = InFlightDeliveries()
        self.inbox_sweeper = InboxSweeper(dedupe_store, "wecom", self.in_flight, self.replay,
                                          sweep_interval_s or dedupe_store.lease_s / 4)
        self._executor = ThreadPoolExecutor(max_workers=worker_threads, thread_name_prefix="wecom-worker")
        # Messages of one conversation run in order, so "确认 X" never overtakes the turn that proposed X.
        self._conversation_locks: dict[str, threading.Lock] = {}
        self._conversation_locks_guard = threading.Lock()
        self._pending = 0
        self._idle = threading.Condition()

    def accept_callback(self, query: CallbackQuery, body: bytes) -> InboundMessage | None:
        """Verify, decrypt, parse and deduplicate; queue the work. Returns the message when it was queued."""
        plaintext = self.crypto.decrypt_callback(body, query)
        message = parse_callback_xml(plaintext)
        if isinstance(message, WeComUnsupportedMessage) and not message.deserves_reply:
            return None
        if not self.dedupe_store.claim("wecom", message.dedupe_key, payload=message.model_dump_json()):
            logger.info("duplicate WeCom delivery %s ignored", message.dedupe_key)
            return None
        try:
            self._submit(message)
        except RuntimeError:
            # The executor is shutting down: let WeCom's retry reach the next process.
            self.dedupe_store.release("wecom", message.dedupe_key)
            raise
        return message

    def replay(self, event: ReclaimedEvent) -> None:
        """Handle a message taken over from a process that died (the sweeper's callback): queued like a fresh one."""
        self._submit(inbound_message_from_json(event.payload))

    def process_message(self, message: InboundMessage) -> None:
        """Handle one message on a worker thread; nothing escapes (a worker must survive any message)."""
        try:
            with self._conversation_lock(message.thread_id):
                if isinstance(message, WeComTextMessage):
                    handle_text_message(message, self.context)
                elif isinstance(message, WeComCardEvent):
                    handle_card_event(message, self.context)
                elif isinstance(message, WeComMediaMessage):
                    handle_media_message(message, self.context)
                else:
                    self.context.sender.deliver(message.from_user, render_plain_message(UNSUPPORTED_MESSAGE_HINT))
        except Exception:
            logger.exception("handling WeCom message %s failed", message.dedupe_key)

    def wait_until_idle(self, timeout_s: float) -> bool:
        """True once every accepted message has been handled (tests and graceful shutdown use it)."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout=timeout_s)

    def shutdown(self, wait: bool = False) -> None:
        self._executor.shutdown(wait=wait, cancel_futures=not wait)

    def _submit(self, message: InboundMessage) -> None:
        with self._idle:
            self._pending += 1
        self.in_flight.start(message.dedupe_key)
        try:
            self._executor.submit(self._process_and_count, message)
        except RuntimeError:
            self.in_flight.end(message.dedupe_key)
            self._finished_one()
            raise

    def _process_and_count(self, message: InboundMessage) -> None:
        try:
            self.process_message(message)
            self._finish_delivery(message.dedupe_key)
        finally:
            self.in_flight.end(message.dedupe_key)
            self._finished_one()

    def _finish_delivery(self, dedupe_key: str) -> None:
        try:
            self.dedupe_store.finish("wecom", dedupe_key)
        except Exception:
            # The answer is out; a replay after the lease would send it again (at-least-once), which beats losing it.
            logger.exception("could not mark WeCom delivery %s done", dedupe_key)

    def _finished_one(self) -> None:
        with self._idle:
            self._pending -= 1
            self._idle.notify_all()

    def _conversation_lock(self, thread_id: str) -> threading.Lock:
        with self._conversation_locks_guard:
            return self._conversation_locks.setdefault(thread_id, threading.Lock())


def create_wecom_app(
    settings: Settings | None = None,
    *,
    answer_turn: AnswerTurn = answer_turn_with_agent_service,
    decide_action: DecideAction = decide_action_with_agent_service,
    role_for: Callable[[str], str] | None = None,
    approvers_for: Callable[[str], list[str]] | None = None,
    sender: WeComSender | None = None,
    dedupe_store: EventDedupeStore | None = None,
    worker_threads: int = DEFAULT_WORKER_THREADS,
    clock: Callable[[], float] = time.time,
) -> FastAPI:
    """The ASGI app serving GET (URL verification) and POST (messages) on /wecom/callback.

    Callbacks whose timestamp is more than five minutes from `clock()` (Unix seconds) are refused with 403.
    Raises WeComConfigurationError when the token, EncodingAESKey or corp id are missing or malformed.
    """
    settings = settings or get_settings()
    crypto = WeComCrypto(settings.wecom_token, settings.wecom_aes_key, settings.wecom_corp_id, clock=clock)
    owned_stores: list[Any] = []
    if sender is None:
        token_store = SqlSessionStorage.for_settings(settings)
        owned_stores.append(token_store)
        sender = build_sender(settings, session=token_store)
    if dedupe_store is None:
        dedupe_store = EventDedupeStore.for_settings(settings)
        owned_stores.append(dedupe_store)
    context = WeComHandlerContext(
        sender=sender, answer_turn=answer_turn, decide_action=decide_action,
        role_for=role_for or partial(role_for_user, roles_file=settings.roles_file, default_role=settings.default_role),
        approvers_for=approvers_for or partial(approver_user_ids, roles_file=settings.roles_file),
    )
    service = WeComCallbackService(crypto, dedupe_store, context, worker_threads=worker_threads,
                                   sweep_interval_s=settings.event_sweep_every_s)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        service.inbox_sweeper.start()
        yield
        service.inbox_sweeper.stop()
        # Accepted messages are already marked handled, so finish them rather than drop them on shutdown.
        if not service.wait_until_idle(SHUTDOWN_GRACE_S):
            logger.warning("stopping with WeCom messages still being handled")
        service.shutdown(wait=False)
        for store in owned_stores:
            store.close()

    app = FastAPI(title="salesbot WeCom callback", lifespan=lifespan, docs_url=None, redoc_url=None,
                  openapi_url=None)
    app.state.wecom_service = service

    @app.get(HEALTH_PATH)
    def health() -> Response:
        """Liveness for a load balancer in front of several processes (and tests); the stores opened at creation."""
        return PlainTextResponse("ok")

    @app.get(CALLBACK_PATH)
    def verify_callback_url(request: Request) -> Response:
        """WeCom's URL check when the callback is saved in the admin console: echo the decrypted echostr."""
        query = _callback_query(request)
        if query is None or not query.echostr:
            return PlainTextResponse("missing msg_signature, timestamp, nonce or echostr", status_code=400)
        try:
            return PlainTextResponse(crypto.verify_url(query))
        except WeComCallbackStale as error:
            logger.warning("WeCom URL verification refused: %s", error)
            return PlainTextResponse(STALE_CALLBACK_ANSWER, status_code=403)
        except WeComCallbackRejected as error:
            logger.warning("WeCom URL verification rejected: %s", error)
            return PlainTextResponse("signature check failed", status_code=403)

    @app.post(CALLBACK_PATH)
    async def receive_callback(request: Request) -> Response:
        """Answer at once with an empty 200 (WeCom retries after 5 s); the reply goes out via the message API."""
        query = _callback_query(request)
        if query is None:
            return PlainTextResponse("missing msg_signature, timestamp or nonce", status_code=400)
        body = await request.body()
        if len(body) > MAX_CALLBACK_BODY_BYTES:
            return PlainTextResponse("callback body too large", status_code=413)
        try:
            await run_in_threadpool(service.accept_callback, query, body)
        except WeComCallbackStale as error:
            logger.warning("WeCom callback refused: %s", error)
            return PlainTextResponse(STALE_CALLBACK_ANSWER, status_code=403)
        except WeComCallbackRejected as error:
            logger.warning("WeCom callback rejected: %s", error)
            return PlainTextResponse("signature check failed", status_code=403)
        except WeComMessageMalformed as error:
            logger.warning("WeCom callback malformed: %s", error)
            return PlainTextResponse("malformed message", status_code=400)
        except Exception:
            # A 5xx makes WeCom retry, which is right when our own storage or queue failed.
            logger.exception("WeCom callback could not be accepted")
            return PlainTextResponse("temporarily unavailable", status_code=503)
        return Response(content=b"", status_code=200)

    return app


def _callback_query(request: Request) -> CallbackQuery | None:
    params = request.query_params
    if not all(params.get(name) for name in ("msg_signature", "timestamp", "nonce")):
        return None
    return CallbackQuery(
        msg_signature=params["msg_signature"], timestamp=params["timestamp"], nonce=params["nonce"],
        echostr=params.get("echostr"),
    )

