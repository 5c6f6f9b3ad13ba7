"""A stub Slack Web API on 127.0.0.1 that records every call (slack_sdk talks to it through `base_url`)."""

from __future__ import annotations

import itertools
import json
import threading
import time
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlparse

from tests.stubs.held_requests import RequestHolds

STUB_TEAM_ID = "T0STUB0001"
STUB_BOT_USER_ID = "U0SALESBOT"
STUB_BOT_ID = "B0SALESBOT"
# Form-encoded Web API parameters that carry JSON documents.
_JSON_FORM_FIELDS = {"blocks", "files", "view", "attachments", "metadata"}


@dataclass
class RecordedCall:
    """One request the stub received: a Web API method, a file upload, or a response_url post."""

    method: str
    params: dict[str, Any]
    token: str | None
    response: dict[str, Any] = field(default_factory=dict)
    received_at: float = field(default_factory=time.time)


class SlackApiStub:
    """Answers like Slack for the methods salesbot uses and records them; `base_url` ends with "/"."""

    def __init__(self) -> None:
        self.calls: list[RecordedCall] = []
        self._condition = threading.Condition()
        self._ts_counter = itertools.count(1)
        self._failures: dict[str, str] = {}
        self.shared_files: dict[str, dict[str, Any]] = {}
        self._file_bytes: dict[str, bytes] = {}
        self.holds = RequestHolds()  # requests held unanswered and not recorded (never delivered)
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - keep test output quiet
                return

            def do_POST(self) -> None:  # noqa: N802 - http.server naming
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                path = urlparse(self.path).path
                authorization = self.headers.get("Authorization") or ""
                token = authorization.removeprefix("Bearer ").strip() or None
                if path.startswith("/upload/"):
                    stub._record(RecordedCall("file.upload", {"file_id": path.rsplit("/", 1)[-1],
                                                              "length": len(raw)}, token))
                    self._send(200, f"OK - {len(raw)}".encode(), "text/plain")
                    return
                params = _parse_params(raw, self.headers.get("Content-Type") or "")
                if path.startswith("/response/"):
                    stub._record(RecordedCall("response_url", {"name": path.rsplit("/", 1)[-1], **params}, token))
                    self._send(200, b"ok", "text/plain")
                    return
                method = path.strip("/").rsplit("/", 1)[-1]
                if stub.holds.hold_if_matching(method, token):
                    self._send_if_still_connected(503, b"held by the test", "text/plain")
                    return
                payload = stub._answer(method, params, token)
                stub._record(RecordedCall(method, params, token, response=payload))
                self._send(200, json.dumps(payload).encode(), "application/json; charset=utf-8")

            def do_GET(self) -> None:  # noqa: N802 - http.server naming
                path = urlparse(self.path).path
                authorization = self.headers.get("Authorization") or ""
                token = authorization.removeprefix("Bearer ").strip() or None
                file_id = path.strip("/").split("/")[1] if path.startswith("/files/") else ""
                stub._record(RecordedCall("file.download", {"path": path}, token))
                if not token or file_id not in stub._file_bytes:
                    self._send(404, b"not found", "text/plain")
                    return
                self._send(200, stub._file_bytes[file_id], "application/octet-stream")

            def _send(self, status: int, body: bytes, content_type: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _send_if_still_connected(self, status: int, body: bytes, content_type: str) -> None:
                try:
                    self._send(status, body, content_type)
                except OSError:  # the caller was killed while its request was held
                    pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="slack-api-stub", daemon=True)

    # -- lifecycle ---------------------------------------------------------------------------------
    def __enter__(self) -> SlackApiStub:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.holds.release_all()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    @property
    def root_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/"

    @property
    def base_url(self) -> str:
        return self.root_url + "api/"

    def response_url(self, name: str) -> str:
        """A response_url (as slash commands and buttons carry) that lands in this stub."""
        return f"{self.root_url}response/{name}"

    # -- test controls -----------------------------------------------------------------------------
    def add_shared_file(self, name: str, content: bytes, download_url: str | None = None) -> dict[str, Any]:
        """Host a file as Slack would; returns the event's short file object (files.info has the rest)."""
        file_id = "F" + self._next_ts().replace(".", "")
        self._file_bytes[file_id] = content
        self.shared_files[file_id] = {"id": file_id, "name": name, "size": len(content), "mimetype": "text/plain",
                                      "url_private_download": download_url or f"{self.root_url}files/{file_id}/{name}"}
        return {"id": file_id, "name": name}

    def fail_method(self, method: str, error: str) -> None:
        """Make a Web API method answer {"ok": false, "error": error} from now on."""
        self._failures[method] = error

    def calls_to(self, method: str) -> list[RecordedCall]:
        with self._condition:
            return [call for call in self.calls if call.method == method]

    def wait_for_calls(self, method: str, count: int = 1, timeout_s: float = 20.0) -> list[RecordedCall]:
        """Block until at least `count` calls of `method` arrived (or the timeout passed); returns them all."""
        deadline = time.monotonic() + timeout_s
        with self._condition:
            while True:
                matching = [call for call in self.calls if call.method == method]
                remaining = deadline - time.monotonic()
                if len(matching) >= count or remaining <= 0:
                    return matching
                self._condition.wait(remaining)

    # -- internals ---------------------------------------------------------------------------------
    def _record(self, call: RecordedCall) -> None:
        with self._condition:
            self.calls.append(call)
            self._condition.notify_all()

    def _next_ts(self) -> str:
        return f"{1_700_000_000 + next(self._ts_counter)}.000100"

    def _answer(self, method: str, params: dict[str, Any], token: str | None) -> dict[str, Any]:
        if not token:
            return {"ok": False, "error": "not_authed"}
        if method in self._failures:
            return {"ok": False, "error": self._failures[method]}
        if method == "auth.test":
            return {"ok": True, "url": "https://stub.slack.com/", "team": "Stub Team", "user": "salesbot",
                    "team_id": STUB_TEAM_ID, "user_id": STUB_BOT_USER_ID, "bot_id": STUB_BOT_ID,
                    "is_enterprise_install": False}
        if method == "chat.postMessage":
            ts = self._next_ts()
            return {"ok": True, "channel": params.get("channel"), "ts": ts,
                    "message": {"text": params.get("text"), "ts": ts, "thread_ts": params.get("thread_ts"),
                                "bot_id": STUB_BOT_ID, "blocks": params.get("blocks") or []}}
        if method == "chat.postEphemeral":
            return {"ok": True, "message_ts": self._next_ts()}
        if method == "chat.update":
            return {"ok": True, "channel": params.get("channel"), "ts": params.get("ts"), "text": params.get("text")}
        if method == "conversations.open":
            users = str(params.get("users") or "")
            return {"ok": True, "channel": {"id": "D" + users.split(",")[0].lstrip("UW")}}
        if method == "views.open":
            return {"ok": True, "view": {"id": "V" + self._next_ts().replace(".", ""), **(params.get("view") or {})}}
        if method == "files.info":
            shared = self.shared_files.get(str(params.get("file")))
            return {"ok": True, "file": shared} if shared else {"ok": False, "error": "file_not_found"}
        if method == "files.getUploadURLExternal":
            file_id = "F" + self._next_ts().replace(".", "")
            return {"ok": True, "upload_url": f"{self.root_url}upload/{file_id}", "file_id": file_id}
        if method == "files.completeUploadExternal":
            files = params.get("files") or []
            return {"ok": True, "files": [{"id": item.get("id"), "title": item.get("title")} for item in files]}
        return {"ok": False, "error": "unknown_method"}


def _parse_params(raw: bytes, content_type: str) -> dict[str, Any]:
    text = raw.decode("utf-8") if raw else ""
    if "application/json" in content_type:
        return json.loads(text) if text else {}
    params: dict[str, Any] = dict(parse_qsl(text, keep_blank_values=True))
    for key in _JSON_FORM_FIELDS & params.keys():
        try:
            params[key] = json.loads(params[key])
        except (TypeError, json.JSONDecodeError):
            pass
    return params


# ---------------------------------------------------------------------------------------------------
# Signed requests, realistic payloads, and the salesbot events server in a thread (tests and benchmarks)
# ---------------------------------------------------------------------------------------------------


def sign_slack_request(signing_secret: str, body: str, timestamp: int | None = None) -> dict[str, str]:
    """The headers Slack sends with a request: X-Slack-Request-Timestamp and the v0 HMAC signature."""
    from slack_sdk.signature import SignatureVerifier

    timestamp_text = str(int(time.time()) if timestamp is None else timestamp)
    signature = SignatureVerifier(signing_secret).generate_signature(timestamp=timestamp_text, body=body)
    return {"X-Slack-Request-Timestamp": timestamp_text, "X-Slack-Signature": str(signature)}


def event_callback_body(event: dict[str, Any], event_id: str, team_id: str = STUB_TEAM_ID) -> dict[str, Any]:
    """An Events API envelope as Slack posts it (shape from bolt-python's scenario tests)."""
    return {
        "token": "verification_token", "team_id": team_id, "api_app_id": "A0SALESBOT", "event": event,
        "type": "event_callback", "event_id": event_id, "event_time": int(time.time()),
        "authed_users": [STUB_BOT_USER_ID],
    }


def app_mention_event(text: str, user: str, channel: str, ts: str, thread_ts: str | None = None) -> dict[str, Any]:
    event = {"type": "app_mention", "user": user, "text": f"<@{STUB_BOT_USER_ID}> {text}", "ts": ts,
             "channel": channel, "event_ts": ts, "client_msg_id": f"msg-{ts}"}
    if thread_ts:
        event["thread_ts"] = thread_ts
    return event


def direct_message_event(text: str, user: str, channel: str, ts: str, thread_ts: str | None = None) -> dict[str, Any]:
    event = {"type": "message", "channel_type": "im", "user": user, "text": text, "ts": ts, "channel": channel,
             "event_ts": ts, "client_msg_id": f"msg-{ts}"}
    if thread_ts:
        event["thread_ts"] = thread_ts
    return event


def block_actions_payload(
    action_id: str, value: str, block_id: str, user: str, channel: str, message: dict[str, Any],
    response_url: str | None = None, trigger_id: str = "12345.98765.abcd",
) -> dict[str, Any]:
    """What Slack posts (form field `payload`) when a user presses a button on a message."""
    return {
        "type": "block_actions", "team": {"id": STUB_TEAM_ID, "domain": "stub"},
        "user": {"id": user, "username": user.lower(), "team_id": STUB_TEAM_ID},
        "api_app_id": "A0SALESBOT", "token": "verification_token", "trigger_id": trigger_id,
        "container": {"type": "message", "message_ts": message.get("ts"), "channel_id": channel,
                      "is_ephemeral": False},
        "channel": {"id": channel, "name": "sales"}, "message": message,
        "response_url": response_url,
        "actions": [{"action_id": action_id, "block_id": block_id, "value": value, "type": "button",
                     "action_ts": f"{time.time():.6f}"}],
    }


def file_share_event(files: list[dict[str, Any]], user: str, channel: str, ts: str, text: str = "",
                     channel_type: str = "im", thread_ts: str | None = None) -> dict[str, Any]:
    """A message with files shared in it, as Slack sends it (subtype file_share): a DM (message.im) by default,
    or a channel message (channel_type "channel"), in a thread when thread_ts is given."""
    event = {"type": "message", "subtype": "file_share", "text": text, "user": user, "channel": channel,
             "channel_type": channel_type, "ts": ts, "event_ts": ts, "files": files}
    if thread_ts:
        event["thread_ts"] = thread_ts
    return event


def slash_command_form(text: str, user: str, channel: str, response_url: str, command: str = "/salesbot") -> str:
    from urllib.parse import urlencode

    return urlencode({
        "token": "verification_token", "team_id": STUB_TEAM_ID, "team_domain": "stub", "channel_id": channel,
        "channel_name": "sales", "user_id": user, "user_name": user.lower(), "command": command, "text": text,
        "response_url": response_url, "trigger_id": "12345.98765.abcd",
    })


def interactive_form(payload: dict[str, Any]) -> str:
    from urllib.parse import urlencode

    return urlencode({"payload": json.dumps(payload)})


class ServerThread:
    """Run an ASGI app under uvicorn on 127.0.0.1 with a free port, in a background thread."""

    def __init__(self, asgi_app: Any) -> None:
        import socket

        import uvicorn

        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind(("127.0.0.1", 0))
        self.port = self._socket.getsockname()[1]
        config = uvicorn.Config(asgi_app, log_level="warning", lifespan="off", access_log=False,
                                backlog=512, limit_concurrency=None)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._socket]},
                                        name="uvicorn-test", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> ServerThread:
        self._thread.start()
        deadline = time.monotonic() + 20
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._socket.close()


class RecordingSlackClient:
    """Duck-typed WebClient for unit tests: records calls, never touches the network."""

    def __init__(self, fail_methods: set[str] | None = None) -> None:
        self.calls: list[RecordedCall] = []
        self.fail_methods = fail_methods or set()
        self._ts_counter = itertools.count(1)

    def _call(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        response = {"ok": True, "ts": f"1700000000.{next(self._ts_counter):06d}", "channel": {"id": "D0DIRECT"}}
        if method in self.fail_methods:
            from slack_sdk.errors import SlackApiError

            self.calls.append(RecordedCall(method, params, "xoxb-unit"))
            raise SlackApiError(f"{method} failed", {"ok": False, "error": "stub_failure"})
        self.calls.append(RecordedCall(method, params, "xoxb-unit", response=response))
        return response

    def calls_to(self, method: str) -> list[RecordedCall]:
        return [call for call in self.calls if call.method == method]

    def chat_postMessage(self, **params: Any) -> dict[str, Any]:  # noqa: N802 - slack_sdk's name
        return self._call("chat.postMessage", params)

    def chat_postEphemeral(self, **params: Any) -> dict[str, Any]:  # noqa: N802
        return self._call("chat.postEphemeral", params)

    def chat_update(self, **params: Any) -> dict[str, Any]:
        return self._call("chat.update", params)

    def conversations_open(self, **params: Any) -> dict[str, Any]:
        return self._call("conversations.open", params)

    def views_open(self, **params: Any) -> dict[str, Any]:
        return self._call("views.open", params)

    def files_upload_v2(self, **params: Any) -> dict[str, Any]:
        return self._call("files_upload_v2", params)


class TrackingExecutor(Executor):
    """A thread pool that can wait until everything submitted so far has finished (bolt's lazy listeners)."""

    def __init__(self, max_workers: int = 4) -> None:
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="slack-test-listener")
        self._futures: list[Any] = []
        self._lock = threading.Lock()

    def submit(self, function: Any, /, *args: Any, **kwargs: Any) -> Future[Any]:
        future = self._pool.submit(function, *args, **kwargs)
        with self._lock:
            self._futures.append(future)
        return future

    def wait_idle(self, timeout_s: float = 120.0) -> int:
        """Wait for every submitted task (including ones submitted while waiting); returns how many ran."""
        from concurrent.futures import wait

        deadline = time.monotonic() + timeout_s
        while True:
            with self._lock:
                pending = [future for future in self._futures if not future.done()]
                total = len(self._futures)
            if not pending:
                return total
            wait(pending, timeout=max(0.0, deadline - time.monotonic()))
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(pending)} listener tasks still running")

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self._pool.shutdown(wait=wait, cancel_futures=cancel_futures)


@dataclass
class RunningSlackApp:
    """The salesbot Slack app served on loopback, talking to a SlackApiStub."""

    stub: SlackApiStub
    server: ServerThread
    executor: TrackingExecutor
    signing_secret: str
    app: Any = None  # the bolt App (its inbox_sweeper for tests that sweep by hand)

    @property
    def events_url(self) -> str:
        return self.server.url + "/slack/events"

    def post(self, body: str, content_type: str = "application/json", timestamp: int | None = None,
             headers: dict[str, str] | None = None, signed_body: str | None = None) -> Any:
        """POST like Slack does; `signed_body` signs something other than what is sent (tampering)."""
        import httpx

        all_headers = {"Content-Type": content_type,
                       **sign_slack_request(self.signing_secret, signed_body or body, timestamp), **(headers or {})}
        return httpx.post(self.events_url, content=body.encode("utf-8"), headers=all_headers, timeout=30)

    def post_event(self, event: dict[str, Any], event_id: str, headers: dict[str, str] | None = None) -> Any:
        return self.post(json.dumps(event_callback_body(event, event_id)), headers=headers)

    def post_interaction(self, payload: dict[str, Any]) -> Any:
        return self.post(interactive_form(payload), content_type="application/x-www-form-urlencoded")


def running_slack_app(signing_secret: str = "test-signing-secret", roles_file: Any = None, workers: int = 4,
                      **agent_functions: Any) -> Any:
    """Context manager: stub Web API + salesbot Slack app under uvicorn; agent functions may be fakes."""
    from contextlib import contextmanager

    @contextmanager
    def _running() -> Any:
        from connectors.slack.app import build_slack_app
        from connectors.slack.server import create_asgi_app
        from salesbot.settings import Settings

        executor = TrackingExecutor(max_workers=workers)
        try:
            with SlackApiStub() as stub:
                settings = Settings(slack_signing_secret=signing_secret, slack_bot_token="xoxb-stub-token",
                                    slack_api_url=stub.base_url, roles_file=roles_file)
                app = build_slack_app(settings=settings, listener_executor=executor, **agent_functions)  # type: ignore[arg-type]
                with ServerThread(create_asgi_app(app)) as server:
                    yield RunningSlackApp(stub=stub, server=server, executor=executor, signing_secret=signing_secret,
                                          app=app)
                    executor.wait_idle()
        finally:
            executor.shutdown(wait=True)

    return _running()
