"""End to end with the REAL agent.service and the sample knowledge base: Slack event → agent → stub Web API."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from sqlmodel import select

from connectors.slack.models import APPROVE_ACTION_ID, PendingBlockOrigin
from salesbot.settings import SAMPLES_DIR, reset_runtime
from tests.conftest import TESTDATA_DIR
from tests.stubs.slack_api import RunningSlackApp, app_mention_event, block_actions_payload, running_slack_app

ROLES_FILE = TESTDATA_DIR / "slack" / "roles.yaml"
REP, OTHER_REP = "U0ZHANGWEI", "U0LINA0001"
CHANNEL = "C0SALES001"
ANSWER_TIMEOUT_S = 240.0  # a bound on waiting for the lazy listener, not a speed requirement


@pytest.fixture
def slack_with_real_agent(monkeypatch: pytest.MonkeyPatch) -> Iterator[RunningSlackApp]:
    """Sample knowledge ingested (no LLM, no embeddings: the no-model path) and the connector on loopback."""
    from knowledge.ingest import ingest_paths

    monkeypatch.setenv("SALESBOT_LLM", "none")
    monkeypatch.setenv("SALESBOT_EMBEDDING", "none")
    reset_runtime()
    report = ingest_paths([SAMPLES_DIR])
    assert report.count("ingested") > 0
    with running_slack_app(roles_file=ROLES_FILE) as slack:  # no fakes: agent.service's own functions
        yield slack


def count_tasks() -> list[Any]:
    from tools.db.tables import Task, sales_session

    with sales_session() as session:
        return list(session.exec(select(Task)).all())


def friendly_errors(slack: RunningSlackApp) -> list[str]:
    texts = [str(call.params.get("text", "")) for call in slack.stub.calls
             if call.method in ("chat.postMessage", "chat.postEphemeral")]
    return [text for text in texts if text.startswith(("Sorry", "抱歉"))]


def press(slack: RunningSlackApp, post_params: dict[str, Any], message_ts: str, user: str) -> Any:
    """Press Approve on a posted message, sending back exactly the blocks the connector posted."""
    message = {"ts": message_ts, "thread_ts": post_params.get("thread_ts"), "text": post_params["text"],
               "blocks": post_params["blocks"]}
    [(block_id, button)] = [(block["block_id"], element) for block in post_params["blocks"]
                            if block["type"] == "actions" for element in block["elements"]
                            if element["action_id"] == APPROVE_ACTION_ID]
    return slack.post_interaction(block_actions_payload(APPROVE_ACTION_ID, button["value"], block_id, user, CHANNEL,
                                                        message))


@pytest.mark.slow
def test_mention_gets_a_threaded_cited_answer_from_the_knowledge_base(slack_with_real_agent: RunningSlackApp) -> None:
    slack = slack_with_real_agent
    event = app_mention_event("华东人民医院合同的设备质保期是多久？", REP, CHANNEL, "1700000000.000100")
    assert slack.post_event(event, "EvE2E1").status_code == 200
    [post] = slack.stub.wait_for_calls("chat.postMessage", 1, timeout_s=ANSWER_TIMEOUT_S)
    assert (post.params["channel"], post.params["thread_ts"]) == (CHANNEL, "1700000000.000100")
    assert "24个月" in post.params["text"]
    citations = " ".join(element["text"] for block in post.params["blocks"] if block["type"] == "context"
                         for element in block["elements"])
    assert "contract_huadong_x3_2025.md" in citations
    assert friendly_errors(slack) == []


@pytest.mark.slow
def test_task_proposal_buttons_approval_creates_exactly_one_task(slack_with_real_agent: RunningSlackApp) -> None:
    slack = slack_with_real_agent
    event = app_mention_event("给华东人民医院下周三安排一次回访", REP, CHANNEL, "1700000000.000200")
    assert slack.post_event(event, "EvE2E2").status_code == 200
    [proposal] = slack.stub.wait_for_calls("chat.postMessage", 1, timeout_s=ANSWER_TIMEOUT_S)
    actions_blocks = [block for block in proposal.params["blocks"] if block["type"] == "actions"
                      and PendingBlockOrigin.from_block_id(block["block_id"])]
    assert len(actions_blocks) == 1 and count_tasks() == []
    action_id = PendingBlockOrigin.from_block_id(actions_blocks[0]["block_id"]).action_id
    proposal_ts = proposal.response["ts"]  # the ts Slack gave the proposal message

    # Another rep presses Approve: refused, only they see why, nothing is written.
    assert press(slack, proposal.params, proposal_ts, OTHER_REP).status_code == 200
    [refusal] = slack.stub.wait_for_calls("chat.postEphemeral", 1, timeout_s=ANSWER_TIMEOUT_S)
    slack.executor.wait_idle(ANSWER_TIMEOUT_S)
    assert refusal.params["user"] == OTHER_REP and action_id in refusal.params["text"]
    assert count_tasks() == [] and slack.stub.calls_to("chat.update") == []

    # The proposer approves: exactly one task, the buttons are replaced, the outcome lands in the thread.
    assert press(slack, proposal.params, proposal_ts, REP).status_code == 200
    [update] = slack.stub.wait_for_calls("chat.update", 1, timeout_s=ANSWER_TIMEOUT_S)
    slack.executor.wait_idle(ANSWER_TIMEOUT_S)
    tasks = count_tasks()
    assert len(tasks) == 1 and tasks[0].action_id == action_id and tasks[0].owner == REP
    assert "华东人民医院" in tasks[0].customer_name
    assert update.params["ts"] == proposal_ts and "Approved by <@U0ZHANGWEI>" in json.dumps(update.params["blocks"])
    outcome = slack.stub.calls_to("chat.postMessage")[-1]
    assert outcome.params["thread_ts"] == "1700000000.000200"

    # A double click (the old message still on someone's screen) changes nothing.
    press(slack, proposal.params, proposal_ts, REP)
    slack.executor.wait_idle(ANSWER_TIMEOUT_S)
    assert len(count_tasks()) == 1
    assert friendly_errors(slack) == []
