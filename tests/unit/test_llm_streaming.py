"""Streaming a structured answer (invoke_structured(on_text=...)): the pieces arrive, the result is unchanged."""

from __future__ import annotations

from typing import Any

import pytest

from agent.answer.llm_answer import AnswerTextStream, LLMAnswer
from salesbot.llm import StructuredOutputError, invoke_structured
from tests.fakes import ScriptedChatModel, json_reply, tool_call_reply
from tests.streaming_fakes import streaming_model

ANSWER = {"answer": "Payment is 30% in advance and 70% within 30 days; the \"net\" terms.", "cited_passages": [2, 1]}


def test_streamed_pieces_add_up_to_the_answer_and_the_result_is_the_non_streaming_one() -> None:
    pieces: list[str] = []
    streamed = invoke_structured(streaming_model(json_reply(ANSWER)), [("human", "q")], LLMAnswer,
                                 on_text=pieces.append)
    plain = invoke_structured(ScriptedChatModel(responses=[json_reply(ANSWER)]), [("human", "q")], LLMAnswer)
    assert streamed == plain == LLMAnswer(**ANSWER)
    assert len(pieces) > 3 and LLMAnswer.model_validate_json("".join(pieces)) == plain


def test_the_answer_field_is_read_out_of_the_json_as_it_grows() -> None:
    shown: list[str] = []
    invoke_structured(streaming_model(json_reply(ANSWER), piece_chars=4), [("human", "q")], LLMAnswer,
                      on_text=AnswerTextStream(shown.append))
    assert len(shown) > 3
    assert all(later.startswith(earlier) for earlier, later in zip(shown, shown[1:], strict=False))
    assert shown[-1] == ANSWER["answer"]  # escapes decoded, no JSON punctuation around it


def test_a_failing_listener_never_changes_the_answer() -> None:
    def broken(_piece: str) -> None:
        raise RuntimeError("display went away")

    result = invoke_structured(streaming_model(json_reply(ANSWER)), [("human", "q")], LLMAnswer, on_text=broken)
    assert result == LLMAnswer(**ANSWER)


def test_a_streamed_tool_call_reply_is_read_like_the_non_streaming_one() -> None:
    model = streaming_model(tool_call_reply("LLMAnswer", ANSWER))
    result = invoke_structured(model, [("human", "q")], LLMAnswer, on_text=lambda _piece: None)
    assert result == LLMAnswer(**ANSWER)


def test_streamed_text_that_is_not_the_schema_fails_like_the_non_streaming_call() -> None:
    with pytest.raises(StructuredOutputError):
        invoke_structured(streaming_model("no json here"), [("human", "q")], LLMAnswer, on_text=lambda _piece: None)


def test_the_openai_backend_streams_from_the_server(openai_stub_llm: Any) -> None:
    from salesbot.llm import load_chat_model

    openai_stub_llm.reply_json(ANSWER)
    openai_stub_llm.reply_json(ANSWER)
    pieces: list[str] = []
    streamed = invoke_structured(load_chat_model(), [("human", "q")], LLMAnswer, on_text=pieces.append)
    plain = invoke_structured(load_chat_model(), [("human", "q")], LLMAnswer)
    assert streamed == plain == LLMAnswer(**ANSWER)
    first, second = (request.body for request in openai_stub_llm.requests if request.method == "POST")
    assert first.get("stream") is True and not second.get("stream")
    assert first["response_format"] == second["response_format"]
    assert "".join(pieces) and LLMAnswer.model_validate_json("".join(pieces)) == plain
