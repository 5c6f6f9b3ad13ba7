"""Every model call goes through salesbot.llm: the llama.cpp lock is held, messages are converted publicly."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from langchain_core.language_models.fake_chat_models import FakeMessagesListChatModel
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage
from langchain_core.outputs import ChatResult

from salesbot import llm
from salesbot.llm import StructuredOutputError, invoke_structured, parse_structured_text
from tests.fakes import RouteDecision

STORE_1 = Path(__file__).resolve().parents[2] / "benchmarks" / "data" / "text2sql" / "store_1.sqlite"


def llamacpp_lock_is_held() -> bool:
    """True when some thread holds the llama.cpp inference lock (probed from a fresh thread: RLock re-enters)."""
    free: list[bool] = []

    def probe() -> None:
        acquired = llm._llamacpp_inference_lock.acquire(blocking=False)
        if acquired:
            llm._llamacpp_inference_lock.release()
        free.append(acquired)

    thread = threading.Thread(target=probe)
    thread.start()
    thread.join()
    return not free[0]


class ChatLlamaCpp(FakeMessagesListChatModel):
    """A scripted model the adapter takes for llama.cpp (by class name); it records whether the lock was held."""

    lock_held_during_calls: list[bool] = []

    def _generate(self, messages: list[Any], stop: Any = None, run_manager: Any = None, **kwargs: Any) -> ChatResult:
        self.lock_held_during_calls.append(llamacpp_lock_is_held())
        return super()._generate(messages, stop, run_manager, **kwargs)


class RecordingLlamaClient:
    """Stands in for llama_cpp.Llama: keeps the chat-completion requests, answers with preset JSON."""

    def __init__(self, content: str, finish_reason: str = "stop") -> None:
        self.content = content
        self.finish_reason = finish_reason
        self.requests: list[dict[str, Any]] = []
        self.lock_held: list[bool] = []
        self.chunks_read = 0

    def create_chat_completion(self, **request: Any) -> Any:
        self.requests.append(request)
        self.lock_held.append(llamacpp_lock_is_held())
        if request.get("stream"):
            return self._chunks()
        return {"choices": [{"message": {"role": "assistant", "content": self.content},
                             "finish_reason": self.finish_reason}]}

    def _chunks(self) -> Iterator[dict[str, Any]]:
        # As llama_cpp.Llama streams: a role delta, the text a few characters at a time, then the finish reason.
        yield {"choices": [{"delta": {"role": "assistant"}, "finish_reason": None}]}
        for start in range(0, len(self.content), 4):
            self.chunks_read += 1
            yield {"choices": [{"delta": {"content": self.content[start:start + 4]}, "finish_reason": None}]}
        yield {"choices": [{"delta": {}, "finish_reason": self.finish_reason}]}


class StructuredChatLlamaCpp:
    """Just what invoke_structured reads from a ChatLlamaCpp: its llama.cpp client and max_tokens."""

    def __init__(self, client: RecordingLlamaClient) -> None:
        self.client = client
        self.max_tokens = 64


StructuredChatLlamaCpp.__name__ = "ChatLlamaCpp"


def test_a_text_to_sql_model_call_holds_the_llamacpp_lock(tmp_path: Path) -> None:
    from tools.text2sql.service import answer_data_question

    database = tmp_path / "store_1.sqlite"
    shutil.copy(STORE_1, database)
    model = ChatLlamaCpp(responses=[AIMessage(content="```sql\nSELECT COUNT(*) FROM genres\n```")],
                         lock_held_during_calls=[])
    # The service asks the model only where the rules cannot read the question.
    answer = answer_data_question("Zorblax quux frobnicate?", "manager", db_url=f"sqlite:///{database}", llm=model)
    assert answer.method == "llm" and answer.rows == [[25]]
    assert model.lock_held_during_calls == [True]
    assert not llamacpp_lock_is_held()


def test_a_failing_model_leaves_the_text_to_sql_answer_to_the_rules(tmp_path: Path) -> None:
    from tools.text2sql.service import answer_data_question

    class ChatLlamaCpp(FakeMessagesListChatModel):
        def _generate(self, *args: Any, **kwargs: Any) -> ChatResult:
            raise ValueError("Requested tokens (9000) exceed context window of 4096")

    database = tmp_path / "store_1.sqlite"
    shutil.copy(STORE_1, database)
    url = f"sqlite:///{database}"
    unreadable = answer_data_question("Zorblax quux frobnicate?", "manager", db_url=url, llm=ChatLlamaCpp(responses=[]))
    assert unreadable.method == "none" and not unreadable.rows
    assert "did not answer" in unreadable.message and "context window" not in unreadable.message
    answer = answer_data_question("How many genres are there?", "manager", db_url=url, llm=ChatLlamaCpp(responses=[]))
    assert answer.method == "rules" and answer.rows == [[25]]
    assert not llamacpp_lock_is_held()


def test_structured_llamacpp_call_sends_role_content_dicts_under_the_lock() -> None:
    client = RecordingLlamaClient('{"route": "pricing", "reason": "discount"}')
    messages = [SystemMessage(content="Route the turn."), HumanMessage(content="10% off?"),
                AIMessage(content="Which product?"), HumanMessage(content="the X3")]
    decision = invoke_structured(StructuredChatLlamaCpp(client), messages, RouteDecision)
    assert decision == RouteDecision(route="pricing", reason="discount")
    request = client.requests[0]
    assert request["messages"] == [
        {"role": "system", "content": "Route the turn."}, {"role": "user", "content": "10% off?"},
        {"role": "assistant", "content": "Which product?"}, {"role": "user", "content": "the X3"},
    ]
    assert request["response_format"]["schema"] == RouteDecision.model_json_schema()
    assert client.lock_held == [True] and not llamacpp_lock_is_held()


def test_structured_llamacpp_call_accepts_a_plain_prompt_string() -> None:
    client = RecordingLlamaClient('{"route": "help"}')
    assert invoke_structured(StructuredChatLlamaCpp(client), "what can you do?", RouteDecision).route == "help"
    assert client.requests[0]["messages"] == [{"role": "user", "content": "what can you do?"}]


def test_a_truncated_llamacpp_answer_is_a_structured_output_error() -> None:
    client = RecordingLlamaClient('{"route": "pri', finish_reason="length")
    with pytest.raises(StructuredOutputError, match="ran out of tokens"):
        invoke_structured(StructuredChatLlamaCpp(client), "q", RouteDecision)


@pytest.mark.parametrize("text", [
    '{"route": "data"}',
    'Sure! Here is the decision: {"route": "data", "reason": "numbers"} Hope that helps.',
    '```\n{"route": "data"}\n```',
    '```json\n{"route": "data"}\n```',
    '  \n```json {"route": "data"} ``` trailing words',
])
def test_parse_structured_text_tolerates_fences_and_chatter(text: str) -> None:
    assert parse_structured_text(text, RouteDecision).route == "data"


@pytest.mark.parametrize("text", ['{"route": "data", "reason": "x"', '```json\n{"route": \n```', '[{"route": "data"}]'])
def test_parse_structured_text_does_not_repair_broken_or_misshapen_json(text: str) -> None:
    with pytest.raises(StructuredOutputError, match="not a valid RouteDecision"):
        parse_structured_text(text, RouteDecision)


def test_the_adapter_uses_no_private_langchain_api() -> None:
    source = Path(llm.__file__).read_text(encoding="utf-8")
    assert "._create_message_dicts" not in source and "_convert_message_to_dict" not in source


def test_a_structured_answer_caught_in_a_decoding_loop_is_stopped_early() -> None:
    # What SmolLM2 does on a long prompt: '{ "answer" : "1.1.1.1.…' until max_tokens.
    client = RecordingLlamaClient('{"route": "help", "reason": "' + "1." * 2000 + '"}')
    with pytest.raises(StructuredOutputError, match="repeated '1.'|repeated '.1'"):
        invoke_structured(StructuredChatLlamaCpp(client), "what can you do?", RouteDecision)
    assert client.chunks_read < 100  # stopped within a few dozen tokens of the loop, not at the answer's end (1,000)


def test_a_structured_answer_with_repeated_words_but_no_loop_is_kept() -> None:
    reason = "ab " * 10 + "-" * 12  # short repeats, under the loop threshold
    client = RecordingLlamaClient('{"route": "help", "reason": "' + reason + '"}')
    assert invoke_structured(StructuredChatLlamaCpp(client), "what can you do?", RouteDecision).route == "help"
