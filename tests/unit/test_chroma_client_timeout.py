"""SALESBOT_CHROMA_TIMEOUT_S reaches the Chroma HTTP client: a server that stops answering fails a request after
the timeout instead of hanging the turn forever (chromadb's own client waits without limit)."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from knowledge.store import ChromaChunkStore
from salesbot.settings import get_settings, reset_runtime

HANG_S = 5.0


class _SlowChroma(BaseHTTPRequestHandler):
    """Answers what HttpClient asks at construction; every other request (heartbeat) hangs for HANG_S."""

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        path = self.path.removeprefix("/api/v2")
        if path == "/auth/identity":
            body = {"user_id": "", "tenant": "default_tenant", "databases": ["*"]}
        elif path == "/tenants/default_tenant":
            body = {"name": "default_tenant"}
        elif path.startswith("/tenants/default_tenant/databases/"):
            body = {"id": str(uuid.uuid4()), "name": path.rsplit("/", 1)[1], "tenant": "default_tenant"}
        else:
            time.sleep(HANG_S)
            body = {"nanosecond heartbeat": 1}
        payload = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *arguments: object) -> None:
        pass


@pytest.fixture()
def slow_chroma_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _SlowChroma)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_the_timeout_setting_reaches_the_http_client(slow_chroma_url: str, monkeypatch: pytest.MonkeyPatch,
                                                     tmp_path: Path) -> None:
    monkeypatch.setenv("SALESBOT_CHROMA_URL", slow_chroma_url)
    monkeypatch.setenv("SALESBOT_CHROMA_DATABASE", "timeout_test")
    monkeypatch.setenv("SALESBOT_CHROMA_TIMEOUT_S", "0.5")
    reset_runtime()
    settings = get_settings()
    assert settings.chroma_timeout_s == 0.5
    store = ChromaChunkStore(tmp_path, "fp", server_url=settings.chroma_url, database=settings.chroma_database,
                             timeout_s=settings.chroma_timeout_s)
    assert store._client.database == "timeout_test"

    started = time.monotonic()
    with pytest.raises(httpx.TimeoutException):
        store._client.heartbeat()
    assert time.monotonic() - started < HANG_S - 1


def test_the_default_timeout_is_30_seconds() -> None:
    assert get_settings().chroma_timeout_s == 30.0
