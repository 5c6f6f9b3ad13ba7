"""A stub OpenAI-compatible HTTP server on 127.0.0.1: scripted chat completions, recorded requests, slow mode."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class ScriptedCompletion:
    """One reply of the stub: text content, tool calls, or an HTTP error."""

    content: str | None = None
    tool_calls: list[dict[str, Any]] = field(default_factory=list)  # [{"name": ..., "arguments": {...}}]
    status: int = 200
    error_message: str = ""


@dataclass
class RecordedRequest:
    """What a client sent: method, path, headers (lower-case names) and the decoded JSON body (empty for GET)."""

    method: str
    path: str
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


class OpenAIStubServer:
    """Serves /v1/chat/completions (scripted replies, in order) and /v1/models on a free port of 127.0.0.1.

    Script replies with reply_text / reply_json / reply_tool_call / reply_error before the client calls.
    A chat request with no scripted reply left gets HTTP 500, so a test notices an unexpected call.
    Set delay_s above the client's timeout to exercise timeouts (stop() releases sleeping handlers).
    Streaming requests (stream=true) get the same reply as server-sent events.
    """

    def __init__(self, *, model_name: str = "stub-model", delay_s: float = 0.0) -> None:
        self.model_name = model_name
        self.delay_s = delay_s
        self.requests: list[RecordedRequest] = []
        self._replies: list[ScriptedCompletion] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._http_server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ---- scripting ----

    def reply_text(self, content: str) -> None:
        self._add_reply(ScriptedCompletion(content=content))

    def reply_json(self, payload: dict[str, Any]) -> None:
        self._add_reply(ScriptedCompletion(content=json.dumps(payload, ensure_ascii=False)))

    def reply_tool_call(self, tool_name: str, arguments: dict[str, Any]) -> None:
        self._add_reply(ScriptedCompletion(tool_calls=[{"name": tool_name, "arguments": arguments}]))

    def reply_error(self, status: int, message: str) -> None:
        self._add_reply(ScriptedCompletion(status=status, error_message=message))

    def _add_reply(self, reply: ScriptedCompletion) -> None:
        with self._lock:
            self._replies.append(reply)

    def _next_reply(self) -> ScriptedCompletion:
        with self._lock:
            if self._replies:
                return self._replies.pop(0)
        return ScriptedCompletion(status=500, error_message="stub server has no scripted reply left")

    @property
    def chat_requests(self) -> list[dict[str, Any]]:
        """JSON bodies of the chat completion requests received so far."""
        return [request.body for request in self.requests if request.path.endswith("/chat/completions")]

    # ---- lifecycle ----

    @property
    def port(self) -> int:
        if self._http_server is None:
            raise RuntimeError("stub server is not running")
        return int(self._http_server.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def model_spec(self) -> str:
        """The SALESBOT_LLM config string pointing at this server."""
        return f"openai:{self.base_url}#{self.model_name}"

    def start(self) -> OpenAIStubServer:
        handler_class = _make_handler(self)
        self._http_server = ThreadingHTTPServer(("127.0.0.1", 0), handler_class)
        # Handlers of timed-out clients may still be sleeping; never block shutdown on them.
        self._http_server.daemon_threads = True
        self._http_server.block_on_close = False
        # A short poll interval so stop() returns quickly (shutdown waits for the next poll).
        self._thread = threading.Thread(
            target=self._http_server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="openai-stub",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._http_server is not None:
            self._http_server.shutdown()
            self._http_server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> OpenAIStubServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # ---- response bodies ----

    def completion_body(self, reply: ScriptedCompletion, request_number: int) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": reply.content}
        if reply.tool_calls:
            message["tool_calls"] = [
                {
                    "id": f"call_stub_{request_number}_{index}",
                    "type": "function",
                    "function": {"name": call["name"], "arguments": json.dumps(call["arguments"])},
                }
                for index, call in enumerate(reply.tool_calls)
            ]
        return {
            "id": f"chatcmpl-stub-{request_number}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": self.model_name,
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "logprobs": None,
                    "finish_reason": "tool_calls" if reply.tool_calls else "stop",
                }
            ],
            "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
        }

    def stream_chunks(self, reply: ScriptedCompletion, request_number: int) -> list[dict[str, Any]]:
        """The same reply as chat.completion.chunk events: one delta with everything, then the finish."""
        full = self.completion_body(reply, request_number)
        delta = dict(full["choices"][0]["message"])
        if "tool_calls" in delta:
            delta["tool_calls"] = [dict(call, index=index) for index, call in enumerate(delta["tool_calls"])]
        base = {key: full[key] for key in ("id", "created", "model")} | {"object": "chat.completion.chunk"}
        return [
            base | {"choices": [{"index": 0, "delta": delta, "finish_reason": None}]},
            base
            | {"choices": [{"index": 0, "delta": {}, "finish_reason": full["choices"][0]["finish_reason"]}]},
        ]


def _make_handler(server: OpenAIStubServer) -> type[BaseHTTPRequestHandler]:
    class OpenAIStubHandler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
            return  # keep test output clean

        def do_GET(self) -> None:
            server.requests.append(RecordedRequest("GET", self.path, {}, self._header_dict()))
            if self.path.rstrip("/").endswith("/models"):
                models = {
                    "object": "list",
                    "data": [{"id": server.model_name, "object": "model", "owned_by": "stub"}],
                }
                self._send_json(200, models)
            else:
                self._send_json(404, {"error": {"message": f"no route {self.path}", "type": "not_found"}})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw_body = self.rfile.read(length) if length else b""
            try:
                body = json.loads(raw_body or b"{}")
            except json.JSONDecodeError:
                self._send_json(
                    400, {"error": {"message": "body is not JSON", "type": "invalid_request_error"}}
                )
                return
            server.requests.append(RecordedRequest("POST", self.path, body, self._header_dict()))
            request_number = len(server.requests)
            if not self.path.rstrip("/").endswith("/chat/completions"):
                self._send_json(404, {"error": {"message": f"no route {self.path}", "type": "not_found"}})
                return
            if server.delay_s and server._stopping.wait(server.delay_s):
                return  # server stopping: drop the slow request
            reply = server._next_reply()
            if reply.status != 200:
                error = {
                    "error": {"message": reply.error_message, "type": "stub_error", "code": reply.status}
                }
                self._send_json(reply.status, error)
            elif body.get("stream"):
                self._send_event_stream(server.stream_chunks(reply, request_number))
            else:
                self._send_json(200, server.completion_body(reply, request_number))

        def _header_dict(self) -> dict[str, str]:
            return {name.lower(): value for name, value in self.headers.items()}

        def _send_json(self, status: int, payload: dict[str, Any]) -> None:
            data = json.dumps(payload).encode("utf-8")
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (timeout test): nothing to answer

        def _send_event_stream(self, chunks: list[dict[str, Any]]) -> None:
            events = "".join(f"data: {json.dumps(chunk)}\n\n" for chunk in chunks) + "data: [DONE]\n\n"
            data = events.encode("utf-8")
            try:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass

    return OpenAIStubHandler
