"""The real llama.cpp path streamed (tiny random-weight GGUF): the same grammar-constrained answer, piece by piece."""

from __future__ import annotations

import pytest

from agent.answer.llm_answer import LLMAnswer
from salesbot.llm import invoke_structured, load_chat_model
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
