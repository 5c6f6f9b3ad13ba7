"""Two real serve processes on the server profile (one Postgres): a delivery whose process is SIGKILLed after it
claimed and acknowledged the delivery, while its answer was still on the way (the stub API holds it: never
delivered), is replayed by the other process's inbox sweeper once the short lease has run out, and answered exactly
once, by the survivor — for Slack (`serve slack`) and WeCom (`serve wecom`)."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import pytest

from connectors.common.dedupe import EventDedupeStore, EventSource
from tests.stubs.serve_processes import ServeProcess
from tests.stubs.slack_api import SlackApiStub, app_mention_event, event_callback_body
from tests.stubs.slack_processes import SignedDelivery, send_deliveries, start_slack_process
from tests.stubs.wecom_api import WeComApiStub, text_message_xml, wecom_app_settings
from tests.stubs.wecom_processes import CALLBACK_KEYS, WeComDelivery, WeComServeProcess
from tests.stubs.wecom_processes import send_deliveries as send_wecom_deliveries

# A short lease so the test needs no long wait; both processes renew their own leases every sweep.
INBOX_SETTINGS = {"SALESBOT_EVENT_LEASE_S": "3", "SALESBOT_EVENT_SWEEP_INTERVAL_S": "0.5",
                  "SALESBOT_EMBEDDING": "none", "SALESBOT_LLM": "none"}
HELD_TIMEOUT_S = 120.0  # bounds on waiting on busy CI cores, not speed requirements
ANSWER_TIMEOUT_S = 240.0
CHANNEL, REP = "C0SALES001", "U0ZHANGWEI"


def inbox_row(database_url: str, source: EventSource, key: str) -> dict[str, object]:
    row = EventDedupeStore(database_url=database_url, owner="test-reader").state_of(source, key)
    assert row is not None, f"{source} delivery {key} was never claimed"
    return row


def owned_by(row: dict[str, object], process: ServeProcess) -> bool:
    """Owner tokens are host:pid:random (connectors.common.dedupe.process_owner_token)."""
    return str(row["owner"]).split(":")[1] == str(process.process.pid)


@pytest.fixture
def slack_pair(server_database: str) -> Iterator[tuple[SlackApiStub, ServeProcess, ServeProcess]]:
    with SlackApiStub() as stub:
        processes = [start_slack_process(stub.base_url, bot_token=f"xoxb-process-{name}", settings=INBOX_SETTINGS)
                     for name in ("a", "b")]
        with _ready(processes) as (process_a, process_b):
            yield stub, process_a, process_b


@contextmanager
def _ready(processes: Sequence[ServeProcess]) -> Iterator[Sequence[ServeProcess]]:
    """The started processes once each answers /healthz; stopped afterwards, whatever happened."""
    try:
        for process in processes:
            process.wait_ready()
        yield processes
    finally:
        for process in processes:
            process.stop()


def test_a_slack_event_whose_process_was_killed_before_answering_is_answered_once_by_the_other(
        slack_pair: tuple[SlackApiStub, ServeProcess, ServeProcess], server_database: str) -> None:
    stub, process_a, process_b = slack_pair
    stub.holds.hold("chat.postMessage", token="xoxb-process-a", count=100)  # nothing A posts gets through
    ts = "1700000000.000700"
    body = json.dumps(event_callback_body(app_mention_event("QM-X3 的质保期是多久？", REP, CHANNEL, ts), "EvKilledA1"),
                      ensure_ascii=False)
    [(status, _seconds)] = send_deliveries([SignedDelivery(f"{process_a.base_url}/slack/events", body, {})])
    assert status == 200  # acknowledged by A
    assert stub.holds.wait_for_held(1, timeout_s=HELD_TIMEOUT_S), process_a.log_tail()
    row = inbox_row(server_database, "slack", "EvKilledA1")
    assert row["state"] == "processing" and owned_by(row, process_a), row
    process_a.kill()  # mid-answer: its chat.postMessage is held, never delivered

    posts = stub.wait_for_calls("chat.postMessage", 1, timeout_s=ANSWER_TIMEOUT_S)
    assert posts, [process_a.log_tail(), process_b.log_tail()]
    stub.wait_for_calls("chat.postMessage", 2, timeout_s=3)  # room for a duplicate (the bug this guards against)
    answers = [post for post in stub.calls_to("chat.postMessage") if post.params.get("thread_ts") == ts]
    assert [(post.token, post.params["channel"]) for post in answers] == [("xoxb-process-b", CHANNEL)], \
        process_b.log_tail()
    assert len(stub.holds.held) == 1  # A's one attempt, which never reached Slack
    row = inbox_row(server_database, "slack", "EvKilledA1")
    assert (row["state"], row["attempts"]) == ("done", 2) and owned_by(row, process_b), row
    assert "replaying slack delivery EvKilledA1" in process_b.log_tail(20_000)


@pytest.fixture
def wecom_pair(server_database: str, tmp_path: Path) -> Iterator[tuple[WeComApiStub, ServeProcess, ServeProcess]]:
    roles_file = tmp_path / "roles.yaml"
    roles_file.write_text(f"users:\n  {REP}: rep\n", encoding="utf-8")
    with WeComApiStub() as stub:
        settings = {**wecom_app_settings(stub, CALLBACK_KEYS, roles_file), **INBOX_SETTINGS}
        processes = [WeComServeProcess.start("wecom", settings) for _ in range(2)]
        with _ready(processes) as (process_a, process_b):
            yield stub, process_a, process_b


def test_a_wecom_message_whose_process_was_killed_before_answering_is_answered_once_by_the_other(
        wecom_pair: tuple[WeComApiStub, ServeProcess, ServeProcess], server_database: str) -> None:
    stub, process_a, process_b = wecom_pair
    # Only A is handling anything when the first reply goes out: that one (A's) is held; B's go through.
    stub.holds.hold("/message/send", count=1)
    message = text_message_xml(CALLBACK_KEYS["corp_id"], REP, "QM-X3 的质保期是多久？", "7300001")
    [(status, _seconds)] = send_wecom_deliveries([WeComDelivery(f"{process_a.base_url}/wecom/callback", message)])
    assert status == 200  # acknowledged by A
    assert stub.holds.wait_for_held(1, timeout_s=HELD_TIMEOUT_S), process_a.log_tail()
    row = inbox_row(server_database, "wecom", "msg:7300001")
    assert row["state"] == "processing" and owned_by(row, process_a), row
    process_a.kill()

    replies = stub.wait_for_markdown_to(REP, 1, timeout_s=ANSWER_TIMEOUT_S)
    assert replies, [process_a.log_tail(), process_b.log_tail()]
    assert len(stub.wait_for_markdown_to(REP, 2, timeout_s=3)) == 1  # room for a duplicate to show up
    row = inbox_row(server_database, "wecom", "msg:7300001")
    assert (row["state"], row["attempts"]) == ("done", 2) and owned_by(row, process_b), row
    assert "replaying wecom delivery msg:7300001" in process_b.log_tail(20_000)
