"""Handler logic with a fake agent and a recording Web API client (no servers)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from agent.models import Citation, TurnRequest, TurnResult
from connectors.slack.context import SlackConnectorContext
from connectors.slack.handle_action_button import apply_decision
from connectors.slack.models import DecisionRequest, PendingBlockOrigin, ReplyTarget
from connectors.slack.render import render_turn_result
from connectors.slack.reply import answer_and_reply, thread_id_for
from tests.action_views import action_view
from tests.conftest import TESTDATA_DIR
from tests.stubs.slack_api import RecordingSlackClient
from tools.gate.models import ActionView
from tools.gate.store import ActionNotAllowed

ROLES_FILE = TESTDATA_DIR / "slack" / "roles.yaml"
REP, OTHER_REP, MANAGER, VP = "U0ZHANGWEI", "U0LINA0001", "U0LIUYANG1", "U0ZHAOMIN1"
THREAD = ReplyTarget(channel="C0SALES001", user_id=REP, thread_ts="1700000000.000100")


def quote_action(required_approver: str = "manager", proposer: str = REP, proposer_role: str = "rep") -> ActionView:
    return action_view(id="Q4M8N", kind="submit_quote", args={"product": "QM-X3", "quantity": 20, "unit_price": 41000},
                       summary="Quote 20 × QM-X3 at 41,000 for Huadong People's Hospital", proposer=proposer,
                       proposer_role=proposer_role, required_approver=required_approver)


class FakeAgent:
    """Records requests; answers with whatever result the test set."""

    def __init__(self, result: TurnResult | None = None, error: Exception | None = None) -> None:
        self.result = result or TurnResult(answer="ok")
        self.error = error
        self.requests: list[TurnRequest] = []
        self.decisions: list[tuple] = []

    def answer_turn(self, request: TurnRequest) -> TurnResult:
        self.requests.append(request)
        if self.error:
            raise self.error
        return self.result

    def decide_action(self, action_id: str, decision: str, user_id: str, role: str,
                      edited_args: dict[str, Any] | None = None) -> TurnResult:
        self.decisions.append((action_id, decision, user_id, role, edited_args))
        if self.error:
            raise self.error
        return self.result


def context_for(agent: FakeAgent) -> SlackConnectorContext:
    return SlackConnectorContext(answer_turn=agent.answer_turn, decide_action=agent.decide_action,
                                 roles_file=ROLES_FILE, default_role="rep")


def test_question_reaches_the_agent_with_role_thread_and_channel() -> None:
    agent = FakeAgent(TurnResult(answer="24 months", citations=[Citation(source="c.docx", section="5", quote="q")]))
    client = RecordingSlackClient()
    answer_and_reply(context_for(agent), client, "warranty?", THREAD.model_copy(update={"user_id": MANAGER}),
                     thread_id_for("C0SALES001", "1700000000.000100"))
    # A shared channel: the manager is answered at the least-privileged role (see the next-but-one test).
    assert agent.requests == [TurnRequest(text="warranty?", user_id=MANAGER, role="rep",
                                          thread_id="slack:C0SALES001:1700000000.000100", channel="slack")]
    [post] = client.calls_to("chat.postMessage")
    assert (post.params["channel"], post.params["thread_ts"]) == ("C0SALES001", "1700000000.000100")
    assert post.params["blocks"] == render_turn_result(agent.result, PendingBlockOrigin(
        action_id="", origin_channel="C0SALES001", origin_thread_ts="1700000000.000100"))[1]


def test_unknown_slack_users_get_the_least_privileged_role() -> None:
    agent = FakeAgent()
    answer_and_reply(context_for(agent), RecordingSlackClient(), "hi", THREAD.model_copy(update={"user_id": "U0NEWBIE1"}),
                     "slack:C0SALES001")
    assert agent.requests[0].role == "rep"


def test_agent_failure_becomes_a_short_friendly_message_and_details_go_to_the_log(caplog) -> None:
    agent = FakeAgent(error=RuntimeError("chroma exploded at /secret/path"))
    client = RecordingSlackClient()
    with caplog.at_level(logging.ERROR):
        assert answer_and_reply(context_for(agent), client, "价格？", THREAD, "t") is None
    [post] = client.calls_to("chat.postMessage")
    assert post.params["text"].startswith("抱歉") and "secret" not in post.params["text"]
    assert post.params["thread_ts"] == THREAD.thread_ts
    assert "chroma exploded at /secret/path" in caplog.text


def test_chart_is_uploaded_into_the_thread(tmp_path: Path) -> None:
    chart = tmp_path / "revenue_by_region.png"
    chart.write_bytes(b"\x89PNG\r\n\x1a\n" + b"0" * 64)
    client = RecordingSlackClient()
    answer_and_reply(context_for(FakeAgent(TurnResult(answer="chart", chart=str(chart), route="data"))), client,
                     "revenue by region", THREAD.model_copy(update={"user_id": MANAGER}), "t")
    [upload] = client.calls_to("files_upload_v2")
    assert upload.params["file"] == str(chart)
    assert (upload.params["channel"], upload.params["thread_ts"]) == ("C0SALES001", "1700000000.000100")


def test_failed_chart_upload_is_explained_not_raised(tmp_path: Path) -> None:
    client = RecordingSlackClient(fail_methods={"files_upload_v2"})
    chart = tmp_path / "c.png"
    chart.write_bytes(b"png")
    answer_and_reply(context_for(FakeAgent(TurnResult(answer="chart", chart=str(chart)))), client, "q", THREAD, "t")
    texts = [call.params["text"] for call in client.calls_to("chat.postMessage")]
    assert texts == ["chart", "(The chart could not be uploaded here; the numbers are above.)"]


def test_manager_approval_is_sent_to_the_managers_dm() -> None:
    client = RecordingSlackClient()
    answer_and_reply(context_for(FakeAgent(TurnResult(answer="Needs approval", pending_actions=[quote_action()]))),
                     client, "quote 20 QM-X3 at 41000", THREAD, "t")
    assert [call.params["users"] for call in client.calls_to("conversations.open")] == [MANAGER]
    thread_post, dm_post = client.calls_to("chat.postMessage")
    assert thread_post.params["channel"] == "C0SALES001"
    assert dm_post.params["channel"] == "D0DIRECT" and dm_post.params.get("thread_ts") is None
    assert f"<@{REP}>" in dm_post.params["text"]
    dm_buttons = [block for block in dm_post.params["blocks"] if block["type"] == "actions"][0]
    assert PendingBlockOrigin.from_block_id(dm_buttons["block_id"]).origin_channel == "C0SALES001"


@pytest.mark.parametrize(("required", "proposer", "proposer_role", "expected_dms"), [
    ("vp", REP, "rep", [VP]),
    ("confirm", REP, "rep", []),
    ("manager", MANAGER, "manager", []),
])
def test_who_gets_an_approval_dm(required: str, proposer: str, proposer_role: str, expected_dms: list[str]) -> None:
    client = RecordingSlackClient()
    action = quote_action(required, proposer, proposer_role)
    answer_and_reply(context_for(FakeAgent(TurnResult(answer="x", pending_actions=[action]))), client, "q",
                     THREAD.model_copy(update={"user_id": proposer}), "t")
    assert [call.params["users"] for call in client.calls_to("conversations.open")] == expected_dms


def decision_request(user_id: str, channel: str = "C0SALES001", decision: str = "approve") -> DecisionRequest:
    origin = PendingBlockOrigin(action_id="Q4M8N", origin_channel="C0SALES001", origin_thread_ts="1700000000.000100")
    _, blocks = render_turn_result(TurnResult(answer="proposal", pending_actions=[quote_action()]), origin)
    return DecisionRequest(action_id="Q4M8N", decision=decision, user_id=user_id, channel=channel,
                           message_ts="1700000000.000200",
                           reply_thread_ts="1700000000.000100" if channel.startswith("C") else "1700000000.000200",
                           message_blocks=blocks, origin=origin)


def test_refusal_from_the_tools_layer_is_shown_only_to_the_presser() -> None:
    agent = FakeAgent(error=ActionNotAllowed("action Q4M8N needs manager approval; your role cannot approve it"))
    client = RecordingSlackClient()
    apply_decision(context_for(agent), client, decision_request(OTHER_REP))
    assert agent.decisions == [("Q4M8N", "approve", OTHER_REP, "rep", None)]
    [ephemeral] = client.calls_to("chat.postEphemeral")
    assert ephemeral.params["user"] == OTHER_REP
    assert ephemeral.params["text"] == "action Q4M8N needs manager approval; your role cannot approve it"
    assert client.calls_to("chat.update") == [] and client.calls_to("chat.postMessage") == []


def test_unexpected_decision_failure_is_friendly(caplog) -> None:
    client = RecordingSlackClient()
    with caplog.at_level(logging.ERROR):
        apply_decision(context_for(FakeAgent(error=KeyError("db"))), client, decision_request(MANAGER))
    [ephemeral] = client.calls_to("chat.postEphemeral")
    assert ephemeral.params["text"].startswith("Sorry") and "KeyError" not in ephemeral.params["text"]
    assert "KeyError" in caplog.text


def test_approval_updates_the_buttons_and_reports_in_the_thread() -> None:
    result = TurnResult(answer="Quote submitted.", route="decision", executed_actions=[quote_action().model_copy(update={"status": "executed"})])
    client = RecordingSlackClient()
    apply_decision(context_for(FakeAgent(result)), client, decision_request(MANAGER))
    [update] = client.calls_to("chat.update")
    assert update.params["ts"] == "1700000000.000200"
    assert not [block for block in update.params["blocks"] if block["type"] == "actions"]
    assert "Approved by <@U0LIUYANG1>" in str(update.params["blocks"])
    [post] = client.calls_to("chat.postMessage")
    assert (post.params["channel"], post.params["thread_ts"]) == ("C0SALES001", "1700000000.000100")
    assert "Quote 20 × QM-X3" in str(post.params["blocks"])


def test_approval_in_a_dm_is_also_reported_in_the_original_thread() -> None:
    client = RecordingSlackClient()
    apply_decision(context_for(FakeAgent(TurnResult(answer="Quote submitted."))), client,
                   decision_request(MANAGER, channel="D0LIUYANG1"))
    in_dm, in_origin = client.calls_to("chat.postMessage")
    assert in_dm.params["channel"] == "D0LIUYANG1"
    assert (in_origin.params["channel"], in_origin.params["thread_ts"]) == ("C0SALES001", "1700000000.000100")
    assert "Approved by <@U0LIUYANG1>" in str(in_origin.params["blocks"])


def test_feedback_buttons_record_adopted_and_rejected_in_tools_feedback() -> None:
    from sqlmodel import select

    from connectors.slack.context import default_record_feedback
    from tools.db.tables import Feedback, sales_session
    from tools.feedback import FeedbackError, record_suggestion

    suggestion_id = record_suggestion("answer", {"answer": "24 months"}, question="warranty?", user=REP)
    default_record_feedback(suggestion_id, True, REP)
    default_record_feedback(suggestion_id, False, OTHER_REP)
    with sales_session() as session:
        rows = session.exec(select(Feedback).order_by(Feedback.id)).all()
    assert [(row.suggestion_id, row.verdict, row.user) for row in rows] == [
        (suggestion_id, "adopted", REP), (suggestion_id, "rejected", OTHER_REP)]
    with pytest.raises(FeedbackError):
        default_record_feedback("SNOSUCH", True, REP)


def test_decision_in_the_dm_replaces_the_buttons_in_the_thread_and_the_dm() -> None:
    proposal = FakeAgent(TurnResult(answer="Needs approval", pending_actions=[quote_action()]))
    context = context_for(proposal)
    client = RecordingSlackClient()
    answer_and_reply(context, client, "quote 20 QM-X3 at 41000", THREAD, "t")
    thread_post, dm_post = client.calls_to("chat.postMessage")
    dm_buttons = next(block for block in dm_post.params["blocks"] if block["type"] == "actions")
    context.decide_action = FakeAgent(TurnResult(answer="Quote submitted.")).decide_action
    apply_decision(context, client, DecisionRequest(
        action_id="Q4M8N", decision="approve", user_id=MANAGER, channel="D0DIRECT",
        message_ts=dm_post.response["ts"], reply_thread_ts=dm_post.response["ts"],
        message_blocks=dm_post.params["blocks"], origin=PendingBlockOrigin.from_block_id(dm_buttons["block_id"])))
    updates = {(call.params["channel"], call.params["ts"]): call.params["blocks"] for call in client.calls_to("chat.update")}
    assert set(updates) == {("D0DIRECT", dm_post.response["ts"]), ("C0SALES001", thread_post.response["ts"])}
    for blocks in updates.values():
        assert not [block for block in blocks if block["type"] == "actions"]
        assert "Approved by <@U0LIUYANG1>" in str(blocks)


def test_a_manager_in_a_shared_channel_is_answered_with_the_least_privileged_role() -> None:
    agent = FakeAgent()
    client = RecordingSlackClient()
    in_channel = ReplyTarget(channel="C0SALES001", user_id=MANAGER, thread_ts="1700000000.000300")
    answer_and_reply(context_for(agent), client, "X3 的底价是多少？", in_channel, "slack:C0SALES001:1")
    in_dm = ReplyTarget(channel="D0LIUYANG1", user_id=MANAGER)
    answer_and_reply(context_for(agent), client, "X3 的底价是多少？", in_dm, "slack:D0LIUYANG1:1")
    assert [request.role for request in agent.requests] == ["rep", "manager"]
