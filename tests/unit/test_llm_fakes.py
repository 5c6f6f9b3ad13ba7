"""The shared fakes behave as tests rely on: scripted replies in order, recorded messages, a valid tiny GGUF."""

from __future__ import annotations

from pathlib import Path

import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage
from pydantic import BaseModel

from tests.fakes import (
    CHATML_CHAT_TEMPLATE,
    TINY_GGUF_CONTEXT_LENGTH,
    TINY_GGUF_EMBEDDING_LENGTH,
    ScriptedChatModel,
    json_reply,
    tool_call_reply,
    write_tiny_gguf,
)


class PricingQuestion(BaseModel):
    product: str
    quantity: int


def test_scripted_model_replies_in_order_and_records_what_it_was_sent() -> None:
    model = ScriptedChatModel(
        responses=["first", tool_call_reply("create_follow_up_task", {"customer": "ACME"})]
    )
    first = model.invoke([SystemMessage(content="rules"), HumanMessage(content="hello")])
    second = model.invoke("again")
    assert first.content == "first"
    assert second.tool_calls[0]["name"] == "create_follow_up_task"
    assert second.tool_calls[0]["args"] == {"customer": "ACME"}
    assert [[message.content for message in call] for call in model.received_messages] == [
        ["rules", "hello"],
        ["again"],
    ]
    assert model.remaining_responses == 0


def test_scripted_model_fails_loudly_when_out_of_replies() -> None:
    model = ScriptedChatModel(responses=["only one"])
    model.invoke("one")
    with pytest.raises(AssertionError, match="ran out of replies"):
        model.invoke("two")


def test_scripted_model_never_called_has_no_last_messages() -> None:
    with pytest.raises(AssertionError, match="never called"):
        _ = ScriptedChatModel(responses=["x"]).last_messages


def test_scripted_model_bind_tools_returns_itself() -> None:
    model = ScriptedChatModel(responses=[AIMessage(content="ok")])
    assert model.bind_tools([], tool_choice="auto") is model
    assert model.bound_tool_choice == "auto"


def test_scripted_model_structured_output_parses_tool_args_and_json() -> None:
    model = ScriptedChatModel(
        responses=[
            tool_call_reply("PricingQuestion", {"product": "CRM Pro", "quantity": 50}),
            json_reply(PricingQuestion(product="CRM Lite", quantity=5)),
        ]
    )
    structured = model.with_structured_output(PricingQuestion)
    assert structured.invoke("price for 50 CRM Pro?") == PricingQuestion(product="CRM Pro", quantity=50)
    assert structured.invoke("price for 5 CRM Lite?") == PricingQuestion(product="CRM Lite", quantity=5)


def test_tiny_gguf_declares_what_llama_cpp_needs(tmp_path: Path) -> None:
    import gguf

    path = write_tiny_gguf(tmp_path / "tiny.gguf")
    reader = gguf.GGUFReader(str(path))
    fields = reader.fields
    assert fields["general.architecture"].contents() == "llama"
    assert fields["llama.context_length"].contents() == TINY_GGUF_CONTEXT_LENGTH
    assert fields["llama.embedding_length"].contents() == TINY_GGUF_EMBEDDING_LENGTH
    assert fields["tokenizer.chat_template"].contents() == CHATML_CHAT_TEMPLATE
    tokens = fields["tokenizer.ggml.tokens"].contents()
    assert all(f"<0x{byte:02X}>" in tokens for byte in range(256))
    assert tokens[fields["tokenizer.ggml.eos_token_id"].contents()] == "<|im_end|>"
    assert "llama.pooling_type" not in fields
    assert {tensor.name for tensor in reader.tensors} >= {"token_embd.weight", "output_norm.weight"}


def test_tiny_gguf_can_declare_mean_pooling(tmp_path: Path) -> None:
    import gguf

    reader = gguf.GGUFReader(str(write_tiny_gguf(tmp_path / "embed.gguf", pooling_mean=True)))
    assert reader.fields["llama.pooling_type"].contents() == int(gguf.PoolingType.MEAN)


def test_tiny_gguf_weights_depend_on_the_seed(tmp_path: Path) -> None:
    first = write_tiny_gguf(tmp_path / "a.gguf", seed=1).read_bytes()
    same = write_tiny_gguf(tmp_path / "b.gguf", seed=1).read_bytes()
    other = write_tiny_gguf(tmp_path / "c.gguf", seed=2).read_bytes()
    assert first == same
    assert first != other


def test_scripted_model_drives_a_langgraph_tool_loop() -> None:
    from langchain_core.tools import tool
    from langgraph.graph import START, MessagesState, StateGraph
    from langgraph.prebuilt import ToolNode, tools_condition

    @tool
    def look_up_list_price(product: str) -> str:
        """The list price of a product."""
        return f"{product}: 1000"

    model = ScriptedChatModel(
        responses=[tool_call_reply("look_up_list_price", {"product": "CRM Pro"}), "CRM Pro lists at 1000"]
    )
    model_with_tools = model.bind_tools([look_up_list_price])

    def call_model(state: MessagesState) -> dict:
        return {"messages": [model_with_tools.invoke(state["messages"])]}

    builder = StateGraph(MessagesState)
    builder.add_node("call_model", call_model)
    builder.add_node("tools", ToolNode([look_up_list_price]))
    builder.add_edge(START, "call_model")
    builder.add_conditional_edges("call_model", tools_condition)
    builder.add_edge("tools", "call_model")
    graph = builder.compile()

    result = graph.invoke({"messages": [HumanMessage(content="price of CRM Pro?")]})
    assert result["messages"][-1].content == "CRM Pro lists at 1000"
    second_call = model.received_messages[1]
    assert second_call[-1].type == "tool" and second_call[-1].content == "CRM Pro: 1000"
