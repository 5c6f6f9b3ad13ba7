"""Streaming to people with the REAL agent and the sample knowledge base: Slack (stub Web API), WeCom (stub API),
the CLI. A scripted model streams its answer in pieces; the final answer is always the checked turn result."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from agent.models import TurnRequest, TurnResult
from agent.service import answer_turn
from connectors.slack.context import SlackConnectorContext
from connectors.slack.models import ReplyTarget
from connectors.slack.reply import answer_and_reply
from tests.conftest import TESTDATA_DIR
from tests.fakes import ScriptedChatModel, json_reply
from tests.streaming_fakes import streaming_model
from tests.stubs.slack_api import RecordingSlackClient

QUESTION = "华东人民医院的X3质保期是多久？"
GOOD = {"answer": "根据合同，华东人民医院X3设备的质保期为24个月，自验收合格之日起计算。", "cited_passages": [1]}
UNSUPPORTED = {"answer": "质保期为99个月。", "cited_passages": [1]}  # 99 is in no passage: the post-check rejects it
THREAD = ReplyTarget(channel="C0SALES001", user_id="U0ZHANGWEI", thread_ts="1700000000.000100")
ROLES_FILE = TESTDATA_DIR / "slack" / "roles.yaml"


def use_model(monkeypatch: pytest.MonkeyPatch, model: Any) -> Any:
    monkeypatch.setattr("agent.nodes._chat_model", lambda: model)
    return model


def non_streaming_answer(monkeypatch: pytest.MonkeyPatch, payload: dict[str, Any] | None, thread: str) -> TurnResult:
    """What the same turn answers with nobody watching (the non-streaming path), on a thread of its own."""
    use_model(monkeypatch, ScriptedChatModel(responses=[json_reply(payload)]) if payload else None)
    return answer_turn(TurnRequest(text=QUESTION, thread_id=thread))


def slack_reply(client: RecordingSlackClient, thread: str) -> TurnResult | None:
    context = SlackConnectorContext(roles_file=ROLES_FILE, stream_update_interval_s=0.0)  # the real agent.service
    return answer_and_reply(context, client, QUESTION, THREAD, thread)  # type: ignore[arg-type]


def test_slack_posts_the_extractive_answer_first_edits_it_and_ends_with_the_checked_answer(
        sample_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    expected = non_streaming_answer(monkeypatch, GOOD, "t-plain")
    client = RecordingSlackClient()
    posts_while_writing: list[int] = []
    use_model(monkeypatch, streaming_model(json_reply(GOOD), piece_chars=5, between_pieces=lambda _n: (
        posts_while_writing.append(len(client.calls_to("chat.postMessage"))))))
    result = slack_reply(client, "t-slack-stream")
    assert result is not None and result.answer == expected.answer == GOOD["answer"]
    [placeholder] = client.calls_to("chat.postMessage")
    assert posts_while_writing and set(posts_while_writing) == {1}  # the placeholder was up before the model wrote
    assert "24个月" in placeholder.params["text"] and "初步回答" in str(placeholder.params["blocks"])
    updates = client.calls_to("chat.update")
    assert len(updates) >= 3 and {update.params["ts"] for update in updates} == {placeholder.response["ts"]}
    drafts = [update.params["text"] for update in updates[:-1]]
    assert all(GOOD["answer"].startswith(draft) for draft in drafts)  # the model's text as it grew
    final = updates[-1].params
    assert final["text"] == expected.answer
    assert [c.model_dump() for c in result.citations] == [c.model_dump() for c in expected.citations]
    assert "contract_huadong_x3_2025.md" in str(final["blocks"]) and "初步回答" not in str(final["blocks"])


def test_slack_ends_with_the_extractive_answer_when_the_model_fails_the_post_check(
        sample_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    no_llm = non_streaming_answer(monkeypatch, None, "t-no-llm")
    client = RecordingSlackClient()
    use_model(monkeypatch, streaming_model(json_reply(UNSUPPORTED), piece_chars=4))
    result = slack_reply(client, "t-slack-rejected")
    assert result is not None and result.answer == no_llm.answer and "24个月" in result.answer
    [placeholder] = client.calls_to("chat.postMessage")
    updates = client.calls_to("chat.update")
    assert any("99" in update.params["text"] for update in updates[:-1])  # shown while written, as unchecked text
    assert updates[-1].params["ts"] == placeholder.response["ts"]
    assert updates[-1].params["text"] == no_llm.answer and "99" not in str(updates[-1].params["blocks"])


def test_slack_ends_with_the_extractive_answer_when_the_turn_budget_runs_out(
        sample_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    from salesbot.settings import reset_runtime

    no_llm = non_streaming_answer(monkeypatch, None, "t-no-llm-budget")
    monkeypatch.setenv("SALESBOT_LLM_TURN_BUDGET_S", "0.5")
    reset_runtime()
    client = RecordingSlackClient()
    # The model writes slowly: the budget ends while it is still writing, and the answer is cut.
    model = use_model(monkeypatch, streaming_model(json_reply(GOOD), piece_chars=5,
                                                   between_pieces=lambda _n: time.sleep(0.3)))
    result = slack_reply(client, "t-slack-budget")
    assert result is not None and result.answer == no_llm.answer
    assert len(model.streamed_pieces) < len(json_reply(GOOD).content) / 5  # cut before the end
    [placeholder] = client.calls_to("chat.postMessage")
    final = client.calls_to("chat.update")[-1].params
    assert final["ts"] == placeholder.response["ts"] and final["text"] == no_llm.answer


def test_slack_shows_a_working_note_while_the_model_routes_then_the_answer_in_its_place(
        sample_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fragment = QUESTION.rstrip("？")  # no question form: the rules are unsure and ask the model for the route
    client = RecordingSlackClient()
    model = use_model(monkeypatch, streaming_model(json_reply({"route": "knowledge"}), json_reply(GOOD), piece_chars=5))
    context = SlackConnectorContext(roles_file=ROLES_FILE, stream_update_interval_s=0.0)
    result = answer_and_reply(context, client, fragment, THREAD, "t-slack-routing")  # type: ignore[arg-type]
    assert result is not None and result.route == "knowledge" and result.answer == GOOD["answer"]
    assert model.i == 2  # asked twice: the route, then the answer
    [note] = client.calls_to("chat.postMessage")
    assert "处理中" in str(note.params["blocks"])
    updates = client.calls_to("chat.update")
    assert {update.params["ts"] for update in updates} == {note.response["ts"]}
    assert "初步回答" in str(updates[0].params["blocks"]) and updates[-1].params["text"] == GOOD["answer"]


def test_slack_without_a_model_posts_exactly_one_message(sample_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    use_model(monkeypatch, None)
    client = RecordingSlackClient()
    result = slack_reply(client, "t-slack-no-llm")
    [post] = client.calls_to("chat.postMessage")
    assert result is not None and post.params["text"] == result.answer and "24个月" in result.answer
    assert client.calls_to("chat.update") == []


def test_slack_http_app_streams_through_the_web_api_stub(sample_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.stubs.slack_api import app_mention_event, running_slack_app

    use_model(monkeypatch, streaming_model(json_reply(GOOD)))
    with running_slack_app(roles_file=ROLES_FILE) as slack:
        event = app_mention_event(QUESTION, "U0ZHANGWEI", "C0SALES001", "1700000000.000300")
        assert slack.post_event(event, "EvStream1").status_code == 200
        slack.executor.wait_idle(timeout_s=240.0)
        [placeholder] = [call for call in slack.stub.calls if call.method == "chat.postMessage"]
        final = [call for call in slack.stub.calls if call.method == "chat.update"][-1]
    assert final.params["ts"] == placeholder.response["ts"] and final.params["text"] == GOOD["answer"]
    assert placeholder.params["thread_ts"] == "1700000000.000300"


# ---- WeCom: the real sender against the stub message API ----


def wecom_answer(monkeypatch: pytest.MonkeyPatch, model: Any) -> list[str]:
    from connectors.wecom.context import WeComHandlerContext
    from connectors.wecom.handle_text_message import handle_text_message
    from connectors.wecom.models import WeComTextMessage
    from connectors.wecom.sender import ConfigurableWeComClient, WeComSender
    from tests.stubs.wecom_api import STUB_AGENT_ID, STUB_CORP_ID, STUB_SECRET, WeComApiStub

    use_model(monkeypatch, model)
    with WeComApiStub() as api:
        sender = WeComSender(ConfigurableWeComClient(STUB_CORP_ID, STUB_SECRET, api.base_url), STUB_AGENT_ID)
        context = WeComHandlerContext(sender=sender, role_for=lambda _user: "rep", approvers_for=lambda _r: [])
        handle_text_message(WeComTextMessage(msg_id="m1", from_user="zhang.wei", to_user=STUB_CORP_ID,
                                             agent_id=STUB_AGENT_ID, content=QUESTION), context)
        return api.sent_markdown()


def test_wecom_sends_the_extractive_answer_then_the_accepted_model_answer(
        sample_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first, second = wecom_answer(monkeypatch, streaming_model(json_reply(GOOD)))
    assert "24个月" in first and "contract_huadong_x3_2025.md" in first and "更完整的回答" not in first
    assert "更完整的回答" in second and GOOD["answer"] in second


def test_wecom_sends_nothing_more_when_the_model_answer_is_rejected(
        sample_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    [only] = wecom_answer(monkeypatch, streaming_model(json_reply(UNSUPPORTED)))
    assert "24个月" in only and "99" not in only


def test_wecom_without_a_model_sends_one_message(sample_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    [only] = wecom_answer(monkeypatch, None)
    assert "24个月" in only


# ---- CLI chat ----


def test_cli_chat_prints_the_model_text_as_it_arrives_then_the_checked_answer(
        sample_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from connectors.cli import app

    use_model(monkeypatch, streaming_model(json_reply(GOOD), piece_chars=5))
    result = CliRunner().invoke(app, ["chat", "--stream", "--thread", "t-cli-stream"], input=f"{QUESTION}\nexit\n")
    assert result.exit_code == 0, result.output
    written, _, final = result.output.partition("salesbot · knowledge")
    assert "the model is writing" in written and GOOD["answer"] in written  # streamed before the final panel
    assert "contract_huadong_x3_2025.md" in final and "24个月" in final


def test_cli_chat_does_not_stream_off_a_terminal(sample_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from connectors.cli import app

    use_model(monkeypatch, streaming_model(json_reply(GOOD)))
    result = CliRunner().invoke(app, ["chat", "--thread", "t-cli-plain"], input=f"{QUESTION}\nexit\n")
    assert result.exit_code == 0, result.output
    assert "the model is writing" not in result.output and "24个月" in result.output
