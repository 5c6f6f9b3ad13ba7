"""The real llama.cpp path streamed (tiny random-weight GGUF): the same grammar-constrained answer, piece by piece."""

from __future__ import annotations

from typing import Any

import pytest

from agent.answer.llm_answer import LLMAnswer
from salesbot.llm import StructuredOutputError, invoke_structured, load_chat_model
from tests.fakes import RouteDecision

MESSAGES = [("human", "Which route does 'what is the X3 warranty?' take? Answer in JSON.")]


def test_a_streamed_llamacpp_answer_is_the_non_streaming_answer(tiny_llm_spec: str) -> None:
    model = load_chat_model()
    pieces: list[str] = []
    streamed = invoke_structured(model, MESSAGES, RouteDecision, on_text=pieces.append)
    plain = invoke_structured(model, MESSAGES, RouteDecision)
    assert streamed == plain  # greedy decoding with a fixed seed: streaming changes nothing
    assert len(pieces) > 1 and RouteDecision.model_validate_json("".join(pieces)) == plain


def test_a_streamed_llamacpp_call_keeps_to_the_turn_budget(tiny_llm_spec: str) -> None:

    from salesbot.llm import ModelUnavailableError, turn_budget

    pieces: list[str] = []
    with turn_budget(0.0), pytest.raises(ModelUnavailableError, match="SALESBOT_LLM_TURN_BUDGET_S"):
        invoke_structured(load_chat_model(), MESSAGES, LLMAnswer, on_text=pieces.append)
    assert pieces == []


@pytest.mark.slow
def test_real_weights_stream_the_same_answer_as_without_streaming(monkeypatch: pytest.MonkeyPatch) -> None:
    from agent.answer.llm_answer import AnswerTextStream
    from tests.real_models import use_smollm2

    use_smollm2(monkeypatch, n_ctx=1024, turn_budget_s=None)
    model = load_chat_model()
    messages = [("human", "Passage [1]: The warranty period is 24 months from acceptance.\n"
                          "Question: How long is the warranty? Answer with the passage numbers you used.")]
    shown: list[str] = []

    def outcome(**streaming: Any) -> Any:  # the answer, or the error a small model's answer ends in
        try:
            return invoke_structured(model, messages, LLMAnswer, **streaming)
        except StructuredOutputError as error:
            return str(error)

    streamed = outcome(on_text=AnswerTextStream(shown.append))
    assert streamed == outcome()  # the same answer, or the same failure, as without streaming
    assert all(later.startswith(earlier) for earlier, later in zip(shown, shown[1:], strict=False))
    if isinstance(streamed, LLMAnswer) and streamed.answer.strip():
        assert shown[-1] == streamed.answer


@pytest.mark.slow
def test_real_weights_through_slack_end_with_the_turns_checked_answer(sample_home, monkeypatch) -> None:
    from connectors.slack.context import SlackConnectorContext
    from connectors.slack.models import ReplyTarget
    from connectors.slack.reply import answer_and_reply
    from tests.conftest import TESTDATA_DIR
    from tests.real_models import use_smollm2
    from tests.stubs.slack_api import RecordingSlackClient

    use_smollm2(monkeypatch)
    client = RecordingSlackClient()
    context = SlackConnectorContext(roles_file=TESTDATA_DIR / "slack" / "roles.yaml", stream_update_interval_s=0.0)
    target = ReplyTarget(channel="C0SALES001", user_id="U0ZHANGWEI", thread_ts="1700000000.000900")
    result = answer_and_reply(context, client, "What are the payment terms in the Northwind supply agreement?",
                              target, "t-real-slack-stream")  # type: ignore[arg-type]
    assert result is not None and result.route == "knowledge" and not result.refused
    [placeholder] = client.calls_to("chat.postMessage")  # the extractive answer, posted before the model wrote
    final = client.calls_to("chat.update")[-1].params
    assert final["ts"] == placeholder.response["ts"] and final["text"] == result.answer
    assert "supply_agreement_northwind_g5_2025.md" in str(final["blocks"])
