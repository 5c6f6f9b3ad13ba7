"""A stub WeCom API on 127.0.0.1 (gettoken, message/send, media/upload, media/get, update_template_card) that records
calls and can expire its tokens,
plus the other side of a callback: an app server in a thread and a client that encrypts like WeCom."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx

from tests.stubs.held_requests import RequestHolds

STUB_CORP_ID = "ww1436e0e65a779aee"
STUB_SECRET = "stub-app-secret"
STUB_AGENT_ID = "1000002"
ERRCODE_INVALID_ACCESS_TOKEN = 40014
ERRCODE_EXPIRED_ACCESS_TOKEN = 42001
ERRCODE_INVALID_SECRET = 40001
ERRCODE_INVALID_MEDIA_ID = 40007
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@dataclass
class RecordedCall:
    """One request the stub received."""

    path: str
    query: dict[str, str]
    json_body: dict[str, Any] | None = None
    raw_body: bytes = b""
    errcode: int = 0
    received_at: float = field(default_factory=time.monotonic)


class WeComApiStub:
    """Plays qyapi.weixin.qq.com/cgi-bin/: issues tokens, accepts messages and uploads, and records everything."""

    def __init__(self, corp_id: str = STUB_CORP_ID, secret: str = STUB_SECRET) -> None:
        self.corp_id = corp_id
        self.secret = secret
        self.calls: list[RecordedCall] = []
        self._valid_tokens: set[str] = set()
        self._tokens_issued = 0
        self.tokens_work = True  # False: gettoken still answers, but its tokens are refused at once
        self._media_uploaded = 0
        self.media: dict[str, tuple[str, bytes]] = {}  # media_id -> (file name, bytes), served by media/get
        self._changed = threading.Condition()
        self.holds = RequestHolds()  # requests held unanswered and not recorded (never delivered)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._thread = threading.Thread(target=self._server.serve_forever, name="wecom-api-stub", daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/cgi-bin/"

    def start(self) -> WeComApiStub:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.holds.release_all()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)

    def __enter__(self) -> WeComApiStub:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    # ---- what tests read -------------------------------------------------------------------------------
    def calls_to(self, path_suffix: str) -> list[RecordedCall]:
        with self._changed:
            return [call for call in self.calls if call.path.endswith(path_suffix)]

    def sent_messages(self) -> list[dict[str, Any]]:
        """Bodies of accepted message/send calls, in arrival order."""
        with self._changed:
            return list(self._sent_locked())

    def sent_markdown(self) -> list[str]:
        return [message["markdown"]["content"] for message in self.sent_messages() if message.get("msgtype") == "markdown"]

    def wait_for_messages(self, count: int, timeout_s: float = 30.0) -> list[dict[str, Any]]:
        """Block until at least `count` messages were sent (the connector replies asynchronously)."""
        return self.wait_until(lambda messages: len(messages) >= count, timeout_s)

    def wait_until(self, condition: Callable[[list[dict[str, Any]]], bool], timeout_s: float = 30.0
                   ) -> list[dict[str, Any]]:
        """Block until the sent messages satisfy `condition` (or the timeout passes); returns them."""
        with self._changed:
            self._changed.wait_for(lambda: condition(self._sent_locked()), timeout=timeout_s)
            return list(self._sent_locked())

    def wait_for_markdown_to(self, user_id: str, count: int, timeout_s: float = 30.0) -> list[str]:
        """The Markdown texts sent to one user (cards and images left out), once at least `count` arrived or the
        timeout passed."""
        return markdown_texts_to(self.wait_until(lambda messages: len(markdown_texts_to(messages, user_id)) >= count,
                                                 timeout_s), user_id)

    def expire_all_tokens(self) -> None:
        """Make every issued token invalid, as WeCom does after 7200 s, to exercise the refresh path."""
        with self._changed:
            self._valid_tokens.clear()

    def _sent_locked(self) -> list[dict[str, Any]]:
        return [call.json_body for call in self.calls
                if call.path.endswith("/message/send") and call.errcode == 0 and call.json_body]

    # ---- the fake API ----------------------------------------------------------------------------------
    def _handle(self, method: str, raw_path: str, body: bytes) -> tuple[int, dict[str, Any]]:
        parts = urlsplit(raw_path)
        query = {key: values[0] for key, values in parse_qs(parts.query).items()}
        json_body: dict[str, Any] | None = None
        if body and not parts.path.endswith("/media/upload"):
            try:
                json_body = json.loads(body.decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError):
                return 200, {"errcode": 47001, "errmsg": "data format error"}
        with self._changed:
            response = self._respond_locked(parts.path, query, json_body, body)
            self.calls.append(RecordedCall(path=parts.path, query=query, json_body=json_body, raw_body=body,
                                           errcode=int(response["errcode"])))
            self._changed.notify_all()
        return 200, response

    def _respond_locked(self, path: str, query: dict[str, str], json_body: dict[str, Any] | None,
                        body: bytes) -> dict[str, Any]:
        if path.endswith("/gettoken"):
            if query.get("corpid") != self.corp_id or query.get("corpsecret") != self.secret:
                return {"errcode": ERRCODE_INVALID_SECRET, "errmsg": "invalid credential"}
            self._tokens_issued += 1
            token = f"stub-token-{self._tokens_issued}"
            if self.tokens_work:
                self._valid_tokens.add(token)
            return {"errcode": 0, "errmsg": "ok", "access_token": token, "expires_in": 7200}
        token = query.get("access_token", "")
        if token not in self._valid_tokens:
            errcode = ERRCODE_EXPIRED_ACCESS_TOKEN if token.startswith("stub-token-") else ERRCODE_INVALID_ACCESS_TOKEN
            return {"errcode": errcode, "errmsg": "access_token expired or invalid"}
        if path.endswith("/message/send"):
            if not json_body or not json_body.get("touser") or not json_body.get("msgtype"):
                return {"errcode": 40008, "errmsg": "invalid message type"}
            return {"errcode": 0, "errmsg": "ok", "msgid": f"stub-msg-{len(self.calls)}"}
        if path.endswith("/media/upload"):
            if query.get("type") != "image" or PNG_SIGNATURE not in body:
                return {"errcode": 40005, "errmsg": "invalid file type"}
            self._media_uploaded += 1
            return {"errcode": 0, "errmsg": "ok", "type": "image", "media_id": f"stub-media-{self._media_uploaded}",
                    "created_at": str(int(time.time()))}
        if path.endswith("/media/get"):  # hosted media with a valid token is served by do_GET
            return {"errcode": ERRCODE_INVALID_MEDIA_ID, "errmsg": "invalid media_id"}
        if path.endswith("/message/update_template_card"):
            return {"errcode": 0, "errmsg": "ok", "invaliduser": []}
        return {"errcode": 60011, "errmsg": f"stub has no endpoint {path}"}

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        stub = self

        class StubRequestHandler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server naming
                parts = urlsplit(self.path)
                query = {key: values[0] for key, values in parse_qs(parts.query).items()}
                hosted = stub.media.get(query.get("media_id", ""))
                if parts.path.endswith("/media/get") and hosted and query.get("access_token") in stub._valid_tokens:
                    name, content = hosted
                    with stub._changed:
                        stub.calls.append(RecordedCall(path=parts.path, query=query, json_body=None, raw_body=b"",
                                                       errcode=0))
                        stub._changed.notify_all()
                    self.send_response(200)
                    self.send_header("Content-Type", "application/octet-stream")
                    self.send_header("Content-Disposition", f'attachment; filename="{name}"')
                    self.send_header("Content-Length", str(len(content)))
                    self.end_headers()
                    self.wfile.write(content)
                    return
                self._answer(b"")

            def do_POST(self) -> None:  # noqa: N802 - http.server naming
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                if stub.holds.hold_if_matching(parts.path, parse_qs(parts.query).get("access_token", [None])[0]):
                    try:
                        self.send_response(503)
                        self.end_headers()
                    except OSError:  # the caller was killed while its request was held
                        pass
                    return
                self._answer(body)

            def _answer(self, body: bytes) -> None:
                status, payload = stub._handle(self.command, self.path, body)
                encoded = json.dumps(payload, ensure_ascii=False).encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(encoded)))
                self.end_headers()
                self.wfile.write(encoded)

            def log_message(self, *_args: Any) -> None:
                return  # keep test output clean

        return StubRequestHandler


def markdown_texts_to(messages: list[dict[str, Any]], user_id: str) -> list[str]:
    """The Markdown texts among sent messages that went to one user."""
    return [message["markdown"]["content"] for message in messages
            if message["touser"] == user_id and message["msgtype"] == "markdown"]


def wecom_app_settings(api_stub: WeComApiStub, official: dict[str, str], roles_file: Any) -> dict[str, str]:
    """The SALESBOT_* settings of a WeCom app under test: no model, no embeddings, the official callback crypto
    vectors (`official`: token, encoding_aes_key, corp_id), this stub as the WeCom API, and the roles file."""
    return {
        "SALESBOT_LLM": "none", "SALESBOT_EMBEDDING": "none", "SALESBOT_ROLES_FILE": str(roles_file),
        "SALESBOT_WECOM_TOKEN": official["token"], "SALESBOT_WECOM_AES_KEY": official["encoding_aes_key"],
        "SALESBOT_WECOM_CORP_ID": official["corp_id"], "SALESBOT_WECOM_AGENT_ID": STUB_AGENT_ID,
        "SALESBOT_WECOM_SECRET": STUB_SECRET, "SALESBOT_WECOM_API_URL": api_stub.base_url,
    }


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def serve_asgi_app_in_thread(app: Any) -> Iterator[str]:
    """Run an ASGI app under uvicorn on a free 127.0.0.1 port; yields its base URL and stops it afterwards."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, name="uvicorn-under-test", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


class WeComCallbackClient:
    """Sends callbacks to the app the way WeCom does: encrypted XML body, signature in the query string."""

    def __init__(self, base_url: str, crypto: Any, corp_id: str = STUB_CORP_ID, agent_id: str = STUB_AGENT_ID) -> None:
        self.base_url = base_url
        self.crypto = crypto
        self.corp_id = corp_id
        self.agent_id = agent_id
        self._nonce_counter = 0

    def post_plaintext_xml(self, plaintext_xml: str, tamper_signature: bool = False) -> httpx.Response:
        self._nonce_counter += 1
        envelope = self.crypto.encrypt(plaintext_xml, nonce=f"nonce{self._nonce_counter}")
        signature = envelope.msg_signature
        if tamper_signature:
            signature = ("0" if signature[0] != "0" else "1") + signature[1:]
        query = urlencode({"msg_signature": signature, "timestamp": envelope.timestamp, "nonce": envelope.nonce})
        body = envelope.to_callback_xml(self.corp_id, self.agent_id)
        return httpx.post(f"{self.base_url}/wecom/callback?{query}", content=body.encode("utf-8"),
                          headers={"Content-Type": "text/xml"}, timeout=30)

    def post_text(self, from_user: str, content: str, msg_id: str, tamper_signature: bool = False) -> httpx.Response:
        return self.post_plaintext_xml(text_message_xml(self.corp_id, from_user, content, msg_id, self.agent_id),
                                       tamper_signature=tamper_signature)


def text_message_xml(corp_id: str, from_user: str, content: str, msg_id: str, agent_id: str = STUB_AGENT_ID,
                     create_time: int | None = None) -> str:
    """A decrypted WeCom text-message XML, shaped like the official sample."""
    return (
        f"<xml><ToUserName><![CDATA[{corp_id}]]></ToUserName><FromUserName><![CDATA[{from_user}]]></FromUserName>"
        f"<CreateTime>{create_time or int(time.time())}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content><![CDATA[{content}]]></Content><MsgId>{msg_id}</MsgId><AgentID>{agent_id}</AgentID></xml>"
    )


def card_event_xml(corp_id: str, from_user: str, event_key: str, task_id: str, response_code: str,
                   agent_id: str = STUB_AGENT_ID, create_time: int | None = None) -> str:
    """A decrypted template_card_event XML (a button click on a button_interaction card)."""
    return (
        f"<xml><ToUserName><![CDATA[{corp_id}]]></ToUserName><FromUserName><![CDATA[{from_user}]]></FromUserName>"
        f"<CreateTime>{create_time or int(time.time())}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
        f"<Event><![CDATA[template_card_event]]></Event><EventKey><![CDATA[{event_key}]]></EventKey>"
        f"<TaskId><![CDATA[{task_id}]]></TaskId><CardType><![CDATA[button_interaction]]></CardType>"
        f"<ResponseCode><![CDATA[{response_code}]]></ResponseCode><AgentID>{agent_id}</AgentID></xml>"
    )
