"""The real llama-cpp-python path, with a tiny random-weight GGUF written by the tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage
from pydantic import BaseModel, Field

from salesbot.llm import (
    ModelUnavailableError,
    bind_tools_for,
    invoke_model,
    invoke_structured,
    load_chat_model,
)
from salesbot.settings import reset_runtime
from tests.fakes import (
    TINY_GGUF_CONTEXT_LENGTH,
    TINY_GGUF_EMBEDDING_LENGTH,
    create_follow_up_task,
    look_up_list_price,
)
from tests.real_models import use_smollm2


class RouteDecision(BaseModel):
    """Which path a turn takes."""

    route: Literal["knowledge", "pricing", "task", "data", "help"]
    reason: str = Field(max_length=40)


class CitedPassage(BaseModel):
    passage_id: int
    quote: str = Field(max_length=30)


class GroundedAnswer(BaseModel):
    """Nested schema ($defs / $ref) as the answer step would use it."""

    answer: str = Field(max_length=60)
    citations: list[CitedPassage] = Field(max_length=3)
    refused: bool


def test_loads_from_settings_with_the_chat_template_from_the_gguf(tiny_llm_spec: str) -> None:
    model = load_chat_model()
    assert type(model).__name__ == "ChatLlamaCpp"
    # No chat_format was given: llama-cpp-python recognised the ChatML template stored in the file.
    assert model.client.chat_format == "chatml"  # type: ignore[union-attr]
    assert model.client.n_ctx() == TINY_GGUF_CONTEXT_LENGTH  # type: ignore[union-attr]
    assert model.temperature == 0.0  # type: ignore[union-attr]
    assert model.n_batch == 512  # type: ignore[union-attr]
    assert load_chat_model(tiny_llm_spec) is model


def test_answers_a_chat_turn(tiny_llm_spec: str) -> None:
    model = load_chat_model()
    reply = invoke_model(model, [SystemMessage(content="Answer briefly."), HumanMessage(content="hello")])
    assert isinstance(reply, AIMessage)
    assert isinstance(reply.content, str)
    assert not reply.tool_calls


def test_structured_routing_output_is_a_valid_instance_and_repeatable(tiny_llm_spec: str) -> None:
    model = load_chat_model()
    messages = [SystemMessage(content="Route the question."), HumanMessage(content="CRM Pro 50 seats price?")]
    first = invoke_structured(model, messages, RouteDecision)
    again = invoke_structured(model, messages, RouteDecision)
    assert isinstance(first, RouteDecision)
    assert first.route in {"knowledge", "pricing", "task", "data", "help"}
    assert first == again  # greedy decoding with a fixed seed


def test_structured_output_handles_nested_schemas(tiny_llm_spec: str) -> None:
    parsed = invoke_structured(load_chat_model(), "answer from passages [1] and [2]", GroundedAnswer)
    assert isinstance(parsed, GroundedAnswer)
    assert all(isinstance(citation, CitedPassage) for citation in parsed.citations)


def test_forced_tool_call_has_the_named_tool_and_its_arguments(tiny_llm_spec: str) -> None:
    model = load_chat_model()
    bound = bind_tools_for(
        model, [create_follow_up_task, look_up_list_price], tool_name="create_follow_up_task"
    )
    reply = invoke_model(bound, "remind me to call ACME next Wednesday")
    assert len(reply.tool_calls) == 1
    assert reply.tool_calls[0]["name"] == "create_follow_up_task"
    assert set(reply.tool_calls[0]["args"]) == {"customer", "due_date"}


def test_a_single_tool_is_forced_without_naming_it(tiny_llm_spec: str) -> None:
    bound = bind_tools_for(load_chat_model(), [look_up_list_price])
    reply = invoke_model(bound, "price of CRM Pro")
    assert [call["name"] for call in reply.tool_calls] == ["look_up_list_price"]
    assert set(reply.tool_calls[0]["args"]) == {"product"}


def test_llamacpp_tool_choice_uses_the_dict_form(tiny_llm_spec: str) -> None:
    bound = bind_tools_for(
        load_chat_model(), [create_follow_up_task, look_up_list_price], tool_name="look_up_list_price"
    )
    assert bound.kwargs["tool_choice"] == {"type": "function", "function": {"name": "look_up_list_price"}}  # type: ignore[attr-defined]
    unforced = bind_tools_for(load_chat_model(), [create_follow_up_task, look_up_list_price])
    assert unforced.kwargs["tool_choice"] is None  # type: ignore[attr-defined]


def test_missing_model_file_names_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "models" / "qwen.gguf"
    with pytest.raises(ModelUnavailableError, match="model file not found: .*qwen.gguf"):
        load_chat_model(f"llamacpp:{missing}")


def test_a_file_that_is_not_a_gguf_model_is_an_unavailable_error_naming_it(tmp_path: Path) -> None:
    not_a_model = tmp_path / "notes.gguf"
    not_a_model.write_bytes(b"this is not a model" * 100)
    with pytest.raises(ModelUnavailableError) as error_info:
        load_chat_model(f"llamacpp:{not_a_model}")
    assert str(not_a_model) in str(error_info.value)
    assert "could not load" in str(error_info.value)


def test_mean_pooling_gguf_gives_one_vector_per_text(tiny_embedding_gguf_path: Path) -> None:
    from llama_cpp import Llama

    embedder = Llama(str(tiny_embedding_gguf_path), embedding=True, n_ctx=512, verbose=False)
    vectors = embedder.embed(["floor price of CRM Pro", "质保多久"])
    assert len(vectors) == 2
    assert all(len(vector) == TINY_GGUF_EMBEDDING_LENGTH for vector in vectors)
    assert vectors[0] != vectors[1]


@pytest.mark.parametrize("structured", [False, True])
def test_a_prompt_longer_than_the_context_is_an_unavailable_error(
    tiny_gguf_path: Path, monkeypatch: pytest.MonkeyPatch, structured: bool
) -> None:
    monkeypatch.setenv("SALESBOT_LLM_N_CTX", "128")
    reset_runtime()
    model = load_chat_model(f"llamacpp:{tiny_gguf_path}")
    long_question = "What does the contract say about the warranty? " * 40  # byte tokens: far over 128
    with pytest.raises(ModelUnavailableError, match="SALESBOT_LLM_N_CTX"):
        if structured:
            invoke_structured(model, long_question, RouteDecision)
        else:
            invoke_model(model, long_question)




@pytest.mark.slow
def test_a_long_in_process_generation_stops_at_the_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    use_smollm2(monkeypatch, n_ctx=1024, turn_budget_s=None)
    model = load_chat_model()
    assert model is not None
    prompt = "Count from 1 to 1000, one number per line, and do not stop early."
    started = time.monotonic()
    with pytest.raises(ModelUnavailableError, match=r"did not finish within 0\.5 s"):
        invoke_model(model, prompt, timeout_s=0.5)
    # Stopped at the next token after the deadline, not after max_tokens (512 tokens take several seconds).
    assert time.monotonic() - started < 5
    from salesbot.llm import count_prompt_tokens

    assert 15 < count_prompt_tokens(prompt, model) < 40


def recorded_requests(model: object, monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Every chat-completion request the model's llama.cpp client gets from now on (still sent)."""
    client = model.client  # type: ignore[attr-defined]
    sent: list[dict[str, Any]] = []
    real_create = client.create_chat_completion

    def create(**request: Any) -> Any:
        sent.append(request)
        return real_create(**request)

    monkeypatch.setattr(client, "create_chat_completion", create)
    return sent


class LongReport(BaseModel):
    """A schema whose JSON takes hundreds of tokens to write: the grammar keeps the model writing it."""

    items: list[str] = Field(min_length=600, max_length=700)


@pytest.mark.slow
def test_a_schema_constrained_answer_stops_at_the_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    use_smollm2(monkeypatch, n_ctx=4096, turn_budget_s=None)
    model = load_chat_model()
    assert model is not None
    monkeypatch.setattr(model, "max_tokens", 3500)  # room for the 600 items: uncut, this takes well over 10 s
    started = time.monotonic()
    with pytest.raises(ModelUnavailableError, match=r"did not finish within 0\.5 s"):
        invoke_structured(model, "List the numbers from 1 to 600 as words.", LongReport, timeout_s=0.5)
    # The grammar forbids end-of-text inside the JSON, so only reading token by token can stop it: without that the
    # answer ran on to max_tokens (turns of 95 s against a 20 s budget in benchmarks/llm_modes.py).
    assert time.monotonic() - started < 5


@pytest.mark.slow
def test_a_forced_tool_call_stops_at_the_deadline_and_the_same_call_in_time_keeps_its_arguments(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    use_smollm2(monkeypatch, n_ctx=1024, turn_budget_s=None)
    model = load_chat_model()
    assert model is not None
    bound = bind_tools_for(model, [create_follow_up_task], tool_name="create_follow_up_task")
    prompt = "Create a follow-up task: call the customer about the renewal next Friday."
    reply = invoke_model(bound, prompt)
    assert [call["name"] for call in reply.tool_calls] == ["create_follow_up_task"]
    assert isinstance(reply.tool_calls[0]["args"], dict) and reply.tool_calls[0]["args"]
    from salesbot.llm import prefill_rate_of

    prefill_rate_of(model).seconds_per_token = None  # the call is made: this is about the cut, not the estimate
    started = time.monotonic()
    with pytest.raises(ModelUnavailableError, match=r"did not finish within 0\.2 s"):
        invoke_model(bound, prompt, timeout_s=0.2)
    assert time.monotonic() - started < 5


@pytest.mark.slow
def test_a_prompt_that_cannot_be_read_in_the_time_left_is_not_sent(monkeypatch: pytest.MonkeyPatch) -> None:
    from salesbot.llm import prefill_rate_of

    use_smollm2(monkeypatch, n_ctx=1024, turn_budget_s=None)
    model = load_chat_model()
    assert model is not None
    assert prefill_rate_of(model).seconds_per_token is None  # nothing measured before the first call
    invoke_structured(model, "Route: what is the warranty?", RouteDecision)
    measured = prefill_rate_of(model).seconds_per_token
    assert measured is not None and 0 < measured < 1  # SmolLM2 reads far more than a token a second

    sent = recorded_requests(model, monkeypatch)
    prefill_rate_of(model).seconds_per_token = 1.0  # as if the machine had become very busy
    with pytest.raises(ModelUnavailableError, match=r"would need about .* to read this \d+-token prompt"):
        invoke_structured(model, "Route: what is the warranty?", RouteDecision, timeout_s=3)
    with pytest.raises(ModelUnavailableError, match=r"would need about"):
        invoke_model(model, "Say hello.", timeout_s=3)
    assert sent == []
    prefill_rate_of(model).seconds_per_token = measured
    assert invoke_structured(model, "Route: what is the warranty?", RouteDecision, timeout_s=30).route
    assert len(sent) == 1


@pytest.mark.slow
def test_an_answer_prompt_is_cut_to_what_the_model_can_read_in_half_the_time_left(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from agent.answer.llm_answer import compose_llm_answer
    from knowledge.models import RetrievedChunk
    from salesbot.llm import count_prompt_tokens, prefill_rate_of, turn_budget

    use_smollm2(monkeypatch, n_ctx=4096, turn_budget_s=None)
    model = load_chat_model()
    assert model is not None
    filler = "\n".join(f"{n}.{k} The parties shall keep records of clause {n}.{k} for audit." for n in range(3, 9)
                       for k in range(1, 6))
    passages = [RetrievedChunk(chunk_id=f"c{n}", doc_id=f"d{n}", source=f"contract_{n}.md", title=f"Contract {n}",
                               section="Terms", text=(f"7.1 The warranty runs for 24 months from acceptance.\n{filler}"
                                                      if n == 1 else filler), score=1.0, doc_type="contract")
                for n in range(1, 5)]
    whole_prompt_tokens = count_prompt_tokens("\n".join(p.text for p in passages), model)
    sent = recorded_requests(model, monkeypatch)
    prefill_rate_of(model).seconds_per_token = 0.02  # as fast as a 1.5B model reads on 2 cores: ~50 tokens/s
    with turn_budget(10):
        compose_llm_answer(model, "How long is the warranty?", "en", passages)
    [request] = sent
    prompt = request["messages"][0]["content"]
    # Half of the 10 s at 0.02 s a token: 250 tokens, instead of all four passages (over 1,500 tokens).
    assert whole_prompt_tokens > 1500
    assert count_prompt_tokens(prompt, model) <= 250 + 10
    assert "24 months" in prompt  # the unit that answers the question is the one kept
