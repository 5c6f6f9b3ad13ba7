"""Two real `salesbot serve wecom` processes on the server profile (one Postgres): every encrypted, signed message,
WeCom's retries included, is answered exactly once whichever process gets it, each callback within WeCom's 5 s;
a follow-up proposed through one process (then SIGKILLed) is approved through the other with the card's button
and executed once."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from knowledge.registry import read_registry_file
from salesbot.settings import SAMPLES_DIR
from tests.stubs.serve_processes import tasks_and_executions
from tests.stubs.wecom_api import WeComApiStub, card_event_xml, text_message_xml
from tests.stubs.wecom_processes import (
    CALLBACK_KEYS,
    WeComDelivery,
    WeComServeProcess,
    send_deliveries,
    start_processes,
    text_deliveries,
)

REP = "zhang.wei"
MESSAGES, REDELIVERIES = 16, 6  # 16 users' messages + 6 retries + 1 sent to both at once: quick on 2 cores
CALLBACK_LIMIT_S = 5.0  # WeCom retries a callback not answered within 5 s
ANSWER_TIMEOUT_S = 240.0  # a bound on waiting for the background replies on busy CI cores, not a speed requirement


@pytest.fixture
def two_processes(server_database: str, tmp_path: Path) -> Iterator[tuple[WeComApiStub, list[WeComServeProcess]]]:
    roles_file = tmp_path / "roles.yaml"
    roles_file.write_text(f"users:\n  {REP}: rep\n", encoding="utf-8")
    with WeComApiStub() as stub:
        processes = start_processes(2, stub, roles_file)
        try:
            yield stub, processes
        finally:
            for process in processes:
                process.stop()


def replies_per_user(stub: WeComApiStub) -> Counter[str]:
    return Counter(message["touser"] for message in stub.sent_messages())


def assert_all_answered_in_time(results: list[tuple[int | str, float]]) -> None:
    assert Counter(status for status, _seconds in results) == Counter({200: len(results)})
    assert max(seconds for _status, seconds in results) < CALLBACK_LIMIT_S


def test_each_message_and_retry_sent_to_either_process_is_answered_once(
        two_processes: tuple[WeComApiStub, list[WeComServeProcess]]) -> None:
    stub, processes = two_processes
    urls = [process.callback_url for process in processes]
    users = [f"rep.{number:02d}" for number in range(MESSAGES)]  # one user per message: replies count per user
    deliveries = text_deliveries(urls, MESSAGES, REDELIVERIES, users,
                                 ["QM-X3 的质保期是多久？", "What is the warranty of QM-X3?"], first_msg_id=7_100_000)
    # The first message also goes, unchanged, to the other process at the same moment (a load balancer that fanned
    # one callback out twice): the shared dedupe must still let only one of them answer.
    deliveries.insert(1, WeComDelivery(urls[1], deliveries[0].plaintext_xml))
    results = send_deliveries(deliveries, concurrency=len(deliveries))
    assert_all_answered_in_time(results)

    stub.wait_for_messages(MESSAGES, timeout_s=ANSWER_TIMEOUT_S)
    for process in processes:  # give a late duplicate (the bug this guards against) time to show up
        assert process.process.poll() is None, process.log_tail()
    stub.wait_for_messages(MESSAGES + 1, timeout_s=3)
    assert replies_per_user(stub) == Counter(dict.fromkeys(users, 1)), [process.log_tail() for process in processes]


def card_to(stub: WeComApiStub, user: str) -> dict[str, Any]:
    """The first template card sent to `user`, once one arrived."""
    def cards(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [message["template_card"] for message in messages
                if message["touser"] == user and message["msgtype"] == "template_card"]

    found = cards(stub.wait_until(lambda messages: bool(cards(messages)), ANSWER_TIMEOUT_S))
    assert found, f"no action card sent to {user}: {stub.sent_messages()}"
    return found[0]


def markdown_to(stub: WeComApiStub, user: str, count: int) -> list[str]:
    """The Markdown texts sent to `user`, once at least `count` of them arrived."""
    found = stub.wait_for_markdown_to(user, count, ANSWER_TIMEOUT_S)
    assert len(found) >= count, f"expected {count} replies to {user}, got {found}"
    return found


def test_proposal_through_a_killed_process_is_approved_through_the_other_once(
        two_processes: tuple[WeComApiStub, list[WeComServeProcess]]) -> None:
    stub, (process_a, process_b) = two_processes
    corp_id = CALLBACK_KEYS["corp_id"]
    customer = next(entry.name for entry in read_registry_file(SAMPLES_DIR / "entities.yaml")
                    if entry.type == "customer")
    proposal = text_message_xml(corp_id, REP, f"给{customer}下周三安排一次回访", "7200001")
    assert_all_answered_in_time(send_deliveries([WeComDelivery(process_a.callback_url, proposal)]))
    card = card_to(stub, REP)
    [approve_key] = [button["key"] for button in card["button_list"] if button["key"].startswith("approve:")]
    action_id = approve_key.split(":")[1]
    [proposal_text] = markdown_to(stub, REP, 1)
    assert f"确认 {action_id}" in proposal_text, proposal_text
    process_a.kill()  # nothing pending may live only in A's memory

    # The click on the card's 确认 button, reaching B, and WeCom's retry of the very same click event.
    click = card_event_xml(corp_id, REP, approve_key, card["task_id"], response_code="rc-7200001",
                           create_time=int(time.time()))
    assert_all_answered_in_time(send_deliveries([WeComDelivery(process_b.callback_url, click)] * 2))
    confirmed = markdown_to(stub, REP, 2)[-1]
    assert action_id in confirmed and "已执行" in confirmed, process_b.log_tail()
    # Confirming once more, by the text command, does nothing more.
    again = text_message_xml(corp_id, REP, f"确认 {action_id}", "7200002")
    assert_all_answered_in_time(send_deliveries([WeComDelivery(process_b.callback_url, again)]))
    assert action_id in markdown_to(stub, REP, 3)[-1]
    # Room for a late answer to the retried click (the bug this guards against) to show up.
    late = stub.wait_for_markdown_to(REP, 4, timeout_s=3)
    assert len(late) == 3, late

    tasks, executed = tasks_and_executions(action_id)
    assert len(tasks) == 1 and len(executed) == 1, process_b.log_tail()
    assert tasks[0].owner == REP
    [update] = stub.calls_to("/message/update_template_card")
    assert update.json_body is not None and update.json_body["response_code"] == "rc-7200001"
