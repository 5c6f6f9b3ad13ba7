"""Two real `salesbot serve slack` processes on the server profile (one Postgres): every signed event, retries
included, is answered exactly once whichever process gets it; a proposal made through one process (then
SIGKILLed) is approved through the other and executed once."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import pytest

from connectors.slack.models import APPROVE_ACTION_ID, PendingBlockOrigin
from tests.stubs.serve_processes import tasks_and_executions
from tests.stubs.slack_api import SlackApiStub, app_mention_event, block_actions_payload, event_callback_body
from tests.stubs.slack_processes import (
    SignedDelivery,
    SlackServeProcess,
    mention_deliveries,
    post_interaction,
    send_deliveries,
    start_processes,
)

CHANNEL = "C0SALES001"
REP = "U0ZHANGWEI"
EVENTS, REDELIVERIES = 32, 8  # 40 deliveries: enough to interleave both processes, quick on 2 cores
ACK_LIMIT_S = 3.0
ANSWER_TIMEOUT_S = 240.0  # a bound on waiting for lazy listeners on busy CI cores, not a speed requirement


@pytest.fixture
def two_processes(server_database: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[SlackApiStub,
                                                                                           list[SlackServeProcess]]]:
    monkeypatch.setenv("SALESBOT_EMBEDDING", "none")
    monkeypatch.setenv("SALESBOT_LLM", "none")
    with SlackApiStub() as stub:
        processes = start_processes(2, stub.base_url)
        try:
            yield stub, processes
        finally:
            for process in processes:
                process.stop()


def test_each_event_and_retry_sent_to_both_processes_is_answered_once(
        two_processes: tuple[SlackApiStub, list[SlackServeProcess]]) -> None:
    stub, processes = two_processes
    urls = [process.events_url for process in processes]
    deliveries, timestamps = mention_deliveries(urls, EVENTS, REDELIVERIES, CHANNEL, [REP, "U0LINA0001"],
                                                ["QM-X3 的质保期是多久？", "What is the warranty of QM-X3?"], "Two")
    # The same first delivery also goes, unchanged, to the other process at the same time (a load balancer
    # that fanned one event out twice): the shared dedupe must still let only one of them answer.
    deliveries += [SignedDelivery(urls[1], deliveries[0].body, {})]
    results = send_deliveries(deliveries, concurrency=20)
    assert Counter(status for status, _seconds in results) == Counter({200: len(deliveries)})
    assert max(seconds for _status, seconds in results) < ACK_LIMIT_S

    posts = stub.wait_for_calls("chat.postMessage", EVENTS, timeout_s=ANSWER_TIMEOUT_S)
    for process in processes:  # give a late duplicate (the bug this guards against) time to show up
        assert process.process.poll() is None, process.log_tail()
    stub.wait_for_calls("chat.postMessage", EVENTS + 1, timeout_s=3)
    answers = Counter(post.params.get("thread_ts") for post in stub.calls_to("chat.postMessage"))
    assert len(posts) >= EVENTS, [process.log_tail() for process in processes]
    assert {ts: answers.get(ts, 0) for ts in timestamps} == dict.fromkeys(timestamps, 1)
    assert sum(answers.values()) == EVENTS


def test_proposal_through_a_killed_process_is_approved_through_the_other_once(
        two_processes: tuple[SlackApiStub, list[SlackServeProcess]]) -> None:
    import json

    stub, (process_a, process_b) = two_processes
    [(status, _seconds)] = send_deliveries([SignedDelivery(process_a.events_url, json.dumps(event_callback_body(
        app_mention_event("给华东人民医院下周三安排一次回访", REP, CHANNEL, "1700000000.000200"), "EvTwoGate1"),
        ensure_ascii=False), {})])
    assert status == 200
    [proposal] = stub.wait_for_calls("chat.postMessage", 1, timeout_s=ANSWER_TIMEOUT_S)
    [(block_id, button)] = [(block["block_id"], element) for block in proposal.params.get("blocks") or []
                            if block["type"] == "actions" for element in block["elements"]
                            if element["action_id"] == APPROVE_ACTION_ID] or [(None, None)]
    assert block_id, f"no Approve button in {proposal.params}; process A log: {process_a.log_tail()}"
    origin = PendingBlockOrigin.from_block_id(block_id)
    assert origin is not None
    action_id = origin.action_id
    process_a.kill()  # nothing pending may live only in A's memory

    message = {"ts": proposal.response["ts"], "thread_ts": proposal.params.get("thread_ts"),
               "text": proposal.params["text"], "blocks": proposal.params["blocks"]}
    payload = block_actions_payload(APPROVE_ACTION_ID, button["value"], block_id, REP, CHANNEL, message)
    assert post_interaction(process_b.events_url, payload).status_code == 200
    stub.wait_for_calls("chat.update", 1, timeout_s=ANSWER_TIMEOUT_S)
    assert post_interaction(process_b.events_url, payload).status_code == 200  # a double click
    stub.wait_for_calls("chat.update", 2, timeout_s=5)

    tasks, executed = tasks_and_executions(action_id)
    assert len(tasks) == 1 and len(executed) == 1, process_b.log_tail()
    assert tasks[0].owner == REP
