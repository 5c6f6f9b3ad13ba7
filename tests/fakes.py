"""Shared test fakes: a tiny random-weight GGUF, a scripted chat model, and fixtures built on them."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pytest
from langchain_core.language_models import LanguageModelInput
from langchain_core.language_models.fake_chat_models import FakeMessagesListChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.runnables import Runnable, RunnableLambda
from langchain_core.tools import tool
from pydantic import BaseModel, Field

# ChatML exactly as llama-cpp-python spells it, so the loader recognises it as the built-in "chatml" format.
CHATML_CHAT_TEMPLATE = (
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] "
    "+ '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)
TINY_GGUF_EMBEDDING_LENGTH = 64
TINY_GGUF_CONTEXT_LENGTH = 2048
_TINY_GGUF_BLOCK_COUNT = 2
_TINY_GGUF_HEAD_COUNT = 4
_TINY_GGUF_FEED_FORWARD_LENGTH = 128
# A few whole-word pieces on top of the byte tokens so tokenisation is not purely byte-level.
_TINY_GGUF_WORDS = ["▁", "▁the", "▁price", "▁discount", "▁contract", "▁customer", "▁warranty", "▁order"]


def write_tiny_gguf(path: str | Path, *, pooling_mean: bool = False, seed: int = 0) -> Path:
    """Write a random-weight llama-architecture GGUF (~0.3 MB) that llama-cpp-python loads and runs.

    Output is gibberish, but grammar/JSON-schema-constrained output is always well formed, so the real
    llama.cpp path (load, chat template, constrained routing, tool calls, embeddings) can be tested.
    With pooling_mean the file declares MEAN pooling, so an embedding model returns one vector per text.
    Layout follows ../shared/notes/tiny-gguf-for-tests.md (the 256 byte tokens are mandatory: without
    them llama.cpp aborts the whole process).
    """
    import gguf

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    random_generator = np.random.default_rng(seed)

    def random_weights(*shape: int) -> np.ndarray:
        return (random_generator.standard_normal(shape) * 0.02).astype(np.float32)

    tokens: list[str] = ["<unk>", "<s>", "</s>", "<|im_start|>", "<|im_end|>"]
    token_types: list[int] = [
        gguf.TokenType.UNKNOWN,
        gguf.TokenType.CONTROL,
        gguf.TokenType.CONTROL,
        gguf.TokenType.CONTROL,
        gguf.TokenType.CONTROL,
    ]
    tokens += [f"<0x{byte:02X}>" for byte in range(256)]
    token_types += [gguf.TokenType.BYTE] * 256
    tokens += _TINY_GGUF_WORDS
    token_types += [gguf.TokenType.NORMAL] * len(_TINY_GGUF_WORDS)
    scores = [0.0] * len(tokens)
    vocabulary_size = len(tokens)

    embedding_length = TINY_GGUF_EMBEDDING_LENGTH
    head_dimension = embedding_length // _TINY_GGUF_HEAD_COUNT
    feed_forward_length = _TINY_GGUF_FEED_FORWARD_LENGTH

    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_name("salesbot-tiny-test-model")
    writer.add_context_length(TINY_GGUF_CONTEXT_LENGTH)
    writer.add_embedding_length(embedding_length)
    writer.add_block_count(_TINY_GGUF_BLOCK_COUNT)
    writer.add_feed_forward_length(feed_forward_length)
    writer.add_head_count(_TINY_GGUF_HEAD_COUNT)
    writer.add_head_count_kv(_TINY_GGUF_HEAD_COUNT)
    writer.add_rope_dimension_count(head_dimension)
    writer.add_layer_norm_rms_eps(1e-5)
    if pooling_mean:
        writer.add_pooling_type(gguf.PoolingType.MEAN)
    writer.add_tokenizer_model("llama")
    writer.add_token_list(tokens)
    writer.add_token_scores(scores)
    writer.add_token_types(token_types)
    writer.add_unk_token_id(0)
    writer.add_bos_token_id(1)
    # eos is <|im_end|> so a chat turn stops where ChatML ends it.
    writer.add_eos_token_id(4)
    writer.add_add_bos_token(True)
    writer.add_chat_template(CHATML_CHAT_TEMPLATE)

    # numpy shapes are (out, in); llama.cpp reads them transposed.
    writer.add_tensor("token_embd.weight", random_weights(vocabulary_size, embedding_length))
    for block in range(_TINY_GGUF_BLOCK_COUNT):
        prefix = f"blk.{block}"
        writer.add_tensor(f"{prefix}.attn_norm.weight", np.ones(embedding_length, dtype=np.float32))
        writer.add_tensor(f"{prefix}.attn_q.weight", random_weights(embedding_length, embedding_length))
        writer.add_tensor(f"{prefix}.attn_k.weight", random_weights(embedding_length, embedding_length))
        writer.add_tensor(f"{prefix}.attn_v.weight", random_weights(embedding_length, embedding_length))
        writer.add_tensor(f"{prefix}.attn_output.weight", random_weights(embedding_length, embedding_length))
        writer.add_tensor(f"{prefix}.ffn_norm.weight", np.ones(embedding_length, dtype=np.float32))
        writer.add_tensor(f"{prefix}.ffn_gate.weight", random_weights(feed_forward_length, embedding_length))
        writer.add_tensor(f"{prefix}.ffn_up.weight", random_weights(feed_forward_length, embedding_length))
        writer.add_tensor(f"{prefix}.ffn_down.weight", random_weights(embedding_length, feed_forward_length))
    writer.add_tensor("output_norm.weight", np.ones(embedding_length, dtype=np.float32))

    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


class ScriptedChatModel(FakeMessagesListChatModel):
    """A chat model that returns preset replies in order and records every message list it was sent.

    Replies are AIMessages (with or without tool_calls) or plain strings. Running out of replies is an
    error rather than starting over, so a test notices an unexpected extra model call.
    bind_tools returns the model itself (remembering the tools); with_structured_output parses the next
    reply's first tool call arguments, or its content as JSON, into the schema.
    """

    responses: list[Any] = Field(default_factory=list)
    received_messages: list[list[BaseMessage]] = Field(default_factory=list)
    bound_tools: list[Any] = Field(default_factory=list)
    bound_tool_choice: Any = None

    def __init__(self, responses: Sequence[AIMessage | str] = (), **kwargs: Any) -> None:
        replies = [AIMessage(content=reply) if isinstance(reply, str) else reply for reply in responses]
        super().__init__(responses=replies, **kwargs)

    @property
    def _llm_type(self) -> str:
        return "scripted-chat-model"

    @property
    def remaining_responses(self) -> int:
        return len(self.responses) - self.i

    @property
    def last_messages(self) -> list[BaseMessage]:
        """The messages of the most recent call (fails clearly if the model was never called)."""
        if not self.received_messages:
            raise AssertionError("ScriptedChatModel was never called")
        return self.received_messages[-1]

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: Any = None,
        **kwargs: Any,
    ) -> ChatResult:
        self.received_messages.append(list(messages))
        if self.i >= len(self.responses):
            raise AssertionError(
                f"ScriptedChatModel ran out of replies after {len(self.responses)} call(s); "
                f"last messages: {[message.content for message in messages]}"
            )
        reply = self.responses[self.i]
        self.i += 1
        return ChatResult(generations=[ChatGeneration(message=reply)])

    def bind_tools(
        self, tools: Sequence[Any], *, tool_choice: Any = None, **kwargs: Any
    ) -> ScriptedChatModel:
        self.bound_tools = list(tools)
        self.bound_tool_choice = tool_choice
        return self

    def with_structured_output(  # type: ignore[override]
        self, schema: type[BaseModel], *, include_raw: bool = False, **kwargs: Any
    ) -> Runnable[LanguageModelInput, Any]:
        def invoke_and_parse(model_input: LanguageModelInput) -> Any:
            reply = self.invoke(model_input)
            if reply.tool_calls:
                parsed = schema.model_validate(reply.tool_calls[0]["args"])
            else:
                parsed = schema.model_validate_json(str(reply.content))
            return {"raw": reply, "parsed": parsed, "parsing_error": None} if include_raw else parsed

        return RunnableLambda(invoke_and_parse)


def tool_call_reply(tool_name: str, arguments: dict[str, Any], *, call_id: str | None = None) -> AIMessage:
    """An AIMessage asking for one tool call, as a scripted model would return it."""
    return AIMessage(
        content="",
        tool_calls=[
            {"name": tool_name, "args": arguments, "id": call_id or f"call_{tool_name}", "type": "tool_call"}
        ],
    )


def json_reply(payload: BaseModel | dict[str, Any]) -> AIMessage:
    """An AIMessage whose content is a JSON object (what a structured-output call returns)."""
    data = payload.model_dump(mode="json") if isinstance(payload, BaseModel) else payload
    return AIMessage(content=json.dumps(data, ensure_ascii=False))


# ---- sample schema and tools shared by the LLM backend tests ----


class RouteDecision(BaseModel):
    """Which path a turn takes."""

    route: Literal["knowledge", "pricing", "task", "data", "help"]
    reason: str = Field(default="", max_length=80)


@tool
def create_follow_up_task(customer: str, due_date: str) -> str:
    """Propose a follow-up task for a customer on a date (YYYY-MM-DD)."""
    return f"{customer} {due_date}"


@tool
def look_up_list_price(product: str) -> str:
    """The list price of a product."""
    return product


# ---- fixtures (import them in tests/conftest.py: `from tests.fakes import tiny_gguf_path, ...`) ----


@pytest.fixture(scope="session")
def tiny_gguf_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random-weight chat GGUF written once per test session."""
    return write_tiny_gguf(tmp_path_factory.mktemp("tiny-gguf") / "tiny-chat.gguf")


@pytest.fixture(scope="session")
def tiny_embedding_gguf_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random-weight GGUF declaring MEAN pooling: one embedding vector per text."""
    return write_tiny_gguf(tmp_path_factory.mktemp("tiny-gguf") / "tiny-embed.gguf", pooling_mean=True)


@pytest.fixture
def scripted_chat_model_factory() -> Callable[..., ScriptedChatModel]:
    """Build a ScriptedChatModel from replies: `model = scripted_chat_model_factory(tool_call_reply(...), "text")`."""

    def build(*responses: AIMessage | str) -> ScriptedChatModel:
        return ScriptedChatModel(responses=responses)

    return build


@pytest.fixture
def tiny_llm_spec(tiny_gguf_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """SALESBOT_LLM set to the tiny GGUF (n_ctx = its training context); returns the config string."""
    from salesbot.settings import reset_runtime

    spec = f"llamacpp:{tiny_gguf_path}"
    monkeypatch.setenv("SALESBOT_LLM", spec)
    monkeypatch.setenv("SALESBOT_LLM_N_CTX", str(TINY_GGUF_CONTEXT_LENGTH))
    reset_runtime()
    return spec


@pytest.fixture
def openai_stub_server() -> Iterator[Any]:
    """A running OpenAI-compatible stub server on 127.0.0.1 (see tests/stubs/openai_api.py), stopped after."""
    from tests.stubs.openai_api import OpenAIStubServer

    with OpenAIStubServer() as server:
        yield server


@pytest.fixture
def openai_stub_llm(openai_stub_server: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """SALESBOT_LLM pointed at a running stub server (short timeout); returns the server to script replies."""
    from salesbot.settings import reset_runtime

    monkeypatch.setenv("SALESBOT_LLM", openai_stub_server.model_spec())
    monkeypatch.setenv("SALESBOT_LLM_TIMEOUT_S", "5")
    reset_runtime()
    return openai_stub_server
