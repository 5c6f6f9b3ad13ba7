"""Real `salesbot serve slack` child processes on 127.0.0.1 and a signed-request sender (tests and benchmarks).

The processes talk to a SlackApiStub (tests/stubs/slack_api.py) through SALESBOT_SLACK_API_URL; every request is
signed with the same secret the processes were given, just before it is sent.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.servers import free_port
from tests.stubs.slack_api import (
    app_mention_event,
    event_callback_body,
    interactive_form,
    sign_slack_request,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
SIGNING_SECRET = "two-process-signing-secret"
START_TIMEOUT_S = 120.0
RETRY_HEADERS = {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}


@dataclass
class SlackServeProcess:
    """One `salesbot serve slack --port N` child; its log goes to a file (read it when something fails)."""

    process: subprocess.Popen[bytes]
    port: int
    log_path: Path

    @property
    def events_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/slack/events"

    @classmethod
    def start(cls, api_url: str, env: dict[str, str] | None = None) -> SlackServeProcess:
        port = free_port()
        log_path = Path(tempfile.mkstemp(prefix=f"salesbot-serve-slack-{port}-", suffix=".log")[1])
        child_env = {**(env if env is not None else os.environ), "SALESBOT_SLACK_SIGNING_SECRET": SIGNING_SECRET,
                     "SALESBOT_SLACK_BOT_TOKEN": "xoxb-two-process", "SALESBOT_SLACK_API_URL": api_url,
                     "ANONYMIZED_TELEMETRY": "False"}
        with log_path.open("wb") as log:
            process = subprocess.Popen([str(Path(sys.executable).parent / "salesbot"), "serve", "slack", "--port",
                                        str(port)], cwd=REPO_ROOT, env=child_env, stdout=log, stderr=subprocess.STDOUT)
        return cls(process=process, port=port, log_path=log_path)

    def wait_ready(self, timeout_s: float = START_TIMEOUT_S) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"salesbot serve slack exited {self.process.returncode}: {self.log_tail()}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=2):
                    return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"salesbot serve slack did not answer on port {self.port}: {self.log_tail()}")

    def log_tail(self, characters: int = 3000) -> str:
        return self.log_path.read_text(errors="replace")[-characters:]

    def kill(self) -> None:
        """SIGKILL: no shutdown hooks, nothing flushed — what a crashed or OOM-killed process leaves."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()
        self.log_path.unlink(missing_ok=True)


def start_processes(count: int, api_url: str, env: dict[str, str] | None = None) -> list[SlackServeProcess]:
    """Start `count` processes at once (they create the schema concurrently, as a real rollout does)."""
    processes = [SlackServeProcess.start(api_url, env) for _ in range(count)]
    try:
        for process in processes:
            process.wait_ready()
    except BaseException:
        for process in processes:
            process.stop()
        raise
    return processes


@dataclass(frozen=True)
class SignedDelivery:
    """One HTTP delivery of an event: the body, which process gets it, and any retry headers."""

    url: str
    body: str
    headers: dict[str, str]


def mention_deliveries(urls: list[str], events: int, redeliveries: int, channel: str, users: list[str],
                       questions: list[str], label: str) -> tuple[list[SignedDelivery], list[str]]:
    """`events` app_mentions round-robin over `urls`, plus `redeliveries` of the first events with
    X-Slack-Retry-Num, each sent to the *other* process than its first delivery. Returns (deliveries, the
    events' message timestamps, which are the thread_ts of their answers)."""
    base = int(time.time())
    deliveries: list[SignedDelivery] = []
    timestamps: list[str] = []
    for number in range(events):
        ts = f"{base}.{number:06d}"
        event = app_mention_event(questions[number % len(questions)], users[number % len(users)], channel, ts)
        body = json.dumps(event_callback_body(event, f"Ev{label}{base}{number:05d}"), ensure_ascii=False)
        deliveries.append(SignedDelivery(urls[number % len(urls)], body, {}))
        timestamps.append(ts)
    for number in range(redeliveries):
        first = deliveries[number % events]
        other = urls[(urls.index(first.url) + 1) % len(urls)]
        deliveries.append(SignedDelivery(other, first.body, RETRY_HEADERS))
    return deliveries, timestamps


def send_deliveries(deliveries: list[SignedDelivery], concurrency: int = 50,
                    timeout_s: float = 60.0) -> list[tuple[int | str, float]]:
    """Send every delivery (at most `concurrency` in flight), signing each just before it goes out.
    Returns (HTTP status or an error text, ack seconds) per delivery, in order."""
    import httpx

    async def send_one(client: httpx.AsyncClient, gate: asyncio.Semaphore,
                       delivery: SignedDelivery) -> tuple[int | str, float]:
        async with gate:
            headers = {"Content-Type": "application/json", **sign_slack_request(SIGNING_SECRET, delivery.body),
                       **delivery.headers}
            started = time.perf_counter()
            try:
                response = await client.post(delivery.url, content=delivery.body.encode("utf-8"), headers=headers)
                return response.status_code, time.perf_counter() - started
            except httpx.HTTPError as error:
                return f"error: {error!r}", time.perf_counter() - started

    async def main() -> list[tuple[int | str, float]]:
        gate = asyncio.Semaphore(concurrency)
        async with httpx.AsyncClient(timeout=timeout_s) as client:
            return list(await asyncio.gather(*(send_one(client, gate, delivery) for delivery in deliveries)))

    return asyncio.run(main())


def post_interaction(url: str, payload: dict[str, Any]) -> Any:
    """POST a signed interactive payload (a button press) to one process."""
    import httpx

    body = interactive_form(payload)
    headers = {"Content-Type": "application/x-www-form-urlencoded", **sign_slack_request(SIGNING_SECRET, body)}
    return httpx.post(url, content=body.encode("utf-8"), headers=headers, timeout=30)
