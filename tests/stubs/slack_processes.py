"""Real `salesbot serve slack` child processes on 127.0.0.1 and a signed-request sender (tests and benchmarks).

The processes talk to a SlackApiStub (tests/stubs/slack_api.py) through SALESBOT_SLACK_API_URL; every request is
signed with the same secret the processes were given, just before it is sent. Starting, stopping and the
concurrent sender are tests/stubs/serve_processes.py's, shared with the WeCom processes.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from tests.stubs.serve_processes import HttpPost, ServeProcess, post_concurrently
from tests.stubs.serve_processes import start_processes as start_serve_processes
from tests.stubs.slack_api import (
    app_mention_event,
    event_callback_body,
    interactive_form,
    sign_slack_request,
)

SIGNING_SECRET = "two-process-signing-secret"
RETRY_HEADERS = {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}


class SlackServeProcess(ServeProcess):
    """One `salesbot serve slack --port N` child."""

    @property
    def events_url(self) -> str:
        return f"{self.base_url}/slack/events"


def start_slack_process(api_url: str, env: dict[str, str] | None = None, bot_token: str = "xoxb-two-process",
                        settings: dict[str, str] | None = None) -> SlackServeProcess:
    """One process; a bot token of its own lets the stub tell processes apart, `settings` adds SALESBOT_* values."""
    return SlackServeProcess.start("slack", {
        "SALESBOT_SLACK_SIGNING_SECRET": SIGNING_SECRET, "SALESBOT_SLACK_BOT_TOKEN": bot_token,
        "SALESBOT_SLACK_API_URL": api_url, **(settings or {})}, env)


def start_processes(count: int, api_url: str, env: dict[str, str] | None = None) -> list[SlackServeProcess]:
    """Start `count` processes at once (they create the schema concurrently, as a real rollout does)."""
    return start_serve_processes(count, lambda: start_slack_process(api_url, env))


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


def signed_post(delivery: SignedDelivery) -> HttpPost:
    """The delivery as Slack sends it, signed now."""
    headers = {"Content-Type": "application/json", **sign_slack_request(SIGNING_SECRET, delivery.body),
               **delivery.headers}
    return HttpPost(delivery.url, delivery.body.encode("utf-8"), headers)


def send_deliveries(deliveries: list[SignedDelivery], concurrency: int = 50,
                    timeout_s: float = 60.0) -> list[tuple[int | str, float]]:
    """Send every delivery (at most `concurrency` in flight), signing each just before it goes out.
    Returns (HTTP status or an error text, ack seconds) per delivery, in order."""
    return post_concurrently(deliveries, signed_post, concurrency, timeout_s)


def post_interaction(url: str, payload: dict[str, Any]) -> Any:
    """POST a signed interactive payload (a button press) to one process."""
    import httpx

    body = interactive_form(payload)
    headers = {"Content-Type": "application/x-www-form-urlencoded", **sign_slack_request(SIGNING_SECRET, body)}
    return httpx.post(url, content=body.encode("utf-8"), headers=headers, timeout=30)
