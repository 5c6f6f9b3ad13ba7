"""The OpenAI-compatible path against a stub server on 127.0.0.1: answers, structured output, tools, failures."""

from __future__ import annotations

import json
import socket

import httpx
import pytest
from langchain_core.messages import HumanMessage, SystemMessage

from salesbot.llm import (
    ModelUnavailableError,
    StructuredOutputError,
    bind_tools_for,
    invoke_model,
    invoke_structured,
    load_chat_model,
)
from salesbot.settings import reset_runtime
from tests.fakes import RouteDecision, create_follow_up_task, look_up_list_price
from tests.stubs.openai_api import OpenAIStubServer


def _short_timeout(monkeypatch: pytest.MonkeyPatch, seconds: float) -> None:
    monkeypatch.setenv("SALESBOT_LLM_TIMEOUT_S", str(seconds))
    reset_runtime()


def _free_port_with_nothing_listening() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_plain_answer_and_what_the_server_received(openai_stub_llm: OpenAIStubServer) -> None:
    openai_stub_server = openai_stub_llm
    openai_stub_server.reply_text("CRM Pro 的质保期为 24 个月。")
    reply = invoke_model(
        load_chat_model(), [SystemMessage(content="rules"), HumanMessage(content="质保多久?")]
    )
    assert reply.content == "CRM Pro 的质保期为 24 个月。"
    (request,) = openai_stub_server.chat_requests
    assert request["model"] == openai_stub_server.model_name
    assert request["messages"] == [
        {"role": "system", "content": "rules"},
        {"role": "user", "content": "质保多久?"},
    ]
    assert request["temperature"] == 0.0
    assert openai_stub_server.requests[0].headers["authorization"] == "Bearer not-needed"


def test_api_key_from_the_environment_is_sent(
    openai_stub_server: OpenAIStubServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SALESBOT_OPENAI_API_KEY", "sk-local-abc")
    openai_stub_server.reply_text("ok")
    invoke_model(load_chat_model(openai_stub_server.model_spec()), "hi")
    assert openai_stub_server.requests[0].headers["authorization"] == "Bearer sk-local-abc"


def test_structured_output_asks_for_the_json_schema_and_parses_it(
    openai_stub_server: OpenAIStubServer,
) -> None:
    openai_stub_server.reply_json({"route": "pricing", "reason": "asks for a discount"})
    parsed = invoke_structured(
        load_chat_model(openai_stub_server.model_spec()), "能给 ACME 打几折?", RouteDecision
    )
    assert parsed == RouteDecision(route="pricing", reason="asks for a discount")
    response_format = openai_stub_server.chat_requests[0]["response_format"]
    assert response_format["type"] == "json_schema"
    assert response_format["json_schema"]["name"] == "RouteDecision"
    assert response_format["json_schema"]["schema"]["properties"]["route"]["enum"] == [
        "knowledge",
        "pricing",
        "task",
        "data",
        "help",
    ]


def test_structured_output_falls_back_to_json_in_text_when_the_server_rejects_the_schema(
    openai_stub_server: OpenAIStubServer,
) -> None:
    # A server that knows neither json_schema nor json_object (the real llama_cpp.server takes the latter,
    # see test_llm_openai_server.py): the third request carries no response_format.
    openai_stub_server.reply_error(400, "response_format json_schema is not supported")
    openai_stub_server.reply_error(422, "response_format json_object is not supported")
    openai_stub_server.reply_text('Sure!\n```json\n{"route": "data", "reason": "sales figures"}\n```')
    parsed = invoke_structured(
        load_chat_model(openai_stub_server.model_spec()), "Q3 revenue by rep?", RouteDecision
    )
    assert parsed == RouteDecision(route="data", reason="sales figures")
    first, second, third = openai_stub_server.chat_requests
    assert first["response_format"]["type"] == "json_schema"
    assert second["response_format"]["type"] == "json_object"
    assert second["response_format"]["schema"]["title"] == "RouteDecision"
    assert "response_format" not in third


def test_structured_output_that_does_not_validate_is_a_structured_output_error(
    openai_stub_server: OpenAIStubServer,
) -> None:
    openai_stub_server.reply_json({"route": "weather"})
    with pytest.raises(StructuredOutputError, match="RouteDecision"):
        invoke_structured(load_chat_model(openai_stub_server.model_spec()), "rain tomorrow?", RouteDecision)


def test_tool_call_is_parsed_and_the_model_may_choose(openai_stub_server: OpenAIStubServer) -> None:
    openai_stub_server.reply_tool_call(
        "create_follow_up_task", {"customer": "ACME", "due_date": "2026-12-02"}
    )
    bound = bind_tools_for(
        load_chat_model(openai_stub_server.model_spec()), [create_follow_up_task, look_up_list_price]
    )
    reply = invoke_model(bound, "下周三提醒我跟进 ACME")
    assert reply.tool_calls == [
        {
            "name": "create_follow_up_task",
            "args": {"customer": "ACME", "due_date": "2026-12-02"},
            "id": "call_stub_1_0",
            "type": "tool_call",
        }
    ]
    request = openai_stub_server.chat_requests[0]
    assert request["tool_choice"] == "auto"
    assert [tool_spec["function"]["name"] for tool_spec in request["tools"]] == [
        "create_follow_up_task",
        "look_up_list_price",
    ]


def test_named_tool_is_forced(openai_stub_server: OpenAIStubServer) -> None:
    openai_stub_server.reply_tool_call("look_up_list_price", {"product": "CRM Pro"})
    bound = bind_tools_for(
        load_chat_model(openai_stub_server.model_spec()),
        [create_follow_up_task, look_up_list_price],
        tool_name="look_up_list_price",
    )
    reply = invoke_model(bound, "CRM Pro 多少钱")
    assert reply.tool_calls[0]["args"] == {"product": "CRM Pro"}
    assert openai_stub_server.chat_requests[0]["tool_choice"] == {
        "type": "function",
        "function": {"name": "look_up_list_price"},
    }


def test_streaming_replies_arrive_as_chunks(openai_stub_server: OpenAIStubServer) -> None:
    openai_stub_server.reply_text("streamed answer")
    chunks = list(load_chat_model(openai_stub_server.model_spec()).stream("hi"))
    assert "".join(str(chunk.content) for chunk in chunks) == "streamed answer"
    assert openai_stub_server.chat_requests[0]["stream"] is True


def test_unreachable_server_is_an_unavailable_error_naming_the_url(monkeypatch: pytest.MonkeyPatch) -> None:
    _short_timeout(monkeypatch, 2.0)
    base_url = f"http://127.0.0.1:{_free_port_with_nothing_listening()}/v1"
    model = load_chat_model(f"openai:{base_url}#any-model")
    with pytest.raises(ModelUnavailableError) as error_info:
        invoke_model(model, "hello")
    assert base_url in str(error_info.value)
    assert "unreachable" in str(error_info.value)


def test_unreachable_server_during_structured_output_is_an_unavailable_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _short_timeout(monkeypatch, 2.0)
    base_url = f"http://127.0.0.1:{_free_port_with_nothing_listening()}/v1"
    with pytest.raises(ModelUnavailableError, match=base_url):
        invoke_structured(load_chat_model(f"openai:{base_url}#any-model"), "route me", RouteDecision)


def test_slow_server_beyond_the_timeout_is_an_unavailable_error(monkeypatch: pytest.MonkeyPatch) -> None:
    _short_timeout(monkeypatch, 0.3)
    with OpenAIStubServer(delay_s=5.0) as slow_server:
        slow_server.reply_text("too late")
        slow_server.reply_text("too late again")
        with pytest.raises(ModelUnavailableError) as error_info:
            invoke_model(load_chat_model(slow_server.model_spec()), "hello")
    message = str(error_info.value)
    assert slow_server.base_url in message
    assert "did not answer within 0.3 s" in message


def test_server_error_status_is_an_unavailable_error(openai_stub_server: OpenAIStubServer) -> None:
    openai_stub_server.reply_error(404, "model 'stub-model' not found")
    with pytest.raises(ModelUnavailableError) as error_info:
        invoke_model(load_chat_model(openai_stub_server.model_spec()), "hello")
    assert "HTTP 404" in str(error_info.value)
    assert "not found" in str(error_info.value)


def test_stub_lists_its_model_and_refuses_unscripted_calls(openai_stub_server: OpenAIStubServer) -> None:
    listing = httpx.get(f"{openai_stub_server.base_url}/models", timeout=5).json()
    assert [model["id"] for model in listing["data"]] == [openai_stub_server.model_name]
    unscripted = httpx.post(
        f"{openai_stub_server.base_url}/chat/completions", json={"messages": []}, timeout=5
    )
    assert unscripted.status_code == 500
    assert "no scripted reply" in json.dumps(unscripted.json())
