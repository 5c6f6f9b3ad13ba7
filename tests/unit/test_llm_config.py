"""Model config strings, model loading without a server, structured-output parsing and tool binding."""

from __future__ import annotations

from pathlib import Path

import pytest
from langchain_core.messages import AIMessage, HumanMessage

from salesbot.llm import (
    ModelConfig,
    ModelConfigError,
    ModelUnavailableError,
    StructuredOutputError,
    bind_tools_for,
    invoke_model,
    invoke_structured,
    load_chat_model,
    parse_model_config,
    parse_structured_text,
)
from salesbot.settings import reset_runtime
from tests.fakes import (
    RouteDecision,
    ScriptedChatModel,
    create_follow_up_task,
    json_reply,
    look_up_list_price,
    tool_call_reply,
)

# ---- parse_model_config ----


@pytest.mark.parametrize("spec", ["none", "NONE", "  none  "])
def test_none_config_means_no_model(spec: str) -> None:
    assert parse_model_config(spec) == ModelConfig(provider="none")


def test_llamacpp_config_keeps_the_path() -> None:
    config = parse_model_config("llamacpp:/models/qwen2.5-1.5b-instruct-q4_k_m.gguf")
    assert config.provider == "llamacpp"
    assert config.model_path == Path("/models/qwen2.5-1.5b-instruct-q4_k_m.gguf")


def test_llamacpp_config_expands_the_home_directory() -> None:
    config = parse_model_config("llamacpp:~/models/m.gguf")
    assert config.model_path == Path.home() / "models" / "m.gguf"


def test_openai_config_splits_url_and_model_name() -> None:
    config = parse_model_config("openai:http://10.0.0.5:8000/v1/#Qwen/Qwen2.5-7B-Instruct")
    assert config.provider == "openai"
    assert config.base_url == "http://10.0.0.5:8000/v1"
    assert config.model_name == "Qwen/Qwen2.5-7B-Instruct"


def test_openai_config_accepts_ollama_model_names_with_colons() -> None:
    config = parse_model_config("openai:http://127.0.0.1:11434/v1#qwen2.5:7b")
    assert config.base_url == "http://127.0.0.1:11434/v1"
    assert config.model_name == "qwen2.5:7b"


@pytest.mark.parametrize(
    ("spec", "expected_in_message"),
    [
        ("", "empty model config"),
        ("gpt-4o", "unknown model config 'gpt-4o'"),
        ("ollama:qwen2.5", "unknown model config"),
        ("none:extra", "unknown model config"),
        ("llamacpp:", "names no GGUF file"),
        ("llamacpp:   ", "names no GGUF file"),
        ("openai:http://127.0.0.1:8000/v1", "names no model"),
        ("openai:http://127.0.0.1:8000/v1#", "names no model"),
        ("openai:127.0.0.1:8000/v1#m", "no valid http(s) server URL"),
        ("openai:ftp://host/v1#m", "no valid http(s) server URL"),
        ("openai:#m", "no valid http(s) server URL"),
    ],
)
def test_bad_config_strings_raise_a_clear_config_error(spec: str, expected_in_message: str) -> None:
    with pytest.raises(ModelConfigError) as error_info:
        parse_model_config(spec)
    assert expected_in_message in str(error_info.value)
    assert isinstance(error_info.value, ValueError)


def test_unknown_provider_message_lists_the_accepted_forms() -> None:
    with pytest.raises(ModelConfigError, match=r"none \| llamacpp:/path/to/model.gguf \| openai:"):
        parse_model_config("claude")


# ---- load_chat_model ----


def test_load_chat_model_returns_none_for_none() -> None:
    assert load_chat_model("none") is None


def test_load_chat_model_defaults_to_the_settings_value(monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_chat_model() is None  # default SALESBOT_LLM is none
    monkeypatch.setenv("SALESBOT_LLM", "not-a-model-config")
    reset_runtime()
    with pytest.raises(ModelConfigError, match="not-a-model-config"):
        load_chat_model()


def test_missing_gguf_file_is_a_clear_unavailable_error(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-model.gguf"
    with pytest.raises(ModelUnavailableError) as error_info:
        load_chat_model(f"llamacpp:{missing}")
    message = str(error_info.value)
    assert f"model file not found: {missing}" in message
    assert "SALESBOT_LLM" in message


def test_openai_model_gets_url_name_timeout_and_no_retry(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SALESBOT_LLM_TIMEOUT_S", "7.5")
    reset_runtime()
    model = load_chat_model("openai:http://127.0.0.1:9/v1#served-model")
    assert type(model).__name__ == "ChatOpenAI"
    assert model.openai_api_base == "http://127.0.0.1:9/v1"  # type: ignore[union-attr]
    assert model.model_name == "served-model"  # type: ignore[union-attr]
    assert model.request_timeout == 7.5  # type: ignore[union-attr]
    assert model.max_retries == 0  # type: ignore[union-attr]
    assert model.openai_api_key.get_secret_value() == "not-needed"  # type: ignore[union-attr]


def test_openai_api_key_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SALESBOT_OPENAI_API_KEY", "sk-test-123")
    model = load_chat_model("openai:http://127.0.0.1:9/v1#served-model")
    assert model.openai_api_key.get_secret_value() == "sk-test-123"  # type: ignore[union-attr]


def test_models_are_cached_per_spec_until_reset() -> None:
    spec = "openai:http://127.0.0.1:9/v1#served-model"
    first = load_chat_model(spec)
    assert load_chat_model(spec) is first
    assert load_chat_model("openai:http://127.0.0.1:9/v1#other-model") is not first
    reset_runtime()
    assert load_chat_model(spec) is not first


# ---- structured output ----


def test_parse_structured_text_reads_fenced_json_amid_chatter() -> None:
    text = 'Here you go:\n```json\n{"route": "pricing", "reason": "asks for a discount"}\n```\nAnything else?'
    assert parse_structured_text(text, RouteDecision) == RouteDecision(
        route="pricing", reason="asks for a discount"
    )


def test_parse_structured_text_reads_the_first_object_of_bare_text() -> None:
    parsed = parse_structured_text('{"route": "data"} and then {"route": "help"}', RouteDecision)
    assert parsed.route == "data"


def test_parse_structured_text_rejects_a_value_outside_the_schema() -> None:
    with pytest.raises(StructuredOutputError) as error_info:
        parse_structured_text('{"route": "weather"}', RouteDecision)
    message = str(error_info.value)
    assert "RouteDecision" in message and "route" in message and "weather" in message


def test_parse_structured_text_without_json_names_the_schema() -> None:
    with pytest.raises(StructuredOutputError, match="no JSON object for RouteDecision"):
        parse_structured_text("I think this is about pricing.", RouteDecision)


def test_parse_structured_text_reports_broken_json() -> None:
    with pytest.raises(StructuredOutputError, match="not a valid RouteDecision"):
        parse_structured_text('{"route": "pricing", ', RouteDecision)


def test_invoke_structured_with_a_fake_reads_tool_call_arguments() -> None:
    model = ScriptedChatModel(
        responses=[tool_call_reply("RouteDecision", {"route": "task", "reason": "follow up"})]
    )
    assert invoke_structured(model, "remind me to call ACME", RouteDecision) == RouteDecision(
        route="task", reason="follow up"
    )


def test_invoke_structured_with_a_fake_reads_json_content() -> None:
    model = ScriptedChatModel(responses=[json_reply({"route": "knowledge"})])
    assert invoke_structured(model, "what is the warranty?", RouteDecision).route == "knowledge"


def test_invoke_structured_turns_invalid_answers_into_structured_output_errors() -> None:
    model = ScriptedChatModel(
        responses=[json_reply({"route": "lunch"}), AIMessage(content="not json at all")]
    )
    with pytest.raises(StructuredOutputError, match="RouteDecision"):
        invoke_structured(model, "q1", RouteDecision)
    with pytest.raises(StructuredOutputError, match="RouteDecision"):
        invoke_structured(model, "q2", RouteDecision)


def test_invoke_model_passes_messages_through_to_the_model() -> None:
    model = ScriptedChatModel(responses=["the warranty is 24 months"])
    reply = invoke_model(model, [HumanMessage(content="warranty?")])
    assert reply.content == "the warranty is 24 months"
    assert [message.content for message in model.last_messages] == ["warranty?"]


# ---- tools ----


def test_bind_tools_for_other_models_lets_the_model_choose() -> None:
    model = ScriptedChatModel(responses=[])
    bind_tools_for(model, [create_follow_up_task, look_up_list_price])
    assert model.bound_tool_choice == "auto"
    assert model.bound_tools == [create_follow_up_task, look_up_list_price]


def test_bind_tools_for_forces_a_named_tool() -> None:
    model = ScriptedChatModel(responses=[])
    bind_tools_for(model, [create_follow_up_task, look_up_list_price], tool_name="look_up_list_price")
    assert model.bound_tool_choice == "look_up_list_price"


def test_bind_tools_for_rejects_a_tool_name_that_is_not_bound() -> None:
    with pytest.raises(ValueError, match="send_email"):
        bind_tools_for(ScriptedChatModel(responses=[]), [create_follow_up_task], tool_name="send_email")


def test_a_spent_turn_budget_stops_a_model_call_before_it_starts(monkeypatch: pytest.MonkeyPatch) -> None:
    from salesbot.llm import ModelUnavailableError, invoke_model, load_chat_model, turn_budget

    # Nothing listens on port 9: a call that started would fail differently (unreachable), and later.
    monkeypatch.setenv("SALESBOT_LLM", "openai:http://127.0.0.1:9/v1#any")
    reset_runtime()
    model = load_chat_model()
    with turn_budget(0.0), pytest.raises(ModelUnavailableError, match="SALESBOT_LLM_TURN_BUDGET_S"):
        invoke_model(model, "hello")


def test_the_turn_budget_shortens_each_call_and_ends_with_the_turn() -> None:
    from salesbot.llm import _Deadline, turn_budget

    with turn_budget(2.0):
        inside = _Deadline.start()
    outside = _Deadline.start()
    assert inside.by_turn_budget and inside.timeout_s <= 2.0
    assert not outside.by_turn_budget and outside.timeout_s > 2.0  # SALESBOT_LLM_TIMEOUT_S (60 by default)
