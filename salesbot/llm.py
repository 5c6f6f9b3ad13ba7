"""Chat model backends chosen by one config string (none | llamacpp:PATH | openai:URL#MODEL), resolved here only.

Nodes call load_chat_model() and then invoke_model / invoke_structured / bind_tools_for; they never import
provider classes, and they treat ModelUnavailableError and StructuredOutputError as "answer without the LLM".
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar
from urllib.parse import urlparse

from pydantic import BaseModel, ValidationError

from salesbot.settings import get_settings, on_reset

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel, LanguageModelInput
    from langchain_core.messages import AIMessage, BaseMessage
    from langchain_core.runnables import Runnable

logger = logging.getLogger(__name__)

SchemaT = TypeVar("SchemaT", bound=BaseModel)
# Gets each piece of a streamed answer's raw text as the model writes it (for people watching, never for logic).
TextListener = Callable[[str], None]

CONFIG_STRING_HELP = (
    "expected one of: none | llamacpp:/path/to/model.gguf | openai:http://host:port/v1#model-name "
    "(set SALESBOT_LLM)"
)
# Local servers (vLLM, llama.cpp server, Ollama) accept any key, but the OpenAI client insists on one.
OPENAI_PLACEHOLDER_API_KEY = "not-needed"
# Greedy decoding plus a fixed seed: the same question gets the same answer, which users and tests expect.
LLAMACPP_SEED = 42
# Enough for a cited answer of a few paragraphs; on 2 cores a 1.5B model writes ~30 tokens/s.
LLAMACPP_MAX_TOKENS = 512
LLAMACPP_PROMPT_BATCH = 512
# Fewer prompt tokens read than this in one call (most of the prompt was in llama.cpp's cache) tell too little about
# how fast the model reads prompts to update the rate.
PREFILL_SAMPLE_MIN_TOKENS = 16
# Chat-template tokens around each message (ChatML: <|im_start|>role\n ... <|im_end|>\n) for the estimate.
CHAT_TEMPLATE_TOKENS_PER_MESSAGE = 5
# Rough OpenAI-side estimate when no tokenizer is at hand: ~4 characters of English per token, but about
# one token per CJK character.
ESTIMATED_CHARS_PER_TOKEN = 4


class ModelConfigError(ValueError):
    """The model config string cannot be understood."""


class ModelUnavailableError(RuntimeError):
    """The configured model cannot be used now: file missing, load failure, server unreachable or too slow."""


class StructuredOutputError(ValueError):
    """The model's answer could not be read as the requested schema."""


@dataclass(frozen=True)
class ModelConfig:
    """A parsed model config string. Secrets are not part of it (the API key is read when loading)."""

    provider: Literal["none", "llamacpp", "openai"]
    model_path: Path | None = None
    base_url: str | None = None
    model_name: str | None = None

    @property
    def description(self) -> str:
        """Where the model lives, for error messages and logs."""
        if self.provider == "llamacpp":
            return str(self.model_path)
        if self.provider == "openai":
            return f"{self.base_url} (model {self.model_name})"
        return "none"


def parse_model_config(spec: str) -> ModelConfig:
    """Read `none`, `llamacpp:/path/model.gguf` or `openai:http://host:port/v1#model`; ModelConfigError otherwise."""
    text = (spec or "").strip()
    if not text:
        raise ModelConfigError(f"empty model config: {CONFIG_STRING_HELP}")
    provider, separator, rest = text.partition(":")
    provider = provider.strip().lower()
    if provider == "none" and not separator:
        return ModelConfig(provider="none")
    if provider == "llamacpp" and separator:
        if not rest.strip():
            raise ModelConfigError(f"model config {spec!r} names no GGUF file: {CONFIG_STRING_HELP}")
        return ModelConfig(provider="llamacpp", model_path=Path(rest.strip()).expanduser())
    if provider == "openai" and separator:
        base_url, hash_sign, model_name = rest.strip().rpartition("#")
        if not hash_sign or not model_name.strip():
            raise ModelConfigError(
                f"model config {spec!r} names no model: put it after '#', "
                f"e.g. openai:http://127.0.0.1:8000/v1#qwen2.5-7b-instruct"
            )
        parsed_url = urlparse(base_url.strip())
        if parsed_url.scheme not in ("http", "https") or not parsed_url.hostname:
            raise ModelConfigError(
                f"model config {spec!r} has no valid http(s) server URL before '#': {CONFIG_STRING_HELP}"
            )
        return ModelConfig(
            provider="openai", base_url=base_url.strip().rstrip("/"), model_name=model_name.strip()
        )
    raise ModelConfigError(f"unknown model config {spec!r}: {CONFIG_STRING_HELP}")


# ---- loading (cached per config string; salesbot.settings.reset_runtime() forgets them) ----

_loaded_models: dict[str, BaseChatModel] = {}
_loading_lock = threading.Lock()
# llama.cpp contexts are not thread-safe; Slack/WeCom handlers run turns in threads, so calls take turns.
_llamacpp_inference_lock = threading.RLock()


@on_reset
def forget_loaded_models() -> None:
    """Drop cached models (settings changed, or a test wants a fresh process state)."""
    with _loading_lock:
        _loaded_models.clear()
        _prefill_rates.clear()


def load_chat_model(spec: str | None = None) -> BaseChatModel | None:
    """The chat model for a config string (default: settings.llm); None when it is `none`.

    Raises ModelConfigError for a config string it cannot read and ModelUnavailableError when a GGUF file
    is missing or does not load. An OpenAI-compatible server is only contacted at call time: use
    invoke_model / invoke_structured so an unreachable server becomes a ModelUnavailableError.
    """
    spec = get_settings().llm if spec is None else spec
    config = parse_model_config(spec)
    if config.provider == "none":
        return None
    with _loading_lock:
        cached = _loaded_models.get(spec)
        if cached is not None:
            return cached
        model = _load_llamacpp(config) if config.provider == "llamacpp" else _load_openai(config)
        _loaded_models[spec] = model
        return model


def _load_llamacpp(config: ModelConfig) -> BaseChatModel:
    model_path = config.model_path
    assert model_path is not None
    if not model_path.is_file():
        raise ModelUnavailableError(
            f"model file not found: {model_path} — set SALESBOT_LLM to llamacpp:/path/to/model.gguf "
            f"of an existing file, or to none"
        )
    from langchain_community.chat_models import ChatLlamaCpp

    from salesbot.llama_runtime import plain_cpu_buffers

    settings = get_settings()
    try:
        # No chat_format: llama-cpp-python then uses the chat template stored in the GGUF.
        with plain_cpu_buffers():
            model = ChatLlamaCpp(
                model_path=str(model_path),
                n_ctx=settings.llm_n_ctx,
                temperature=0.0,
                seed=LLAMACPP_SEED,
                max_tokens=LLAMACPP_MAX_TOKENS,
                # ChatLlamaCpp defaults to batches of 8 prompt tokens, which makes prompt reading several
                # times slower than llama.cpp's own default of 512.
                n_batch=LLAMACPP_PROMPT_BATCH,
                streaming=False,
                verbose=False,
            )
    except Exception as error:
        # llama.cpp only explains load failures on stderr with verbose=True; point the user there.
        logger.warning("loading %s failed", model_path, exc_info=True)
        raise ModelUnavailableError(
            f"could not load the model file {model_path}: it is not a GGUF model llama.cpp can run "
            f"(or there is not enough memory for n_ctx={settings.llm_n_ctx})"
        ) from error
    logger.info("loaded llama.cpp model %s (n_ctx=%d)", model_path, settings.llm_n_ctx)
    return model


def _load_openai(config: ModelConfig) -> BaseChatModel:
    from langchain_openai import ChatOpenAI

    settings = get_settings()
    api_key = settings.openai_api_key or OPENAI_PLACEHOLDER_API_KEY
    return ChatOpenAI(
        base_url=config.base_url,
        model=config.model_name or "",
        api_key=api_key,  # type: ignore[arg-type]
        timeout=settings.llm_timeout_s,
        # No retries: a retry after a timeout would double the time a turn waits (SALESBOT_LLM_TIMEOUT_S
        # bounds the whole call), and a dead server is as dead a moment later.
        max_retries=0,
        temperature=0.0,
    )


# ---- calling ----


def invoke_model(
    model: Runnable[LanguageModelInput, Any], messages: LanguageModelInput, *, timeout_s: float | None = None
) -> AIMessage:
    """Call a chat model (or one returned by bind_tools_for); server failures become ModelUnavailableError.

    The call takes at most SALESBOT_LLM_TIMEOUT_S, or timeout_s when that is shorter (the rest of a
    turn's budget); past it a ModelUnavailableError says so, for llama.cpp as for a server.
    """
    chat_model = underlying_chat_model(model)
    if _is_llamacpp_client(chat_model):
        # Read token by token so that past the deadline generation ends at the next token, grammar or not: a forced
        # tool call is grammar-constrained JSON, which the deadline processor alone cannot end before max_tokens.
        return _stream_message(model, messages, timeout_s, None)
    with _calling(chat_model, timeout_s) as call:
        return model.invoke(messages, **call.invoke_kwargs)


def invoke_structured(
    model: Runnable[LanguageModelInput, Any],
    messages: LanguageModelInput,
    schema: type[SchemaT],
    *,
    timeout_s: float | None = None,
    on_text: TextListener | None = None,
) -> SchemaT:
    """Ask the model for one instance of `schema`, with decoding constrained where the backend allows it.

    llama.cpp: JSON-schema grammar, so even a tiny model produces a parseable instance. OpenAI-compatible
    servers: response_format json_schema; a server that rejects it is asked again without it and the JSON
    is taken from the text. Any other chat model (test fakes): its with_structured_output.
    Raises StructuredOutputError when the answer does not validate, ModelUnavailableError when the
    model cannot be reached or does not finish within the timeout (see invoke_model).

    With on_text the answer is streamed: on_text gets each piece of the raw answer text (the JSON as the model
    writes it) as it arrives, and the result, errors and deadlines are those of the same call without it. A
    listener that raises is logged and ignored: watching an answer never changes it.
    """
    chat_model = underlying_chat_model(model)
    provider = _provider_of(chat_model)
    listener = None if on_text is None else _SafeListener(on_text)
    if provider == "llamacpp":
        return _invoke_structured_llamacpp(chat_model, messages, schema, timeout_s, listener)
    if provider == "openai":
        return _invoke_structured_openai(chat_model, messages, schema, timeout_s, listener)
    if listener is not None:
        streamed = _stream_message(chat_model, messages, timeout_s, listener)
        if streamed.tool_calls:
            return parse_structured_value(streamed.tool_calls[0]["args"], schema)
        return parse_structured_text(_message_text(streamed), schema)
    from langchain_core.exceptions import OutputParserException

    try:
        structured_model = chat_model.with_structured_output(schema)
    except NotImplementedError:
        return parse_structured_text(_message_text(invoke_model(chat_model, messages)), schema)
    try:
        with _calling(chat_model, timeout_s):
            result = structured_model.invoke(messages)
    except ValidationError as error:
        raise StructuredOutputError(_validation_summary(schema, error)) from error
    except (json.JSONDecodeError, OutputParserException) as error:
        raise StructuredOutputError(
            f"the model's answer is not a valid {schema.__name__}: {error}"
        ) from error
    if not isinstance(result, schema):
        return parse_structured_value(result, schema)
    return result


def _invoke_structured_llamacpp(
    chat_model: BaseChatModel, messages: LanguageModelInput, schema: type[SchemaT], timeout_s: float | None,
    on_text: TextListener | None = None,
) -> SchemaT:
    from langchain_core.messages import convert_to_openai_messages

    # llama-cpp-python takes OpenAI-style role/content dicts; langchain_core's public converter writes them.
    message_dicts = convert_to_openai_messages(_as_messages(messages), text_format="string")
    client = chat_model.client  # type: ignore[attr-defined]
    with _calling(chat_model, timeout_s, messages) as call:
        request: dict[str, Any] = dict(
            messages=message_dicts,
            response_format={"type": "json_object", "schema": schema.model_json_schema()},
            temperature=0.0,
            seed=LLAMACPP_SEED,
            max_tokens=chat_model.max_tokens,  # type: ignore[attr-defined]
            **call.invoke_kwargs,
        )
        # Always read token by token, even with nobody watching: past the deadline the loop stops at the next
        # token. The deadline processor alone cannot end a schema-constrained answer (the grammar forbids
        # end-of-text mid-JSON, so generation went on to max_tokens: turns of 95 s against a 20 s budget).
        pieces: list[str] = []
        finish_reason = None
        stream = client.create_chat_completion(stream=True, **request)
        try:
            for chunk in stream:
                chunk_choice = chunk["choices"][0]
                piece = (chunk_choice.get("delta") or {}).get("content") or ""
                if piece:
                    pieces.append(piece)
                    if on_text is not None:
                        on_text(piece)
                finish_reason = chunk_choice.get("finish_reason") or finish_reason
                if call.deadline.passed() and finish_reason is None:
                    call.stopped_at_deadline = True
                    break
                if piece and finish_reason is None and len(pieces) % REPETITION_CHECK_EVERY == 0:
                    looping = _repeating_tail("".join(pieces[-REPETITION_TAIL_PIECES:]))
                    if looping is not None:
                        # Greedy decoding that has fallen into a loop does not leave it: stop now rather than at
                        # max_tokens, seconds later, with the same broken answer.
                        raise StructuredOutputError(
                            f"the model repeated {looping!r} over and over instead of finishing its "
                            f"{schema.__name__} answer: {''.join(pieces)[:120]!r}"
                        )
        finally:
            stream.close()  # ends llama.cpp's generator here, under the inference lock
        text = "".join(pieces)
    if finish_reason == "length":
        raise StructuredOutputError(
            f"the model ran out of tokens before finishing its {schema.__name__} answer: {text[:200]!r}"
        )
    return parse_structured_text(text, schema)


def _invoke_structured_openai(
    chat_model: BaseChatModel, messages: LanguageModelInput, schema: type[SchemaT], timeout_s: float | None,
    on_text: TextListener | None = None,
) -> SchemaT:
    import openai

    json_schema = schema.model_json_schema()
    # vLLM and OpenAI take json_schema; llama-cpp-python's server only knows json_object with a "schema"
    # (and answers 422 to json_schema); a server that knows neither still gets the JSON the prompt asks for.
    response_formats: list[dict[str, Any] | None] = [
        {"type": "json_schema", "json_schema": {"name": schema.__name__, "schema": json_schema}},
        {"type": "json_object", "schema": json_schema},
        None,
    ]
    deadline = _Deadline.start(timeout_s)
    for response_format in response_formats:
        bound = chat_model if response_format is None else chat_model.bind(response_format=response_format)
        try:
            if on_text is None:
                reply = invoke_model(bound, messages, timeout_s=deadline.remaining_s())
            else:
                # A server rejects a response_format before it streams anything, so the fallback order holds.
                reply = _stream_message(bound, messages, deadline.remaining_s(), on_text)
            break
        except ModelUnavailableError as error:
            cause = error.__cause__
            # llama_cpp.server reports its request-validation failures as HTTP 500 naming the field.
            rejected = isinstance(cause, openai.BadRequestError | openai.UnprocessableEntityError) or (
                isinstance(cause, openai.InternalServerError) and "response_format" in str(cause)
            )
            if not rejected or response_format is None:
                raise
            logger.info("server rejected response_format %s; trying the next form: %s",
                        response_format["type"], error)
    return parse_structured_text(_message_text(reply), schema)


# A streamed answer whose end is one short unit repeated this many times is a decoding loop (e.g. "1.1.1.1…").
REPETITION_MIN_REPEATS = 24
REPETITION_MAX_UNIT_CHARS = 8
REPETITION_CHECK_EVERY = 8  # pieces (tokens) between checks
REPETITION_TAIL_PIECES = 256
_REPEATING_TAIL = re.compile(
    rf"(.{{1,{REPETITION_MAX_UNIT_CHARS}}}?)\1{{{REPETITION_MIN_REPEATS - 1},}}\Z", re.DOTALL)


def _repeating_tail(text: str) -> str | None:
    """The unit a text ends by repeating REPETITION_MIN_REPEATS times or more, or None."""
    match = _REPEATING_TAIL.search(text[-REPETITION_MAX_UNIT_CHARS * REPETITION_MIN_REPEATS * 2:])
    if match is None or len(match.group(1).strip()) == 0:
        return None  # runs of spaces or newlines are layout, not a loop
    return match.group(1)


def _stream_message(
    model: Runnable[LanguageModelInput, Any], messages: LanguageModelInput, timeout_s: float | None,
    on_text: TextListener | None,
) -> AIMessage:
    """Stream one reply through the model's own .stream(), telling on_text each text piece; the merged message.

    The deadline holds as for invoke_model, and is also checked between pieces (a server's read timeout is
    per piece, not for the whole answer): past it the answer is cut and the call fails like a timeout.
    """
    from langchain_core.messages import AIMessage, AIMessageChunk

    chat_model = underlying_chat_model(model)
    merged: AIMessageChunk | None = None
    with _calling(chat_model, timeout_s, messages) as call:
        stream = model.stream(messages, **call.invoke_kwargs)
        try:
            for chunk in stream:
                merged = chunk if merged is None else merged + chunk
                piece = str(chunk.text)
                if piece and on_text is not None:
                    on_text(piece)
                if call.deadline.passed() and not (chunk.response_metadata or {}).get("finish_reason"):
                    call.stopped_at_deadline = True
                    break
        finally:
            close = getattr(stream, "close", None)
            if close is not None:
                close()  # ends the backend's generator here, inside the call (llama.cpp: under its lock)
    if merged is None:
        return AIMessage(content="")
    return AIMessage(content=merged.content, tool_calls=merged.tool_calls, id=merged.id)


class _SafeListener:
    """A text listener whose failures are logged once and then ignored (a display must not break a model call)."""

    def __init__(self, listener: TextListener) -> None:
        self._listener = listener
        self._failed = False

    def __call__(self, piece: str) -> None:
        if self._failed:
            return
        try:
            self._listener(piece)
        except Exception:
            self._failed = True
            logger.exception("a streaming listener failed; the answer goes on without it")


def parse_structured_text(text: str, schema: type[SchemaT]) -> SchemaT:
    """Validate the JSON object in model text: bare, in a ```json fence, or after a line of chatter."""
    if "{" not in text:
        raise StructuredOutputError(
            f"the model's answer contains no JSON object for {schema.__name__}: {text[:200]!r}"
        )
    try:
        value = _json_value_in(text)
    except json.JSONDecodeError as error:
        raise StructuredOutputError(
            f"the model's answer is not a valid {schema.__name__}: broken JSON ({error}); "
            f"answer was {text[:200]!r}"
        ) from error
    try:
        return schema.model_validate(value)
    except ValidationError as error:
        raise StructuredOutputError(_validation_summary(schema, error, text)) from error


def parse_structured_value(value: Any, schema: type[SchemaT]) -> SchemaT:
    """Validate an already-decoded value (dict from a tool call or a structured-output parser)."""
    try:
        return schema.model_validate(value)
    except ValidationError as error:
        raise StructuredOutputError(_validation_summary(schema, error)) from error


def _json_value_in(text: str) -> Any:
    """The first JSON value of model text, found by langchain_core's Markdown-aware JSON reader."""
    from langchain_core.utils.json import parse_json_markdown

    try:
        return parse_json_markdown(text, parser=_leading_json_value)
    except json.JSONDecodeError:
        # Chatter before an unfenced object ("Sure! {...}"): read from the first brace.
        return parse_json_markdown(text[text.index("{"):], parser=_leading_json_value)


def _leading_json_value(text: str) -> Any:
    # Strict, and the first value only: chatter after the object is ignored, but truncated JSON is an
    # error rather than "repaired" into an object with missing fields (parse_json_markdown's default parser).
    return json.JSONDecoder().raw_decode(text)[0]


def _validation_summary(schema: type[BaseModel], error: ValidationError, text: str | None = None) -> str:
    problems = "; ".join(
        f"{'.'.join(str(part) for part in problem['loc']) or '(root)'}: {problem['msg']}"
        for problem in error.errors()[:5]
    )
    answer = f"; answer was {text[:200]!r}" if text is not None else ""
    return f"the model's answer is not a valid {schema.__name__}: {problems}{answer}"


# ---- tools ----


def bind_tools_for(
    model: BaseChatModel, tools: Sequence[Any], tool_name: str | None = None
) -> Runnable[LanguageModelInput, AIMessage]:
    """Bind tools the way each backend understands; with tool_name the model must call that tool.

    llama.cpp (langchain_community ChatLlamaCpp) only forces a call given the dict form of tool_choice:
    a bare name is silently ignored and "auto"/"any" raise. So with llama.cpp: tool_name (or a single
    tool) forces that tool with grammar-constrained arguments; several tools without tool_name bind
    them unforced, and a small local model will usually answer in text — route first
    (invoke_structured) and pass the chosen tool_name. OpenAI-compatible servers get "auto" or the name.
    """
    from langchain_core.utils.function_calling import convert_to_openai_tool

    tool_names = [convert_to_openai_tool(tool)["function"]["name"] for tool in tools]
    if tool_name is not None and tool_name not in tool_names:
        raise ValueError(f"tool {tool_name!r} is not among the tools being bound: {tool_names}")
    if _provider_of(model) == "llamacpp":
        forced_name = tool_name or (tool_names[0] if len(tool_names) == 1 else None)
        if forced_name is None:
            return model.bind_tools(tools)
        forced_choice: Any = {"type": "function", "function": {"name": forced_name}}
        return model.bind_tools(tools, tool_choice=forced_choice)
    return model.bind_tools(tools, tool_choice=tool_name or "auto")


# ---- prompt size ----


def count_prompt_tokens(messages: LanguageModelInput, model: Any = None) -> int:
    """Prompt tokens of `messages` for a model (default: the configured one), chat-template overhead included.

    llama.cpp: counted with the model's own tokenizer. OpenAI-compatible servers and other models: an
    estimate (about 4 characters per token, one per CJK character), good enough to keep prompts in budget.
    """
    chat_model: Any = underlying_chat_model(load_chat_model() if model is None else model)  # type: ignore[arg-type]
    texts = [_message_text_of(message) for message in _as_messages(messages)]
    overhead = CHAT_TEMPLATE_TOKENS_PER_MESSAGE * len(texts)
    if _provider_of(chat_model) == "llamacpp":
        client = chat_model.client
        return overhead + sum(
            len(client.tokenize(text.encode("utf-8"), add_bos=False, special=True)) for text in texts
        )
    return overhead + sum(_estimated_tokens(text) for text in texts)


def _estimated_tokens(text: str) -> int:
    cjk = sum(1 for char in text if "\u2e80" <= char <= "\u9fff" or "\uf900" <= char <= "\ufaff")
    return cjk + -(-(len(text) - cjk) // ESTIMATED_CHARS_PER_TOKEN)


def _message_text_of(message: BaseMessage) -> str:
    return message.text if hasattr(message, "text") else str(message.content)


# ---- helpers ----


def underlying_chat_model(model: Runnable[Any, Any]) -> Any:
    """The chat model inside a binding (bind_tools / bind) — used to learn the provider and its URL."""
    seen = 0
    while hasattr(model, "bound") and seen < 10:
        model = model.bound
        seen += 1
    return model


def _is_llamacpp_client(chat_model: Any) -> bool:
    """A ChatLlamaCpp with a real llama.cpp client (test doubles named like it have none)."""
    return _provider_of(chat_model) == "llamacpp" and hasattr(getattr(chat_model, "client", None), "token_eos")


def _provider_of(chat_model: Any) -> str:
    # By class name: asking must not import langchain_openai / llama_cpp when another backend is in use.
    class_name = type(chat_model).__name__
    if class_name == "ChatLlamaCpp":
        return "llamacpp"
    if class_name == "ChatOpenAI":
        return "openai"
    return "other"


# When the current chat turn's model budget runs out (time.monotonic()), or None outside a turn. A context variable:
# LangGraph runs each node in a copy of the caller's context, so every model call of the turn sees the same end.
_turn_ends_at: ContextVar[float | None] = ContextVar("salesbot_turn_ends_at", default=None)


@contextmanager
def turn_budget(seconds: float | None = None) -> Iterator[None]:
    """All model calls inside share one wall-clock budget (SALESBOT_LLM_TURN_BUDGET_S by default).

    A call starting after the budget is spent fails at once with ModelUnavailableError, and a call in progress is
    cut at the budget's end, so the turn answers with its extractive (no-LLM) result instead of waiting.
    """
    budget = get_settings().llm_turn_budget_s if seconds is None else seconds
    token = _turn_ends_at.set(time.monotonic() + max(budget, 0.0))
    try:
        yield
    finally:
        _turn_ends_at.reset(token)


def prompt_token_budget(model: Any, share: float) -> int | None:
    """How many prompt tokens this model can read in `share` of the time the next call has, at the prompt-eval
    rate measured on its earlier calls; None when nothing bounds it (no rate measured yet, not llama.cpp)."""
    chat_model = underlying_chat_model(model)
    if not _is_llamacpp_client(chat_model):
        return None
    seconds_per_token = prefill_rate_of(chat_model).seconds_per_token
    if not seconds_per_token:
        return None
    return int(_Deadline.start().remaining_s() * share / seconds_per_token)


@dataclass
class _Deadline:
    """When the current model call must be over: SALESBOT_LLM_TIMEOUT_S, the caller's own budget and the turn's."""

    timeout_s: float
    ends_at: float
    by_turn_budget: bool = False

    @classmethod
    def start(cls, timeout_s: float | None = None) -> _Deadline:
        configured = get_settings().llm_timeout_s
        effective = configured if timeout_s is None else min(configured, timeout_s)
        effective = max(effective, 0.0)
        now = time.monotonic()
        turn_ends_at = _turn_ends_at.get()
        if turn_ends_at is not None and turn_ends_at - now < effective:
            left = max(turn_ends_at - now, 0.0)
            return cls(timeout_s=left, ends_at=now + left, by_turn_budget=True)
        return cls(timeout_s=effective, ends_at=now + effective)

    def remaining_s(self) -> float:
        return max(self.ends_at - time.monotonic(), 0.0)

    def passed(self) -> bool:
        return time.monotonic() >= self.ends_at


@dataclass
class _PrefillRate:
    """How long one llama.cpp model takes to read a prompt token, from llama.cpp's own counters on recent calls.

    llama.cpp reads the whole prompt before the first token, one uninterruptible llama_decode per batch, so no
    deadline can cut that part short; this rate tells before a call whether its prompt can be read in the time left.
    """

    seconds_per_token: float | None = None

    def record(self, prompt_tokens: int, seconds: float) -> None:
        if prompt_tokens <= 0 or seconds < 0:
            return
        measured = seconds / prompt_tokens
        # The mean of the last reading and what came before: follows a machine getting busier within a few calls.
        previous = self.seconds_per_token
        self.seconds_per_token = measured if previous is None else (previous + measured) / 2

    def estimate_s(self, prompt_tokens: int) -> float | None:
        return None if self.seconds_per_token is None else prompt_tokens * self.seconds_per_token


# By llama.cpp client (one per loaded model); forgotten with the models.
_prefill_rates: dict[int, _PrefillRate] = {}


def prefill_rate_of(chat_model: Any) -> _PrefillRate:
    """The prefill rate measured so far for this llama.cpp chat model (a fresh, empty one before its first call)."""
    key = id(underlying_chat_model(chat_model).client)
    with _loading_lock:
        return _prefill_rates.setdefault(key, _PrefillRate())


def _prompt_eval_counters(llama: Any) -> tuple[float, int] | None:
    """llama.cpp's running totals for this context: milliseconds spent reading prompts, and prompt tokens read."""
    import llama_cpp

    ctx = getattr(llama, "ctx", None)
    if ctx is None:
        return None
    data = llama_cpp.llama_perf_context(ctx)
    return float(data.t_p_eval_ms), int(data.n_p_eval)


@dataclass
class _Call:
    """One model call in progress: the extra keyword arguments its backend needs to keep to the deadline."""

    deadline: _Deadline
    invoke_kwargs: dict[str, Any]
    stopped_at_deadline: bool = False


def _llamacpp_deadline_processor(call: _Call, llama: Any) -> Any:
    # llama-cpp-python has no timeout, and create_chat_completion takes no stopping_criteria; a logits
    # processor runs before every sampled token, so past the deadline it leaves only end-of-text
    # possible and generation ends at the next token. The prompt itself is read in one go before the
    # first token, so a long prompt can overrun (keep prompts short).
    import numpy as np
    from llama_cpp import LogitsProcessorList

    eos_token = int(llama.token_eos())

    def end_at_deadline(_input_ids: Any, scores: Any) -> Any:
        if call.deadline.passed():
            call.stopped_at_deadline = True
            # End-of-text wins unless a grammar (schema-constrained output) runs after this processor and forbids
            # it: then the grammar's allowed tokens keep their scores and the output goes on to its end (bounded
            # by max_tokens). Leaving end-of-text as the only candidate there aborts the process inside
            # llama.cpp's grammar (llama-grammar.cpp "fatal error"), so no token is ever excluded here.
            scores[eos_token] = float(np.max(scores)) + 1000.0
        return scores

    return LogitsProcessorList([end_at_deadline])


@contextmanager
def _calling(
    chat_model: Any, timeout_s: float | None = None, messages: LanguageModelInput | None = None
) -> Iterator[_Call]:
    """Around every model call: llama.cpp calls take turns, the deadline holds, failures become ModelUnavailableError.

    With the call's messages, a llama.cpp call whose prompt would take longer to read than the time left (at the
    rate measured on this model's earlier calls) is not made: it fails at once like a call past its deadline.
    """
    provider = _provider_of(chat_model)
    # The deadline starts before waiting for the llama.cpp lock: time spent queued behind another turn counts.
    call = _Call(deadline=_Deadline.start(timeout_s), invoke_kwargs={})
    guard = _llamacpp_inference_lock if provider == "llamacpp" else nullcontext()
    counters_before: tuple[float, int] | None = None
    with guard:
        if provider in ("llamacpp", "openai") and call.deadline.passed():
            raise _timeout_error(chat_model, call.deadline.timeout_s, call.deadline.by_turn_budget)
        # A stand-in without a llama.cpp client (test doubles named like it) gets no processor.
        if _is_llamacpp_client(chat_model):
            if messages is not None:
                _check_prefill_fits(chat_model, messages, call.deadline)
            call.invoke_kwargs["logits_processor"] = _llamacpp_deadline_processor(call, chat_model.client)
            counters_before = _prompt_eval_counters(chat_model.client)
        elif provider == "openai":
            call.invoke_kwargs["timeout"] = call.deadline.remaining_s()
        try:
            yield call
        except Exception as error:
            unavailable = _as_unavailable_error(error, chat_model, call.deadline.timeout_s)
            if unavailable is None:
                raise
            raise unavailable from error
        finally:
            if counters_before is not None:
                _record_prefill(chat_model, counters_before)
        if call.stopped_at_deadline:
            # A cut-off answer is not an answer: callers fall back to the no-LLM path as for any timeout.
            raise _timeout_error(chat_model, call.deadline.timeout_s, call.deadline.by_turn_budget)


def _check_prefill_fits(chat_model: Any, messages: LanguageModelInput, deadline: _Deadline) -> None:
    prompt_tokens = count_prompt_tokens(messages, chat_model)
    estimate = prefill_rate_of(chat_model).estimate_s(prompt_tokens)
    left = deadline.remaining_s()
    if estimate is not None and estimate > left:
        budget = "of the turn's model budget (SALESBOT_LLM_TURN_BUDGET_S)" if deadline.by_turn_budget else (
            "of SALESBOT_LLM_TIMEOUT_S")
        raise ModelUnavailableError(
            f"the model would need about {estimate:.3g} s to read this {prompt_tokens}-token prompt, more than "
            f"the {left:.3g} s left {budget}; the answer comes without it"
        )


def _record_prefill(chat_model: Any, before: tuple[float, int]) -> None:
    after = _prompt_eval_counters(chat_model.client)
    if after is None:
        return
    milliseconds, tokens = after[0] - before[0], after[1] - before[1]
    # Only a call that read a real prompt says something about the rate (a fully cached prompt reads ~1 token).
    if tokens >= PREFILL_SAMPLE_MIN_TOKENS:
        prefill_rate_of(chat_model).record(tokens, milliseconds / 1000.0)


def _timeout_error(chat_model: Any, timeout_s: float, by_turn_budget: bool = False) -> ModelUnavailableError:
    if by_turn_budget:
        return ModelUnavailableError(
            f"the turn's model budget ran out (this call had the last {timeout_s:.3g} s of SALESBOT_LLM_TURN_BUDGET_S); "
            f"the answer comes without the model"
        )
    if _provider_of(chat_model) == "llamacpp":
        return ModelUnavailableError(
            f"the llama.cpp model did not finish within {timeout_s:g} s (SALESBOT_LLM_TIMEOUT_S); "
            f"the answer comes without it"
        )
    base_url = str(getattr(chat_model, "openai_api_base", None) or "the model server")
    return ModelUnavailableError(
        f"model server {base_url} did not answer within {timeout_s:g} s (SALESBOT_LLM_TIMEOUT_S)"
    )


def _as_unavailable_error(
    error: Exception, chat_model: Any, timeout_s: float | None = None
) -> ModelUnavailableError | None:
    """A user-actionable error for a model that cannot serve this call; None for anything else."""
    provider = _provider_of(chat_model)
    if provider == "llamacpp" and isinstance(error, ValueError) and "context window" in str(error):
        # The prompt does not fit: callers fall back to the no-LLM answer like for any unavailable model.
        return ModelUnavailableError(
            f"the prompt is too long for the llama.cpp model ({error}); raise SALESBOT_LLM_N_CTX "
            f"or send fewer passages"
        )
    if provider != "openai":
        return None
    import httpx
    import openai

    base_url = str(getattr(chat_model, "openai_api_base", None) or "the model server")
    model_name = getattr(chat_model, "model_name", "")
    if isinstance(error, openai.APITimeoutError | httpx.TimeoutException | TimeoutError):
        return _timeout_error(chat_model, get_settings().llm_timeout_s if timeout_s is None else timeout_s)
    if isinstance(error, openai.APIConnectionError | httpx.TransportError | ConnectionError):
        return ModelUnavailableError(
            f"model server {base_url} is unreachable — is it running? (check SALESBOT_LLM)"
        )
    if isinstance(error, openai.APIStatusError):
        return ModelUnavailableError(
            f"model server {base_url} answered HTTP {error.status_code} for model {model_name!r}: "
            f"{_short_error_message(error)}"
        )
    return None


def _short_error_message(error: Any) -> str:
    body = getattr(error, "body", None)
    if isinstance(body, dict):
        message = body.get("message") or (body.get("error") or {}).get("message")
        if message:
            return str(message)[:200]
    return str(error)[:200]


def _as_messages(messages: LanguageModelInput) -> list[BaseMessage]:
    from langchain_core.messages import HumanMessage, convert_to_messages
    from langchain_core.prompt_values import PromptValue

    if isinstance(messages, str):
        return [HumanMessage(content=messages)]
    if isinstance(messages, PromptValue):
        return messages.to_messages()
    return convert_to_messages(messages)


def _message_text(message: AIMessage) -> str:
    return message.text
